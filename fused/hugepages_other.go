//go:build !linux

package fused

import "mamba.go/common/model"

// hugePageWeights: the weights stay in place where Linux's transparent
// huge pages are not available.
func hugePageWeights(w *model.Weights) (*model.Weights, []byte) { return w, nil }

// hugePagesCopy is hugePageWeights, with nothing to skip or report.
func hugePagesCopy(w *model.Weights, _ func(done, total int64)) (*model.Weights, []byte, string) {
	return w, nil, ""
}

func unmapArena([]byte) {}

// newArena: n bytes from Go, no mapping.
func newArena(n int, huge bool) (mem, mapping []byte, advised bool) {
	return make([]byte, n), nil, false
}

// populate and dropPages do nothing here.
func populate([]byte)  {}
func dropPages([]byte) {}
