package fused

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase/refcasetest"
	"mamba.go/common/sample"
	"mamba.go/learning"
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

func TestMatchesLearning(t *testing.T) {
	for name, c := range smallShapes {
		w := randomWeights(t, c)
		ref, err := learning.New(w)
		require.NoError(t, err)
		tokens := make([]int, 40)
		for i := range tokens {
			tokens[i] = (i*7919 + 13) % c.VocabSize
		}
		var want [][]float32
		for _, tok := range tokens {
			l, err := ref.Forward(tok)
			require.NoError(t, err)
			want = append(want, append([]float32(nil), l...))
		}
		for _, workers := range []int{1, 2, 3, 5} {
			m, err := NewWorkers(w, workers)
			require.NoError(t, err)
			var maxAbs, maxLogit float64
			for i, tok := range tokens {
				got, err := m.Forward(tok)
				require.NoError(t, err)
				require.Len(t, got, c.PaddedVocab())
				for j, v := range got {
					maxAbs = math.Max(maxAbs, math.Abs(float64(v-want[i][j])))
					maxLogit = math.Max(maxLogit, math.Abs(float64(want[i][j])))
				}
				assert.Equal(t, sample.Argmax(want[i][:c.VocabSize]), sample.Argmax(got[:c.VocabSize]), "%s %dw: argmax at %d", name, workers, i)
			}
			t.Logf("%s, %d workers: max abs diff %.3g, relative %.3g", name, workers, maxAbs, maxAbs/maxLogit)
			assert.Less(t, maxAbs/maxLogit, 1e-5, "%s %dw", name, workers)
			require.NoError(t, m.Close())
		}
	}
}

func TestWorkerCountsAgreeBitForBit(t *testing.T) {
	// Every product is split by rows and every row is summed by one worker
	// in the same order, so the number of workers changes nothing, and the
	// same model repeats itself exactly after a reset.
	w := randomWeights(t, smallShapes["odd"])
	run := func(workers int) []float32 {
		m, err := NewWorkers(w, workers)
		require.NoError(t, err)
		defer m.Close()
		var l []float32
		for range 2 {
			m.Reset()
			for _, tok := range []int{5, 17, 99, 0, 42} {
				l, err = m.Forward(tok)
				require.NoError(t, err)
			}
		}
		return append([]float32(nil), l...)
	}
	one := run(1)
	for _, workers := range []int{2, 3, 4} {
		assert.Equal(t, one, run(workers), "%d workers", workers)
	}
}

func TestStateRoundTrip(t *testing.T) {
	w := randomWeights(t, smallShapes["odd"])
	m, err := New(w)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Forward(3)
	require.NoError(t, err)
	s := m.State()
	a, err := m.Forward(4)
	require.NoError(t, err)
	a = append([]float32(nil), a...)
	require.NoError(t, m.SetState(s))
	b, err := m.Forward(4)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	// SetState copies its argument and State returns a copy: changing
	// either afterwards must not reach the model.
	require.NoError(t, m.SetState(s))
	s.Conv[0] += 1
	s.SSM[0] += 1
	m.State().SSM[1] += 1
	c, err := m.Forward(4)
	require.NoError(t, err)
	assert.Equal(t, a, c)

	other := model.NewState(model.Config{NLayers: 1, VocabSize: 101, DModel: 37, DInner: 75, DtRank: 3, DState: 13, DConv: 3})
	assert.Error(t, m.SetState(other), "a state of another shape is refused")
}

func TestForwardErrors(t *testing.T) {
	w := randomWeights(t, smallShapes["odd"])
	m, err := New(w)
	require.NoError(t, err)
	_, err = m.Forward(-1)
	assert.Error(t, err)
	_, err = m.Forward(101)
	assert.Error(t, err, "the padding of the vocabulary is not a token")
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	_, err = m.Forward(1)
	assert.Error(t, err, "Forward after Close")
	_, err = NewWorkers(w, 0)
	assert.Error(t, err)
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
