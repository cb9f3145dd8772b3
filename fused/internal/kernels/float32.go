package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The "go" set's float32 products.

// matVecGeneric is the product on gonum's float32 BLAS (SSE assembly on
// amd64 unless built with -tags noasm, Go elsewhere).
func matVecGeneric(out, w []float32, ld int, x []float32, add bool) {
	if len(out) == 0 {
		return
	}
	beta := float32(0)
	if add {
		beta = 1
	}
	if len(x) == 0 {
		for i := range out {
			out[i] *= beta
		}
		return
	}
	gonum.Implementation{}.Sgemv(blas.NoTrans, len(out), len(x), 1, w, ld, x, 1, beta, out, 1)
}

// matMatGeneric: out[t·ldo + i] (+)= Σ_j W[i·ldw + j]·x[t·ldx + j], row by
// row, each row against every token while it is in cache.
func matMatGeneric(out []float32, ldo int, w []float32, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	for i := range rows {
		row := w[i*ldw : i*ldw+cols]
		for t := range tokens {
			xt := x[t*ldx : t*ldx+cols]
			var s float32
			for j, v := range row {
				s += v * xt[j]
			}
			if add {
				s += out[t*ldo+i]
			}
			out[t*ldo+i] = s
		}
	}
}
