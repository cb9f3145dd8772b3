package fused

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
)

// A state saved from a model.bin run as float32 names its weights, and
// loads into the same file narrowed to bfloat16 (-weights bf16); a state of
// other weights of the same shape is refused there.
func TestFloat32StateLoadsUnderBF16OfTheSameFile(t *testing.T) {
	c := smallShapes["odd"]
	dir := t.TempDir()
	load := func(name string, seed uint64, bf16 bool) *model.Weights {
		path := filepath.Join(dir, name)
		require.NoError(t, model.WriteRandomModelBin(path, c, seed))
		w, err := model.LoadModelBin(path)
		require.NoError(t, err)
		t.Cleanup(func() { w.Close() })
		if bf16 {
			w.NarrowToBF16()
		}
		return w
	}
	save := func(w *model.Weights) string {
		m, err := NewWorkers(w, 2)
		require.NoError(t, err)
		defer m.Close()
		modeltest.Feed(t, m, modeltest.Tokens(c, 3))
		s, err := m.State()
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "state")
		require.NoError(t, model.SaveState(path, s))
		return path
	}
	mine, other := save(load("a.bin", 1, false)), save(load("b.bin", 2, false))
	bf16 := load("a.bin", 1, true)
	m, err := NewWorkers(bf16, 2)
	require.NoError(t, err)
	defer m.Close()

	s, err := model.LoadState(mine, c)
	require.NoError(t, err)
	require.NoError(t, s.CheckWeights(bf16))
	require.NoError(t, m.SetState(s))
	_, err = m.Forward(1)
	require.NoError(t, err)

	s, err = model.LoadState(other, c)
	require.NoError(t, err)
	assert.ErrorContains(t, s.CheckWeights(bf16), "state was saved from other weights of the same shape")
}
