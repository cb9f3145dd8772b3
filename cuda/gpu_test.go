//go:build cuda

package cuda

// Tests that need a GPU: the CUDA implementation held to model.Mamba's
// contract (common/model/modeltest) and against learning on random models
// of awkward shapes. Built here with
//
//	make cuda   (bin/cuda.test, among others)
//
// and run on the GPU machine by cuda/gpu-check.sh: bin/cuda.test -test.v.
// On a machine without a GPU the binary stops at once with the precheck's
// one-line error (precheck.go).

import (
	"testing"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/learning"
)

// gpuShapes exercise every path of the kernels beyond modeltest.OddShapes:
// float4 and scalar rows (widths that are and are not multiples of 4),
// dt_rank and d_state at and above a warp's 32 lanes, rows long enough for
// several warps, tied and untied heads, a vocabulary that is not a multiple
// of 8.
var gpuShapes = []modeltest.Shape{
	{Name: "d48-r3-tied", Config: model.Config{NLayers: 2, VocabSize: 1000, DModel: 48, DInner: 96, DtRank: 3, DState: 16, DConv: 4, TiedHead: true}},
	{Name: "d64-r5-untied", Config: model.Config{NLayers: 3, VocabSize: 1001, DModel: 64, DInner: 128, DtRank: 5, DState: 16, DConv: 4}},
	{Name: "wide-state", Config: model.Config{NLayers: 2, VocabSize: 300, DModel: 80, DInner: 160, DtRank: 40, DState: 48, DConv: 4, TiedHead: true}},
	{Name: "long-rows-d1000", Config: model.Config{NLayers: 1, VocabSize: 2000, DModel: 1000, DInner: 2000, DtRank: 63, DState: 16, DConv: 4, TiedHead: true}},
	{Name: "scalar-d1001-r33", Config: model.Config{NLayers: 1, VocabSize: 513, DModel: 1001, DInner: 2002, DtRank: 33, DState: 16, DConv: 4}},
}

func newCUDA(w *model.Weights) (model.Mamba, error)     { return New(w) }
func newLearning(w *model.Weights) (model.Mamba, error) { return learning.New(w) }

func TestConformance(t *testing.T) {
	modeltest.Run(t, newCUDA, newLearning)
}

func TestAgainstLearning(t *testing.T) {
	modeltest.Agree(t, newCUDA, newLearning, gpuShapes)
}
