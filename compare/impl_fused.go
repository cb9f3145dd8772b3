package main

import (
	"mamba.go/common/model"
	"mamba.go/fused"
)

// fused, the fast CPU implementation, is compared with learning.
func init() {
	impls["fused"] = func(w *model.Weights) (model.Mamba, error) { return fused.New(w) }
	implOrder = append(implOrder, "fused")
}
