package main

// fused held to learning, through fused's exported API only. These tests
// live here, in the one module that depends on every implementation, so
// that fused's own module depends on common alone (a test's imports join
// its module's requirements, and so every user's module graph).

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/fused"
	"mamba.go/learning"
)

func newLearning(w *model.Weights) (model.Mamba, error) { return learning.New(w) }

func newFused(workers int) model.New {
	return func(w *model.Weights) (model.Mamba, error) { return fused.NewWorkers(w, workers) }
}

// newFusedBF16 runs fused on w narrowed to bfloat16.
func newFusedBF16(workers int) model.New {
	return func(w *model.Weights) (model.Mamba, error) { return fused.NewWorkers(w.NarrowedToBF16(), workers) }
}

// newLearningRounded runs learning on w's values rounded to bfloat16, as
// float32: the same weights as newFusedBF16's, so the two must agree as
// closely as float32 implementations do.
func newLearningRounded(w *model.Weights) (model.Mamba, error) {
	return learning.New(w.RoundedToBF16())
}

// wide130m is a 130m-wide Mamba-1 cut to two layers and an odd vocabulary:
// the real widths, where the vector kernels' main loops run.
var wide130m = []modeltest.Shape{{Name: "130m-2layers", Config: model.Config{
	NLayers: 2, VocabSize: 5003, DModel: 768, DInner: 1536, DtRank: 48, DState: 16, DConv: 4, TiedHead: true,
}}}

// TestFusedConformance holds fused, at worker counts that split the
// channels and the vocabulary unevenly, to model.Mamba's contract with
// learning as the reference; the 130m-wide model joins the odd shapes once
// (the worker count changes no bit: fused's TestWorkerCountsAgreeBitForBit).
func TestFusedConformance(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) { modeltest.Run(t, newFused(workers), newLearning) })
	}
	modeltest.Agree(t, newFused(3), newLearning, wide130m)
}

// TestFusedConformanceBF16 holds fused with bfloat16 weights to the
// contract, learning on the same (rounded) weights judging, on Mamba-1,
// Mamba-2 and Falcon-Mamba shapes and a 130m-wide one.
func TestFusedConformanceBF16(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) { modeltest.Run(t, newFusedBF16(workers), newLearningRounded) })
	}
	modeltest.Agree(t, newFusedBF16(2), newLearningRounded, modeltest.FalconShapes)
	modeltest.Agree(t, newFusedBF16(2), newLearningRounded, wide130m)
}

// Falcon-Mamba agrees with learning at worker counts that split the
// channels unevenly.
func TestFusedFalconAgreesWithLearning(t *testing.T) {
	for _, workers := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) {
			modeltest.Agree(t, newFused(workers), newLearning, modeltest.FalconShapes)
		})
	}
}

// A 130m-shaped Mamba-2 cut to two layers (24 heads of 64, d_state 128)
// agrees with learning, for several worker counts (8 leaves workers
// without a head of their own).
func TestFusedMamba2RealWidthMatchesLearning(t *testing.T) {
	c := model.Shapes2["130m"]
	c.NLayers, c.VocabSize = 2, 5003
	w := modeltest.Weights(t, c, 7)
	tokens := []int{1, 500, 5002, 7, 7, 42}
	ref, err := learning.New(w)
	require.NoError(t, err)
	want := modeltest.Feed(t, ref, tokens)
	for _, nw := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("%dw", nw), func(t *testing.T) {
			m, err := fused.NewWorkers(w, nw)
			require.NoError(t, err)
			defer m.Close()
			for i, got := range modeltest.Feed(t, m, tokens) {
				assert.LessOrEqual(t, modeltest.MaxAbsDiff(got, want[i]), 1e-5*modeltest.MaxAbs(want[i]), "token %d", i)
			}
		})
	}
}

// fused's tracer sees the end of every Mamba-2 phase, with the values
// learning reports for the same op.
func TestFusedMamba2TracePhaseEnds(t *testing.T) {
	w := modeltest.Weights(t, model.NewMamba2Config(2, 50, 16, 2, 8, 2, 5, 3, true), 7)
	collect := func(m model.Mamba) map[string][]float32 {
		got := map[string][]float32{}
		m.(model.Traceable).SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, v []float32) {
			got[fmt.Sprintf("%d/%d/%s", pos, layer, op)] = append([]float32(nil), v...)
		}))
		modeltest.Feed(t, m, []int{3, 9})
		return got
	}
	lm, err := learning.New(w)
	require.NoError(t, err)
	fm, err := fused.NewWorkers(w, 3)
	require.NoError(t, err)
	defer fm.Close()
	want, got := collect(lm), collect(fm)
	for _, key := range []string{"1/0/in_proj", "1/0/silu", "1/1/dt_limit", "1/1/gate", "1/1/residual", "1/-1/lm_head"} {
		require.Contains(t, got, key)
		assert.InDeltaSlice(t, want[key], got[key], 1e-5, key)
	}
}
