package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/checkpoint"
	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
)

func TestExportCommand(t *testing.T) {
	tmp := t.TempDir()
	c := testmodel.Config(16, 2, 37)
	for _, f := range []testmodel.Format{testmodel.HFSafetensors, testmodel.StateSpacesTorch, testmodel.HFShards} {
		src := filepath.Join(tmp, string(f))
		require.NoError(t, testmodel.WriteCheckpoint(src, c, f, testmodel.Options{Seed: 5, DType: "BF16"}))
		out := filepath.Join(tmp, string(f)+".bin")
		require.NoError(t, runExport([]string{src, out}))
		got, err := model.LoadModelBin(out)
		require.NoError(t, err)
		want, err := checkpoint.Load(src)
		require.NoError(t, err)
		for i, v := range want.Layers[1].A {
			require.Equal(t, math.Float32bits(v), math.Float32bits(got.Layers[1].A[i]))
		}
		assert.Equal(t, want.Embedding, got.Embedding)
		assert.Equal(t, want.Layers[0].OutProj, got.Layers[0].OutProj)
		// model.bin → model.bin is a copy.
		again := filepath.Join(tmp, string(f)+".again.bin")
		require.NoError(t, runExport([]string{out, again}))
		a, _ := os.ReadFile(out)
		b, _ := os.ReadFile(again)
		assert.Equal(t, a, b)
		got.Close()
		want.Close()
	}
	assert.Error(t, runExport([]string{filepath.Join(tmp, "nothing"), filepath.Join(tmp, "x.bin")}))
	assert.NoFileExists(t, filepath.Join(tmp, "x.bin"))
	out := filepath.Join(tmp, "hf.bin")
	assert.ErrorContains(t, runExport([]string{out, out}), "overwrite")
}

func TestDownloadCommand(t *testing.T) {
	const commit = "89abcdef0123456789abcdef0123456789abcdef"
	files := map[string]string{"config.json": `{}`, "model.safetensors": "weights", "tokenizer.json": "{}"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/models/") {
			w.Write([]byte(`{"sha": "` + commit + `", "siblings": [{"rfilename": "config.json"}, {"rfilename": "model.safetensors"}, {"rfilename": "tokenizer.json"}]}`))
			return
		}
		f := filepath.Base(r.URL.Path)
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("ETag", `"etag-`+f+`"`)
		http.ServeContent(w, r, f, time.Time{}, strings.NewReader(files[f]))
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	require.NoError(t, runDownload([]string{"owner/m"}))
	b, err := os.ReadFile(filepath.Join(cache, "models--owner--m", "snapshots", commit, "model.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, "weights", string(b))
	dir := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, runDownload([]string{"-dir", dir, "owner/m"}))
	b, err = os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	assert.Equal(t, "{}", string(b))
	assert.Error(t, runDownload([]string{"not-a-repo"}))
}

func TestExportRefusesToWriteIntoItsSourceFolder(t *testing.T) {
	src := filepath.Join(t.TempDir(), "ck")
	require.NoError(t, testmodel.WriteCheckpoint(src, testmodel.Config(8, 1, 5), testmodel.HFSafetensors, testmodel.Options{}))
	weights := filepath.Join(src, "model.safetensors")
	before, err := os.ReadFile(weights)
	require.NoError(t, err)
	err = runExport([]string{src, weights})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to overwrite the source's")
	after, err := os.ReadFile(weights)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the checkpoint is untouched")
}

// A Falcon-Mamba HF folder exports as model.bin version 2, architecture 3:
// the case's own model.bin but for vocab_size, which an HF config has
// padded.
func TestExportFalconMamba(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata", "cases", "falcon")
	if _, err := os.Stat(filepath.Join(dir, "hf", "config.json")); err != nil {
		t.Skip("testdata/cases/falcon is absent: run make testdata")
	}
	out := filepath.Join(t.TempDir(), "falcon.bin")
	require.NoError(t, runExport([]string{filepath.Join(dir, "hf"), out}))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(dir, "model.bin"))
	require.NoError(t, err)
	require.Equal(t, len(want), len(got))
	assert.Equal(t, want[model.ModelBinHeaderSize:], got[model.ModelBinHeaderSize:])
	w, err := model.LoadModelBin(out)
	require.NoError(t, err)
	defer w.Close()
	assert.Equal(t, model.FalconMamba, w.Config.Arch)
	assert.Equal(t, float32(1e-6), w.Config.MixerEps)
}

// export SRC newdir/ says that newdir/ names a folder, not a temporary
// file in it.
func TestExportIntoAFolderNameSaysSo(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "small.bin")
	require.NoError(t, model.WriteRandomModelBin(src, model.Config{NLayers: 1, VocabSize: 10, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}, 1))
	out := filepath.Join(dir, "newdir") + "/"
	err := runExport([]string{src, out})
	require.Error(t, err)
	assert.Equal(t, out+": ends in /, so it names a folder; give a file name", err.Error())
	err = runExport([]string{src, filepath.Join(dir, "none", "o.bin")})
	assert.ErrorContains(t, err, "the folder "+filepath.Join(dir, "none")+" does not exist")
}
