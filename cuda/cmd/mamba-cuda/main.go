//go:build cuda

// Command mamba-cuda generates text with the CUDA implementation, on GPU 0.
// Flags: see package mamba.go/common/cli. At temperature 0 (-t 0) only the
// chosen token id comes back from the GPU each step (cuda.Mamba.ForwardArgmax).
//
// Build it with `make cuda` (it needs cuda.h, not nvcc, nor a GPU).
package main

import (
	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/cuda"
)

func main() {
	cli.Main("mamba-cuda", func(w *model.Weights) (model.Mamba, error) { return cuda.New(w) })
}
