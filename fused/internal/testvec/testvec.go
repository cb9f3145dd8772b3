// Package testvec holds what fused's tests and those of its kernels
// package share: random vectors, awkward shapes, and the float64 product
// the products are judged by.
package testvec

import (
	"math"
	"math/rand/v2"
)

// Shapes that are not multiples of any vector width, rows and columns of 1
// among them.
var (
	OddRows = []int{1, 2, 3, 4, 5, 7, 16, 33}
	OddCols = []int{1, 3, 15, 16, 17, 31, 48, 769}
)

// RandVec is n values uniform in [−1, 1).
func RandVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*rng.Float64() - 1)
	}
	return v
}

// RefMatVec is out[i] = Σ_j w[i·ld + j]·x[j] for i < rows as a plain loop
// in float64, with the bound on a float32 sum's rounding error:
// |Σ w·x| is known to about eps·(len(x)+4)·Σ|w·x|.
func RefMatVec(w []float32, ld int, x []float32, rows int) (out, bound []float64) {
	for i := 0; i < rows; i++ {
		var s, a float64
		for j := range x {
			p := float64(w[i*ld+j]) * float64(x[j])
			s += p
			a += math.Abs(p)
		}
		out = append(out, s)
		bound = append(bound, 4e-7*float64(len(x)+4)*a+1e-30)
	}
	return out, bound
}

// HeadScanShapes are Mamba-2 heads' d_state n and head_dim p: the real
// shape (128, 64) and ones not multiples of the vector widths.
var HeadScanShapes = []struct{ N, P int }{
	{16, 64}, {64, 64}, {128, 64}, {12, 64},
	{16, 7}, {64, 7}, {128, 7}, {12, 7}, {8, 4}, {24, 5}, {128, 1},
}

// PlainMatVec is learning's matVec, out[i] = Σ_j w[i·len(x) + j]·x[j]:
// what the benchmarks set the kernels beside.
func PlainMatVec(out, w, x []float32) {
	cols := len(x)
	for i := range out {
		row := w[i*cols : (i+1)*cols]
		var sum float32
		for j, v := range row {
			sum += v * x[j]
		}
		out[i] = sum
	}
}
