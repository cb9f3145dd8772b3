//go:build cuda

package main

import (
	"mamba.go/common/model"
	"mamba.go/cuda"
)

// With the cuda tag (make cuda builds bin/compare-cuda), compare can also
// run the CUDA implementation, on GPU 0.
func init() {
	impls["cuda"] = func(w *model.Weights) (model.Mamba, error) { return cuda.New(w) }
	implOrder = append(implOrder, "cuda")
}
