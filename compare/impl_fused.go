package main

import (
	"mamba.go/common/model"
	"mamba.go/fused"
	"mamba.go/learning"
)

// fused, the fast CPU implementation, is compared with learning; and
// fused-bf16, fused with the products' weights kept as bfloat16, on its
// own tolerance (lossy.go).
func init() {
	impls["fused"] = func(w *model.Weights) (model.Mamba, error) { return fused.New(w) }
	impls["fused-bf16"] = func(w *model.Weights) (model.Mamba, error) { return fused.New(w.NarrowedToBF16()) }
	implOrder = append(implOrder, "fused", "fused-bf16")
	lossy["fused-bf16"] = &lossyImpl{tol: BF16Tol, what: "learning on the same bfloat16-rounded weights",
		newTwin: func(w *model.Weights) (model.Mamba, error) { return learning.New(w.RoundedToBF16()) }}
}
