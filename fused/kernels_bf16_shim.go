package fused

import "mamba.go/common/model"

// TEMPORARY until the bf16 kernels land.
func init() {
	mv := func(out []float32, w []uint16, ld int, x []float32, add bool) {
		for i := range out {
			var s float32
			for j, v := range x {
				s += model.Float32FromBF16(w[i*ld+j]) * v
			}
			if add {
				s += out[i]
			}
			out[i] = s
		}
	}
	mm := func(out []float32, ldo int, w []uint16, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
		for t := range tokens {
			mv(out[t*ldo:t*ldo+rows], w, ldw, x[t*ldx:t*ldx+cols], add)
		}
	}
	kern.matVecBF16, kern.matMatBF16 = mv, mm
}
