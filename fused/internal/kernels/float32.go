package kernels

// The "go" set's float32 products: learning's matVec, with four partial
// sums per row so that the adds do not wait on each other.

// matVecGeneric: out[i] (+)= Σ_j W[i·ld + j]·x[j], i < len(out),
// j < len(x).
func matVecGeneric(out, w []float32, ld int, x []float32, add bool) {
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
			s0 += row[j] * x[j]
			s1 += row[j+1] * x[j+1]
			s2 += row[j+2] * x[j+2]
			s3 += row[j+3] * x[j+3]
		}
		for ; j < cols; j++ {
			s0 += row[j] * x[j]
		}
		s := (s0 + s1) + (s2 + s3)
		if add {
			s += out[i]
		}
		out[i] = s
	}
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
