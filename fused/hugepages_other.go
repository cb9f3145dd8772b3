//go:build !linux

package fused

import "mamba.go/common/model"

// hugePageWeights: the weights stay in place where Linux's transparent
// huge pages are not available.
func hugePageWeights(w *model.Weights) (*model.Weights, []byte) { return w, nil }

func unmapArena([]byte) {}
