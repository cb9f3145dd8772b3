package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// repoRoot walks up from the test's folder to the one with go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for !exists(filepath.Join(dir, "go.work")) {
		up := filepath.Dir(dir)
		require.NotEqual(t, dir, up, "no go.work above the test")
		dir = up
	}
	return dir
}

// fakeShared makes a shared folder with the project's small tokenizer
// under GPT-NeoX's name and, when src is not nil, mamba.c sources of src.
func fakeShared(t *testing.T, src []byte) string {
	dir := t.TempDir()
	tok, err := os.ReadFile(filepath.Join(repoRoot(t), "common", "tokenizer", "testdata", "tokenizer.json"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer", "gpt-neox-20b.tokenizer.json"), tok, 0o644))
	if src != nil {
		for _, b := range cBranches {
			d := filepath.Join(dir, "peers", "mamba.c", b.branch)
			require.NoError(t, os.MkdirAll(d, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(d, "mamba.c"), src, 0o644))
		}
	}
	return dir
}

func smallConfig() model.Config { return model.Config{VocabSize: 512} }

func TestPrepareMambaCWithoutPeers(t *testing.T) {
	o := options{shared: filepath.Join(t.TempDir(), "shared"), cache: t.TempDir()}
	var log bytes.Buffer
	progs, _ := prepareMambaC(o, smallConfig(), &log)
	require.Len(t, progs, 2)
	for _, p := range progs {
		assert.Contains(t, p.skip, "peers/mamba.c (mamba.c's sources, beside the project)", p.name)
		assert.Equal(t, cProgram, p.kind)
	}
	assert.Equal(t, 1, bytes.Count(log.Bytes(), []byte("\n")), "one line: %s", log.String())
	assert.NoDirExists(t, filepath.Join(o.cache, "mamba.c"), "nothing built")
}

func TestPrepareMambaCBuildFails(t *testing.T) {
	o := options{shared: fakeShared(t, []byte("this is not C\n")), cache: t.TempDir()}
	var log bytes.Buffer
	progs, setup := prepareMambaC(o, smallConfig(), &log)
	for _, p := range progs {
		assert.Contains(t, p.skip, "build failed", p.name)
	}
	assert.Equal(t, 2, bytes.Count(log.Bytes(), []byte("\n")), "one line each: %s", log.String())
	assert.FileExists(t, setup.tokenizerBin, "the tokenizer is written before building")
}

func TestPrepareMambaCTokenizerTooSmall(t *testing.T) {
	o := options{shared: fakeShared(t, []byte("int main(){return 0;}\n")), cache: t.TempDir()}
	progs, _ := prepareMambaC(o, model.Config{VocabSize: 50277}, &bytes.Buffer{})
	for _, p := range progs {
		assert.Contains(t, p.skip, "has 1006 ids, the model samples from 50277", p.name)
	}
}

// TestMambaCRuns builds the real mamba.c (when its sources are beside the
// project and a C compiler is here) and runs it on a project test model.
func TestMambaCRuns(t *testing.T) {
	root := repoRoot(t)
	shared := filepath.Join(root, "..", "shared")
	if !exists(filepath.Join(shared, "peers", "mamba.c")) {
		t.Skipf("no %s", filepath.Join(shared, "peers", "mamba.c"))
	}
	if _, err := exec.LookPath("gcc"); err != nil && os.Getenv("CC") == "" {
		t.Skip("no gcc")
	}
	// A case whose greedy tokens from "M" do not reach <|endoftext|> for
	// thousands of steps (mamba.c would stop there), so that the run lasts
	// the milliseconds mamba.c's timer needs.
	modelPath := filepath.Join(root, "testdata", "cases", "oddvocab", "model.bin")
	w, err := model.LoadModelBin(modelPath)
	require.NoError(t, err)
	c := w.Config
	w.Close()

	o := options{shared: shared, cache: t.TempDir()}
	progs, setup := prepareMambaC(o, c, &bytes.Buffer{})
	require.Equal(t, "M", setup.promptText)
	for _, p := range progs {
		require.Empty(t, p.skip, p.name)
		require.FileExists(t, p.path)
		tps, rss, err := runC(p.path, modelPath, setup, 3000, 2)
		require.NoError(t, err, p.name)
		assert.Greater(t, tps, 0.0, p.name)
		assert.Greater(t, rss, int64(0), p.name)
	}
}
