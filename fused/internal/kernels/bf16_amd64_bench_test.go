//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"testing"

	"mamba.go/common/model"
)

// BenchmarkMatVecBF16Widths: the AVX2 and the AVX-512 bfloat16 matVec side
// by side, both outside any set, to choose the avx512 set's (kernels_amd64.go).
func BenchmarkMatVecBF16Widths(b *testing.B) {
	if !cpuAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, sz := range bf16BenchShapes {
		w16 := model.ToBF16(randVec(rng, sz.rows*sz.cols))
		x, out := randVec(rng, sz.cols), make([]float32, sz.rows)
		for _, k := range []struct {
			name string
			f    func(out []float32, w []uint16, ld int, x []float32, add bool)
		}{{"avx2", matVecBF16AVX2Slices}, {"avx512", matVecBF16AVX512Slices}} {
			b.Run(sz.name+"/"+k.name, func(b *testing.B) {
				b.SetBytes(int64(2 * len(w16)))
				for b.Loop() {
					k.f(out, w16, sz.cols, x, false)
				}
			})
		}
	}
}
