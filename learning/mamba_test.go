package learning

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/refcase/refcasetest"
)

func newLearning(w *model.Weights) (model.Mamba, error) { return New(w) }

func TestSharedHFReference(t *testing.T) {
	for _, dir := range refcasetest.SharedCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) { refcasetest.Check(t, dir, newLearning) })
	}
}

func TestProjectCases(t *testing.T) {
	for _, dir := range refcasetest.ProjectCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) { refcasetest.Check(t, dir, newLearning) })
	}
}

// smallModel writes a random model with unusual sizes and loads it.
func smallModel(t *testing.T, tied bool) *model.Weights {
	t.Helper()
	c := model.Config{NLayers: 3, VocabSize: 37, DModel: 10, DInner: 30, DtRank: 3, DState: 7, DConv: 3, TiedHead: tied}
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, model.WriteRandomModelBin(path, c, 3))
	w, err := model.LoadModelBin(path)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWrittenModelBinGivesIdenticalLogits(t *testing.T) {
	for _, tied := range []bool{true, false} {
		w := smallModel(t, tied)
		path := filepath.Join(t.TempDir(), "copy.bin")
		require.NoError(t, model.WriteModelBin(path, w))
		w2, err := model.LoadModelBin(path)
		require.NoError(t, err)
		defer w2.Close()
		m1, err := New(w)
		require.NoError(t, err)
		m2, err := New(w2)
		require.NoError(t, err)
		tokens := []int{0, 5, 36, 12, 12, 1}
		assert.Equal(t, modeltest.Feed(t, m1, tokens), modeltest.Feed(t, m2, tokens))
	}
}

// TestConformance holds learning to model.Mamba's contract; it is its own
// reference, so the agreement checks only that it is deterministic.
func TestConformance(t *testing.T) {
	modeltest.Run(t, newLearning, newLearning)
}
