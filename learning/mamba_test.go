package learning

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// refTol is the largest error, relative to the case's largest |logit|, that
// learning may have against HF transformers' float32 logits (issue 2).
const refTol = 1e-4

func checkCase(t *testing.T, dir string) {
	t.Helper()
	c, err := refcase.Load(dir)
	require.NoError(t, err)
	w, err := model.LoadModelBin(filepath.Join(dir, "model.bin"))
	require.NoError(t, err)
	defer w.Close()
	m, err := New(w)
	require.NoError(t, err)
	r, err := refcase.Check(c, m, func() (model.Mamba, error) { return New(w) })
	require.NoError(t, err)
	t.Logf("%s: max abs %.3g, rel %.3g, argmax %d/%d", c.Name, r.MaxAbsErr, r.MaxRelErr, r.ArgmaxAgree, r.Positions)
	assert.LessOrEqual(t, r.MaxRelErr, refTol)
	assert.Equal(t, r.Positions, r.ArgmaxAgree, "argmax must agree at every position")
	assert.Equal(t, c.Greedy.Tokens, r.GreedyGot, "greedy continuation")
	assert.True(t, r.StateRestoreOK, "restoring a half-way state must reproduce the logits bit for bit")
}

func TestSharedHFReference(t *testing.T) {
	shared := refcase.SharedDir()
	if shared == "" {
		t.Skip("../shared is absent: no HF transformers reference cases")
	}
	dirs := refcase.Dirs(filepath.Join(shared, "reference", "hf-transformers"))
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkCase(t, dir) })
	}
}
