package load

import (
	"context"
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
	"mamba.go/common/hub"
	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
)

var small = testmodel.Config(16, 2, 37)

func TestOpenEveryKind(t *testing.T) {
	tmp := t.TempDir()
	ck := filepath.Join(tmp, "ck")
	require.NoError(t, testmodel.WriteCheckpoint(ck, small, testmodel.HFSafetensors, testmodel.Options{Seed: 1}))
	want, err := checkpoint.Load(ck)
	require.NoError(t, err)
	defer want.Close()
	mb := filepath.Join(tmp, "bin", "model.bin")
	require.NoError(t, os.MkdirAll(filepath.Dir(mb), 0o755))
	require.NoError(t, model.WriteModelBin(mb, want))

	for _, p := range []string{ck, filepath.Join(ck, "model.safetensors"), filepath.Join(ck, "config.json"), mb, filepath.Dir(mb)} {
		w, err := Open(p)
		require.NoError(t, err, p)
		assert.Equal(t, want.Embedding, w.Embedding, p)
		assert.Equal(t, want.Layers[1].A, w.Layers[1].A, p)
		w.Close()
	}
	_, err = Open(filepath.Join(tmp, "nothing"))
	assert.ErrorContains(t, err, "no such file")
	_, err = Open(tmp)
	assert.ErrorContains(t, err, "without config.json or model.bin")
}

func TestRepoIDNotCached(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	_, err := Open("state-spaces/mamba-130m")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run: mamba download state-spaces/mamba-130m")
}

// TestDownloadThenOpen downloads a model from a fake hub into the cache;
// Open then finds it by repo id, and a path that exists wins over a repo id.
func TestDownloadThenOpen(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, testmodel.WriteCheckpoint(src, small, testmodel.StateSpacesTorch, testmodel.Options{Seed: 2}))
	files := map[string][]byte{}
	for _, f := range []string{"config.json", "pytorch_model.bin"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		files[f] = b
	}
	files["tokenizer.json"] = []byte(`{"model": {}}`)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/models/owner/tiny/") {
			w.Write([]byte(`{"sha": "` + commit + `", "siblings": [{"rfilename": "config.json"}, {"rfilename": "pytorch_model.bin"}, {"rfilename": "tokenizer.json"}]}`))
			return
		}
		f := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		data, ok := files[f]
		if !strings.HasPrefix(r.URL.Path, "/owner/tiny/resolve/"+commit+"/") || !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("ETag", `"e`+f+`"`)
		http.ServeContent(w, r, f, time.Time{}, strings.NewReader(string(data)))
	}))
	defer srv.Close()
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	c := &hub.Client{Endpoint: srv.URL}
	_, err := c.Download(context.Background(), hub.CacheDir(), "", "owner/tiny", "main", "")
	require.NoError(t, err)

	w, err := Open("owner/tiny")
	require.NoError(t, err)
	defer w.Close()
	want, err := checkpoint.Load(src)
	require.NoError(t, err)
	defer want.Close()
	assert.Equal(t, want.Config, w.Config)
	assert.Equal(t, want.Layers[0].InProj, w.Layers[0].InProj)
	tp, ok := Tokenizer("owner/tiny", w.Config)
	require.True(t, ok)
	assert.Equal(t, filepath.Join(cache, "models--owner--tiny", "snapshots", commit, "tokenizer.json"), tp)

	// A folder named like the repo id, relative to the working folder, wins.
	wd := t.TempDir()
	t.Chdir(wd)
	require.NoError(t, testmodel.WriteCheckpoint(filepath.Join(wd, "owner", "tiny"), testmodel.Config(8, 1, 5), testmodel.HFSafetensors, testmodel.Options{}))
	w2, err := Open("owner/tiny")
	require.NoError(t, err)
	defer w2.Close()
	assert.Equal(t, 8, w2.Config.DModel)
}
