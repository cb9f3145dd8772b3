// Package refcasetest runs an implementation over the reference cases
// inside a Go test: the project's testdata/cases and, when ../shared is
// beside the project, HuggingFace transformers' cases. Every implementation's
// tests use it, so they hold themselves to the same bar as bin/compare.
package refcasetest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// ProjectCases are the folders of testdata/cases; the test is skipped when
// there are none.
func ProjectCases(t *testing.T) []string {
	t.Helper()
	dirs := refcase.Dirs(filepath.Join(refcase.RepoRoot(), "testdata", "cases"))
	if len(dirs) == 0 {
		t.Skip("testdata/cases has no cases: run make testdata")
	}
	return dirs
}

// SharedCases are HF transformers' cases in ../shared; the test is skipped
// when ../shared is absent.
func SharedCases(t *testing.T) []string {
	t.Helper()
	shared := refcase.SharedDir()
	if shared == "" {
		t.Skip("../shared is absent: no HF transformers reference cases")
	}
	dirs := refcase.Dirs(filepath.Join(shared, "reference", "hf-transformers"))
	require.NotEmpty(t, dirs, "../shared has no reference cases")
	return dirs
}

// Check runs the model that newModel makes over the case in dir (its
// model.bin) and requires what compare requires: logits within
// refcase.DefaultTol of the case's largest |logit|, argmax at every
// position, the greedy continuation, and a bit-identical state restore.
func Check(t *testing.T, dir string, newModel model.New) {
	t.Helper()
	c, err := refcase.Load(dir)
	require.NoError(t, err)
	w, err := model.LoadModelBin(filepath.Join(dir, "model.bin"))
	require.NoError(t, err)
	defer w.Close()
	m, err := newModel(w)
	require.NoError(t, err)
	defer m.Close()
	r, err := refcase.Check(c, m, func() (model.Mamba, error) { return newModel(w) })
	require.NoError(t, err)
	t.Logf("%s: max abs %.3g, rel %.3g, argmax %d/%d", c.Name, r.MaxAbsErr, r.MaxRelErr, r.ArgmaxAgree, r.Positions)
	assert.LessOrEqual(t, r.MaxRelErr, refcase.DefaultTol)
	assert.Equal(t, r.Positions, r.ArgmaxAgree, "argmax must agree at every position")
	assert.Equal(t, c.Greedy.Tokens, r.GreedyGot, "greedy continuation")
	assert.True(t, r.StateRestoreOK, "restoring a half-way state must reproduce the logits bit for bit")
}
