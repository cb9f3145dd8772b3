package fused

import (
	"testing"

	"mamba.go/fused/internal/kernels"
	"mamba.go/fused/internal/testvec"
)

var (
	oddRows, oddCols = testvec.OddRows, testvec.OddCols
	randVec          = testvec.RandVec
	refMatVec        = testvec.RefMatVec
	plainMatVec      = testvec.PlainMatVec
)

// forEachKernelSet runs f as a sub-benchmark per kernel set this CPU has
// (avx512, avx2, go), with that set in use: the names say which ran.
func forEachKernelSet(b *testing.B, f func(b *testing.B)) {
	for _, name := range kernels.Sets() {
		restore, err := kernels.Use(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, f)
		restore()
	}
}
