package fused

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/refcase"
	"mamba.go/fused/internal/kernels"
)

// Mamba-2's batched prompt (prefill2.go) against Forward token by token,
// as prefill_test.go holds Mamba-1's.

// promptShapes2 are the Mamba-2 shapes the prompt is tested on: the odd
// shapes (one to three groups, one head and several, norm_before_gate with
// a time_step_limit that clamps), and a narrow one whose products take the
// vector kernels and whose shares split unevenly.
func promptShapes2() []modeltest.Shape {
	return append(append([]modeltest.Shape(nil), modeltest.OddShapes2...),
		// d = 32 and d_inner = 64 take the vector products; 74 conv
		// channels split at 18 and 36 over three workers unaligned.
		modeltest.Shape{Name: "m2-d32-h16-p4-n5", Config: model.NewMamba2Config(2, 101, 32, 2, 4, 1, 5, 4, false)})
}

// wideShapes2 are the 130m width cut to two layers: as released (one
// group), and with two groups, norm_before_gate and a clamping limit.
func wideShapes2() (released, g2Limited model.Config) {
	released = model.Shapes2["130m"]
	released.NLayers, released.VocabSize = 2, 5003
	g2Limited = model.NewMamba2Config(2, 5003, 768, 2, 64, 2, 128, 4, true)
	g2Limited.NormBeforeGate, g2Limited.DtMin, g2Limited.DtMax = true, 0.002, 0.05
	return released, g2Limited
}

// checkPrompt2 feeds prompts of each length with ForwardPrompt at each
// worker count: the last logits and the state within compare's tolerance
// of Forward's token by token, and the logits and state bit-identical
// across the worker counts.
func checkPrompt2(t *testing.T, w *model.Weights, lengths, workerCounts []int) {
	c := w.Config
	tokens := modeltest.Tokens(c, slices.Max(lengths))
	wantLogits, wantStates := forwardEach(t, w, tokens)

	type result struct {
		logits []float32
		state  *model.State
	}
	var first map[int]result
	for _, workers := range workerCounts {
		m, err := NewWorkers(w, workers)
		require.NoError(t, err)
		got := map[int]result{}
		for _, l := range lengths {
			require.NoError(t, m.Reset())
			logits, err := m.ForwardPrompt(tokens[:l])
			require.NoError(t, err)
			got[l] = result{append([]float32(nil), logits...), m.state.Clone()}
			want, st := wantLogits[l], wantStates[l]
			tol := refcase.DefaultTol * modeltest.MaxAbs(want)
			for j := range want {
				require.InDelta(t, want[j], logits[j], tol, "prompt %d logit %d, %d workers", l, j, workers)
			}
			for i := range st.SSM {
				require.InDelta(t, st.SSM[i], m.state.SSM[i], 1e-4*(1+math.Abs(float64(st.SSM[i]))), "prompt %d ssm state %d, %d workers", l, i, workers)
			}
			for i := range st.Conv {
				require.InDelta(t, st.Conv[i], m.state.Conv[i], 1e-4*(1+math.Abs(float64(st.Conv[i]))), "prompt %d conv state %d, %d workers", l, i, workers)
			}
		}
		require.NoError(t, m.Close())
		if first == nil {
			first = got
			continue
		}
		for _, l := range lengths {
			require.Equal(t, first[l].logits, got[l].logits, "prompt %d logits, %d workers against 1", l, workers)
			require.Equal(t, first[l].state, got[l].state, "prompt %d state, %d workers against 1", l, workers)
		}
	}
}

// TestPrompt2MatchesForward: on float32 weights and on weights narrowed
// to bfloat16 (matMatBF16 against matVecBF16), prompts of 1, T−1, T, T+1
// and 3T+5 tokens at 1, 2 and 3 workers. At the 130m width (not with the
// Go kernels of the pure-Go and race builds, where it takes minutes) the
// clamping shape in float32 on those lengths, the released shape in
// float32 and bfloat16 on T+1 tokens, at 1 and 2 workers: the odd shapes
// run the same code, and the assembly scan takes d_state 128 at every
// width.
func TestPrompt2MatchesForward(t *testing.T) {
	all, workers := promptLengths(3*promptChunk+5), []int{1, 2, 3}
	for _, s := range promptShapes2() {
		w := modeltest.Weights(t, s.Config, 5)
		t.Run(s.Name, func(t *testing.T) { checkPrompt2(t, w, all, workers) })
		t.Run(s.Name+"-bf16", func(t *testing.T) { checkPrompt2(t, w.NarrowedToBF16(), all, workers) })
	}
	if kernels.Name() == "go" {
		return
	}
	released, g2Limited := wideShapes2()
	t.Run("130m-2layers-g2-nbg-limit", func(t *testing.T) {
		checkPrompt2(t, modeltest.Weights(t, g2Limited, 5), all, []int{1, 2})
	})
	w := modeltest.Weights(t, released, 5)
	one := []int{promptChunk + 1}
	t.Run("130m-2layers", func(t *testing.T) { checkPrompt2(t, w, one, []int{1, 2}) })
	t.Run("130m-2layers-bf16", func(t *testing.T) { checkPrompt2(t, w.NarrowedToBF16(), one, []int{1, 2}) })
}

// The time_step_limit of the clamping shape does clamp Δ in its prompts:
// without it the prompt's logits move beyond the tolerance (a test of the
// tests above).
func TestPrompt2LimitClamps(t *testing.T) {
	c := modeltest.OddShapes2[2].Config
	require.True(t, c.NormBeforeGate)
	require.Less(t, float64(c.DtMax), math.Inf(1))
	u := c
	u.DtMin, u.DtMax = model.DtUnlimited[0], model.DtUnlimited[1]
	tokens := modeltest.Tokens(c, promptChunk+1)
	run := func(w *model.Weights) []float32 {
		m, err := NewWorkers(w, 2)
		require.NoError(t, err)
		defer m.Close()
		logits, err := m.ForwardPrompt(tokens)
		require.NoError(t, err)
		return append([]float32(nil), logits...)
	}
	a, b := run(modeltest.Weights(t, c, 5)), run(modeltest.Weights(t, u, 5))
	assert.Greater(t, modeltest.MaxAbsDiff(a, b), 10*refcase.DefaultTol*modeltest.MaxAbs(a))
}

func TestPrompt2AllocatesNothingPerChunk(t *testing.T) {
	w := modeltest.Weights(t, modeltest.OddShapes2[1].Config, 5)
	for _, bf16 := range []bool{false, true} {
		t.Run(fmt.Sprintf("bf16=%v", bf16), func(t *testing.T) {
			w := w
			if bf16 {
				w = w.NarrowedToBF16()
			}
			m, err := NewWorkers(w, 2)
			require.NoError(t, err)
			defer m.Close()
			tokens := modeltest.Tokens(w.Config, 2*promptChunk+1)
			_, err = m.ForwardPrompt(tokens) // makes the chunk's buffers
			require.NoError(t, err)
			assert.Zero(t, testing.AllocsPerRun(5, func() {
				if _, err := m.ForwardPrompt(tokens); err != nil {
					panic(err)
				}
			}))
		})
	}
}
