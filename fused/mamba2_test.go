package fused

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/refcase/refcasetest"
	"mamba.go/learning"
)

// More workers than heads: the workers without a head still own rows of
// in_proj's B and C, of out_proj and of the head.
func TestMamba2MoreWorkersThanHeads(t *testing.T) {
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "m2odd") // 12 heads
	if _, err := refcase.Load(dir); err != nil {
		t.Skip("testdata/cases/m2odd is absent: run make testdata")
	}
	refcasetest.Check(t, dir, newFused(17))
}

// A 130m-shaped Mamba-2 cut to two layers (24 heads of 64, d_state 128)
// agrees with learning, for several worker counts.
func TestMamba2RealWidthMatchesLearning(t *testing.T) {
	c := model.Shapes2["130m"]
	c.NLayers, c.VocabSize = 2, 5003
	w := randomWeights(t, c)
	ref, err := learning.New(w)
	require.NoError(t, err)
	tokens := []int{1, 500, 5002, 7, 7, 42}
	want := make([][]float32, len(tokens))
	for i, tok := range tokens {
		logits, err := ref.Forward(tok)
		require.NoError(t, err)
		want[i] = append([]float32(nil), logits...)
	}
	for _, nw := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("%dw", nw), func(t *testing.T) {
			m, err := NewWorkers(w, nw)
			require.NoError(t, err)
			defer m.Close()
			for i, tok := range tokens {
				got, err := m.Forward(tok)
				require.NoError(t, err)
				var maxAbs, maxDiff float64
				for j := range got {
					maxAbs = max(maxAbs, abs64(float64(want[i][j])))
					maxDiff = max(maxDiff, abs64(float64(got[j])-float64(want[i][j])))
				}
				assert.LessOrEqual(t, maxDiff, 1e-5*maxAbs, "token %d", i)
			}
		})
	}
}

// The tracer sees the end of every Mamba-2 phase, with the values learning
// reports for the same op.
func TestMamba2TracePhaseEnds(t *testing.T) {
	c := model.NewMamba2Config(2, 50, 16, 2, 8, 2, 5, 3, true)
	w := randomWeights(t, c)
	collect := func(m model.Mamba) map[string][]float32 {
		got := map[string][]float32{}
		m.(model.Traceable).SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, v []float32) {
			got[fmt.Sprintf("%d/%d/%s", pos, layer, op)] = append([]float32(nil), v...)
		}))
		for _, tok := range []int{3, 9} {
			_, err := m.Forward(tok)
			require.NoError(t, err)
		}
		return got
	}
	lm, err := learning.New(w)
	require.NoError(t, err)
	fm, err := NewWorkers(w, 3)
	require.NoError(t, err)
	defer fm.Close()
	want, got := collect(lm), collect(fm)
	for _, key := range []string{"1/0/in_proj", "1/0/silu", "1/1/dt_limit", "1/1/gate", "1/1/residual", "1/-1/lm_head"} {
		require.Contains(t, got, key)
		assert.InDeltaSlice(t, want[key], got[key], 1e-5, key)
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Mamba-2's worker count changes no bit either: every head, row and
// channel is computed by one worker with the same code, whichever it is.
// d_state 16 takes the assembly scan where the CPU has it, 12 the Go loop;
// 6 heads split unevenly over 4 workers, and head_dim 7 leaves channels
// past the last group of four.
func TestMamba2WorkerCountsAgreeBitForBit(t *testing.T) {
	for _, n := range []int{16, 12} {
		c := model.NewMamba2Config(2, 101, 21, 2, 7, 2, n, 4, true)
		t.Run(fmt.Sprintf("d_state %d", n), func(t *testing.T) {
			requireWorkerCountsAgree(t, randomWeights(t, c), []int{5, 17, 99, 0, 42}, 2, 3, 4, 7)
		})
	}
}
