package fused

import (
	"unsafe"

	"mamba.go/common/model"
	"mamba.go/fused/internal/kernels"
)

// The weights' tensors as bytes, for the copies New makes of them (into 2
// MB pages: hugepages.go; beside packed products: packweights.go).

// weightTensors lists the tensors of w to copy: every tensor of float32
// weights; of weights kept as bfloat16, the bfloat16 ones (all but a few
// hundredths of the bytes, in one block when NarrowToBF16 made them; the
// float32 vectors stay where they are).
func weightTensors(w *model.Weights) []kernels.Tensor {
	var ts []kernels.Tensor
	f32 := func(s *[]float32) {
		if len(*s) > 0 {
			n := len(*s)
			ts = append(ts, kernels.Tensor{Ptr: unsafe.Pointer(&(*s)[0]), Size: uintptr(4 * n),
				Point: func(to unsafe.Pointer) { *s = unsafe.Slice((*float32)(to), n) }})
		}
	}
	bf16 := func(s *[]uint16) {
		if len(*s) > 0 {
			n := len(*s)
			ts = append(ts, kernels.Tensor{Ptr: unsafe.Pointer(&(*s)[0]), Size: uintptr(2 * n),
				Point: func(to unsafe.Pointer) { *s = unsafe.Slice((*uint16)(to), n) }})
		}
	}
	if w.BF16 {
		bf16(&w.EmbeddingBF16)
		bf16(&w.LMHeadBF16)
	} else {
		f32(&w.Embedding)
		f32(&w.LMHead)
		f32(&w.NormF)
	}
	for l := range w.Layers {
		for _, t := range w.Layers[l].Tensors(w.Config) {
			switch {
			case w.BF16 && t.BF16 != nil:
				bf16(t.BF16)
			case !w.BF16:
				f32(t.Data)
			}
		}
	}
	return ts
}
