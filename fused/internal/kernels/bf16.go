package kernels

import "math"

// The products with bfloat16 weights: W kept as its bits ([]uint16), half
// the bytes of float32 to stream per token, widened to float32 as it is
// read and then multiplied exactly as matVec and matMat do (the formulas
// are the same; only W's storage differs). Widening is exact: a bfloat16
// is the upper 16 bits of a float32 (model.Float32FromBF16), so
//
//	W[i][j] = float32frombits(bits[i·ld + j] << 16)
//
// and the only rounding is the float32 sum's, as with float32 weights.
// These are the portable Go versions; bf16_amd64.go has the
// AVX2 and AVX-512 ones.

// matVecBF16Generic: out[i] (+)= Σ_j W[i·ld + j]·x[j], i < len(out),
// j < len(x), W widened from bfloat16. Four partial sums per row, so that
// the adds do not wait on each other.
func matVecBF16Generic(out []float32, w []uint16, ld int, x []float32, add bool) {
	cols := len(x)
	if cols == 0 { // a sum over no columns is 0; W is not read
		if !add {
			clear(out)
		}
		return
	}
	for i := range out {
		row := w[i*ld : i*ld+cols]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= cols; j += 4 {
			// bits<<16: the bfloat16 as the float32 it is (sign, exponent,
			// 7 mantissa bits, 16 zero bits).
			s0 += math.Float32frombits(uint32(row[j])<<16) * x[j]
			s1 += math.Float32frombits(uint32(row[j+1])<<16) * x[j+1]
			s2 += math.Float32frombits(uint32(row[j+2])<<16) * x[j+2]
			s3 += math.Float32frombits(uint32(row[j+3])<<16) * x[j+3]
		}
		for ; j < cols; j++ {
			s0 += math.Float32frombits(uint32(row[j])<<16) * x[j]
		}
		s := (s0 + s1) + (s2 + s3)
		if add {
			s += out[i]
		}
		out[i] = s
	}
}

// matMatBF16Generic: out[t·ldo + i] (+)= Σ_j W[i·ldw + j]·x[t·ldx + j],
// matMatGeneric with W widened from bfloat16: row by row, each row against
// every token while it is in cache.
func matMatBF16Generic(out []float32, ldo int, w []uint16, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	for i := range rows {
		row := w[i*ldw : i*ldw+cols]
		for t := range tokens {
			xt := x[t*ldx : t*ldx+cols]
			var s float32
			for j, b := range row {
				s += math.Float32frombits(uint32(b)<<16) * xt[j]
			}
			if add {
				s += out[t*ldo+i]
			}
			out[t*ldo+i] = s
		}
	}
}
