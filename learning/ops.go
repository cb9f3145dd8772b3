package learning

import "math"

// The operations, one function each. Every slice is a vector or a row-major
// matrix; shapes are in the comments.

// rmsNorm: out[i] = x[i] · w[i] / sqrt(mean(x²) + eps).
// x, w, out: [d]
func rmsNorm(out, x, w []float32, eps float32) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	scale := 1 / float32(math.Sqrt(float64(ss/float32(len(x))+eps)))
	for i := range x {
		out[i] = x[i] * scale * w[i]
	}
}

// bcdtNorm is Falcon-Mamba's one addition to the step: Δ_low, B and C
// each divided by its own root mean square, with no weight,
// x[i] = x[i] / sqrt(mean(x²) + eps) for x in (Δ_low, B, C), in place.
// dtLow: [r], B, C: [n]
func bcdtNorm(dtLow, B, C []float32, eps float32) {
	for _, x := range [][]float32{dtLow, B, C} {
		var ss float32
		for _, v := range x {
			ss += v * v
		}
		scale := 1 / float32(math.Sqrt(float64(ss/float32(len(x))+eps)))
		for i := range x {
			x[i] *= scale
		}
	}
}

// matVec: out = W · x, the matrix–vector product.
// W: [rows][cols], x: [cols], out: [rows]
func matVec(out, w, x []float32) {
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

// shiftAndAppend moves each channel's window one step into the past and
// appends the newest input:
// convState[c] = [convState[c][1], …, convState[c][k-1], x[c]].
// convState: [di][k], x: [di]
func shiftAndAppend(convState, x []float32, k int) {
	for c := range x {
		window := convState[c*k : (c+1)*k]
		copy(window, window[1:])
		window[k-1] = x[c]
	}
}

// depthwiseConv: out[c] = Σ_j convState[c][j] · w[c][j] + bias[c], a causal
// convolution in which every channel has its own filter of width k.
// convState, w: [di][k], bias, out: [di]
func depthwiseConv(out, convState, w, bias []float32, k int) {
	for c := range out {
		sum := bias[c]
		for j := 0; j < k; j++ {
			sum += convState[c*k+j] * w[c*k+j]
		}
		out[c] = sum
	}
}

// silu: x · σ(x) = x / (1 + e^−x), in place.
func silu(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + float32(math.Exp(float64(-v))))
	}
}

// softplus: log(1 + eˣ), in place, with PyTorch's threshold: above 20 it
// returns x itself (the two agree to float32 precision there).
func softplus(x []float32) {
	for i, v := range x {
		if v <= 20 {
			x[i] = float32(math.Log1p(math.Exp(float64(v))))
		}
	}
}

// addBias: x += b.
func addBias(x, b []float32) {
	for i := range x {
		x[i] += b[i]
	}
}

// selectiveScan advances the SSM state of every channel by one step and
// reads it out. For channel c with input u = u[c] and step Δ = dt[c]:
//
//	dA      = exp(Δ·A[c][s])                 (zero-order hold of A)
//	dB      = Δ·B[s]                         (Euler for B)
//	h[c][s] = dA · h[c][s] + dB · u
//	y[c]    = Σ_s C[s] · h[c][s]
//
// The model chose Δ, B and C from the input itself: that is what makes the
// scan "selective".
//
// A is negative: the checkpoint stores A_log, and the loader makes
// A = −exp(A_log) once (checkpoint.NegExp; a model.bin stores A itself), so
// with Δ > 0, dA = exp(Δ·A) ∈ (0, 1) is a decay of the state.
// ssmState, A: [di][n], u, dt, y: [di], B, C: [n]
func selectiveScan(y, ssmState, u, dt, A, B, C []float32) {
	n := len(B)
	for c := range u {
		h := ssmState[c*n : (c+1)*n]
		a := A[c*n : (c+1)*n]
		var yc float32
		for s := 0; s < n; s++ {
			dA := float32(math.Exp(float64(dt[c] * a[s])))
			dB := dt[c] * B[s]
			h[s] = dA*h[s] + dB*u[c]
			yc += C[s] * h[s]
		}
		y[c] = yc
	}
}

// skipD: y += D · u, the skip connection around the scan.
func skipD(y, D, u []float32) {
	for c := range y {
		y[c] += D[c] * u[c]
	}
}

// gate: y · SiLU(z), the multiplicative gate of the second in_proj branch.
// z is overwritten.
func gate(y, z []float32) {
	silu(z)
	for i := range y {
		y[i] *= z[i]
	}
}

// addResidual: h += x.
func addResidual(h, x []float32) {
	for i := range h {
		h[i] += x[i]
	}
}
