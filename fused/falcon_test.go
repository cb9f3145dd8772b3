package fused

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
)

// Falcon-Mamba's worker count changes no bit (every worker normalises its
// own copy of xDBC the same way); compare's tests hold it to learning.
func TestFalconWorkerCountsAgreeBitForBit(t *testing.T) {
	w := modeltest.Weights(t, modeltest.FalconShapes[0].Config, 3)
	requireWorkerCountsAgree(t, w, modeltest.Tokens(w.Config, 6), 2, 4)
}

// A tracer that changes Falcon-Mamba's normed Δ_low, B, C changes them for
// every worker: the logits do not depend on the worker count.
func TestFalconTracerChangeReachesEveryWorker(t *testing.T) {
	c := modeltest.FalconShapes[0].Config
	w, err := model.RandomWeights(c, 9)
	require.NoError(t, err)
	double := model.TracerFunc(func(pos, layer int, op model.Op, v []float32) {
		if op == model.OpBCDtNorm && layer == 0 {
			for i := range v {
				v[i] *= 2
			}
		}
	})
	var want []float32
	for _, workers := range []int{1, 2, 4} {
		m, err := NewWorkers(w, workers)
		require.NoError(t, err)
		m.SetTracer(double)
		logits, err := m.Forward(3)
		require.NoError(t, err)
		if want == nil {
			want = append([]float32(nil), logits...)
		} else {
			assert.Equal(t, want, logits, "%d workers", workers)
		}
		require.NoError(t, m.Close())
	}
}
