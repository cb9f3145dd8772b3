package fused

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/refcase/refcasetest"
)

// workerCounts are tried in the model tests: odd counts split the channels
// and the vocabulary unevenly.
var workerCounts = []int{1, 2, 3}

func newFused(workers int) func(*model.Weights) (model.Mamba, error) {
	return func(w *model.Weights) (model.Mamba, error) { return NewWorkers(w, workers) }
}

func TestSharedHFReference(t *testing.T) {
	for _, dir := range refcasetest.SharedCases(t) {
		for _, workers := range workerCounts {
			t.Run(fmt.Sprintf("%s/%dw", filepath.Base(dir), workers), func(t *testing.T) { refcasetest.Check(t, dir, newFused(workers)) })
		}
	}
}

func TestProjectCases(t *testing.T) {
	for _, dir := range refcasetest.ProjectCases(t) {
		for _, workers := range workerCounts {
			t.Run(fmt.Sprintf("%s/%dw", filepath.Base(dir), workers), func(t *testing.T) { refcasetest.Check(t, dir, newFused(workers)) })
		}
	}
}

// randomWeights writes and loads a random model of config c.
func randomWeights(t testing.TB, c model.Config) *model.Weights {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, model.WriteRandomModelBin(path, c, 7))
	w, err := model.LoadModelBin(path)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

// smallShapes are 130m-like models cut down to test size: the real width
// with two layers and a small odd vocabulary, and an odd-sized toy whose
// widths are not multiples of any vector width.
var smallShapes = map[string]model.Config{
	"130m-2layers": {NLayers: 2, VocabSize: 5003, DModel: 768, DInner: 1536, DtRank: 48, DState: 16, DConv: 4, TiedHead: true},
	"odd":          {NLayers: 3, VocabSize: 101, DModel: 37, DInner: 75, DtRank: 3, DState: 13, DConv: 3},
}

// TestContract holds fused to model.Mamba's contract, packed at worker
// counts that split the channels and the vocabulary unevenly, judged by
// fused itself unpacked on one worker (compare's tests judge it by
// learning).
func TestContract(t *testing.T) {
	unpacked := func(w *model.Weights) (model.Mamba, error) {
		return NewOptions(w, Options{Workers: 1, Unpacked: true})
	}
	for _, workers := range []int{2, 3} {
		t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) { modeltest.Run(t, newFused(workers), unpacked) })
	}
}

// requireWorkerCountsAgree runs fused on w at one worker and at each of
// workers, feeding tokens twice (with a reset between), and requires the
// same logits bit for bit: every product is split by rows and every row is
// summed by one worker in the same order, so the number of workers changes
// nothing, and the same model repeats itself exactly after a reset.
func requireWorkerCountsAgree(t *testing.T, w *model.Weights, tokens []int, workers ...int) {
	t.Helper()
	run := func(workers int) []float32 {
		m, err := NewWorkers(w, workers)
		require.NoError(t, err)
		defer m.Close()
		var l []float32
		for range 2 {
			require.NoError(t, m.Reset())
			for _, tok := range tokens {
				l, err = m.Forward(tok)
				require.NoError(t, err)
			}
		}
		return append([]float32(nil), l...)
	}
	one := run(1)
	for _, n := range workers {
		assert.Equal(t, one, run(n), "%d workers", n)
	}
}

func TestWorkerCountsAgreeBitForBit(t *testing.T) {
	requireWorkerCountsAgree(t, randomWeights(t, smallShapes["odd"]), []int{5, 17, 99, 0, 42}, 2, 3, 4)
}

func TestNewWorkersRefusesZero(t *testing.T) {
	_, err := NewWorkers(randomWeights(t, smallShapes["odd"]), 0)
	assert.ErrorContains(t, err, "0 workers")
}

func TestForwardAllocatesNothing(t *testing.T) {
	w := randomWeights(t, smallShapes["odd"])
	m, err := NewWorkers(w, 2)
	require.NoError(t, err)
	defer m.Close()
	tok := 0
	allocs := testing.AllocsPerRun(50, func() {
		tok = (tok + 1) % 101
		if _, err := m.Forward(tok); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}
