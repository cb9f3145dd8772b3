package fused

import (
	"math/rand/v2"
	"testing"

	"mamba.go/fused/internal/kernels"
)

// BenchmarkOutProjSplit compares the two ways to share out_proj's product
// between workers, over 24 layers' worth of matrices (113 MB, more than the
// caches): by rows (each worker reads whole rows; needs all of y, so a
// barrier after the scan) and by columns (each worker reads its half of
// every row; needs only its own channels of y).
func BenchmarkOutProjSplit(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	const layers = 24
	w := randVec(rng, layers*bD*bDi)
	y := randVec(rng, bDi)
	out := make([]float32, bD)
	p := newPool(maxWorkers())
	defer p.close()
	parts := make([][]float32, p.n)
	for i := range parts {
		parts[i] = make([]float32, bD)
	}
	byRows := func(wk int) {
		lo, hi := split(bD, p.n, wk)
		for l := range layers {
			m := w[l*bD*bDi:]
			kernels.MatVec(out[lo:hi], kernels.F32(m[lo*bDi:]), bDi, y, false)
		}
	}
	byCols := func(wk int) {
		lo, hi := split(bDi, p.n, wk)
		for l := range layers {
			m := w[l*bD*bDi:]
			kernels.MatVec(parts[wk], kernels.F32(m[lo:]), bDi, y[lo:hi], false)
		}
	}
	b.Run("rows", func(b *testing.B) {
		b.SetBytes(int64(4 * len(w)))
		for b.Loop() {
			p.run(byRows)
		}
	})
	b.Run("cols", func(b *testing.B) {
		b.SetBytes(int64(4 * len(w)))
		for b.Loop() {
			p.run(byCols)
		}
	})
}
