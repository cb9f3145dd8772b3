package fused

import "math"

// The fused kernels. Each works on one worker's share of a vector (a range
// of channels or rows) and names the learning functions it stands for, so
// the two packages can be read side by side (docs/fused.md does that).
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// P = number of workers.

// rmsEps is the epsilon of every RMSNorm in Mamba.
const rmsEps = 1e-5

// residualRMSNorm finishes the previous block and starts the next one:
//
//	h += Σ_p parts[p]                       (learning: addResidual)
//	normed = h · g / sqrt(mean(h²) + eps)   (learning: rmsNorm)
//
// parts are the workers' partial out_proj products (see outProjPartial);
// adding them in a fixed order keeps the result bit-identical from run to
// run. The sum of squares is gathered in the same pass as the adds, so h is
// read once and written once. Every worker runs this on its own copy of h:
// 768 floats are cheaper to recompute than to share behind another barrier.
// h, normed, g: [d]; parts: [P][d] or empty
func residualRMSNorm(normed, h []float32, parts [][]float32, g []float32) {
	normed = normed[:len(h)]
	g = g[:len(h)]
	var ss float32
	for i := range h {
		v := h[i]
		for _, p := range parts {
			v += p[i]
		}
		h[i] = v
		ss += v * v
	}
	scale := 1 / float32(math.Sqrt(float64(ss/float32(len(h))+rmsEps)))
	for i, v := range h {
		normed[i] = v * scale * g[i]
	}
}

// convSiLU is the causal depthwise convolution of channels [lo, hi) in one
// pass per channel, its window kept in registers:
//
//	conv[c] = [conv[c][1], …, conv[c][k-1], x[c]]   (learning: shiftAndAppend)
//	u[c] = Σ_j conv[c][j] · w[c][j] + bias[c]       (learning: depthwiseConv)
//	u[c] = SiLU(u[c])                               (learning: silu)
//
// conv, w: [di][k]; x, bias, u: [di]
func convSiLU(u, conv, x, w, bias []float32, k, lo, hi int) {
	for c := lo; c < hi; c++ {
		win := conv[c*k : (c+1)*k : (c+1)*k]
		wc := w[c*k : (c+1)*k : (c+1)*k]
		sum := bias[c]
		for j := 0; j < k-1; j++ {
			v := win[j+1]
			win[j] = v
			sum += v * wc[j]
		}
		win[k-1] = x[c]
		sum += x[c] * wc[k-1]
		u[c] = silu32(sum)
	}
}

// dtSoftplus computes the step sizes of channels [lo, hi):
//
//	dt[c] = dt_proj[c] · Δ_low            (learning: matVec)
//	dt[c] = softplus(dt[c] + bias[c])     (learning: addBias, softplus)
//
// dtW: [di][r]; dtLow: [r]; dt, bias: [di]
func dtSoftplus(dt, dtW, dtLow, bias []float32, lo, hi int) {
	r := len(dtLow)
	matVec(dt[lo:hi], dtW[lo*r:], r, dtLow)
	for c := lo; c < hi; c++ {
		dt[c] = softplus32(dt[c] + bias[c])
	}
}

// scanGate is the whole selective-scan step of channels [lo, hi), one pass
// per channel over its n states:
//
//	h[c][s] = exp(Δ·A[c][s])·h[c][s] + Δ·B[s]·u   (learning: selectiveScan)
//	y[c] = Σ_s C[s]·h[c][s]                        (learning: selectiveScan)
//	y[c] += D[c]·u                                 (learning: skipD)
//	y[c] *= SiLU(z[c])                             (learning: gate)
//
// with u = u[c], Δ = dt[c]. It has a vector version (scan_simd_amd64.go).
// ssm, A: [di][n]; u, dt, D, z, y: [di]; B, C: [n]
func scanGateGeneric(y, ssm, u, dt, A, B, C, D, z []float32, lo, hi int) {
	n := len(B)
	C = C[:n]
	for c := lo; c < hi; c++ {
		h := ssm[c*n : (c+1)*n : (c+1)*n]
		a := A[c*n : (c+1)*n : (c+1)*n]
		delta, uc := dt[c], u[c]
		du := delta * uc
		var sum float32
		for s := range h {
			v := exp32(delta*a[s])*h[s] + du*B[s]
			h[s] = v
			sum += C[s] * v
		}
		y[c] = (sum + D[c]*uc) * silu32(z[c])
	}
}

// outProjPartial is worker w's share of out_proj, split by columns: the
// channels [lo, hi) that it scanned itself, so it needs no barrier between
// its scan and this product:
//
//	part = out_proj[:, lo:hi] · y[lo:hi]   (learning: matVec)
//
// The residual add (learning: addResidual) happens when the next phase sums
// the P parts into h (residualRMSNorm).
// outW: [d][di]; y: [di]; part: [d]
func outProjPartial(part, outW, y []float32, lo, hi int) {
	di := len(y)
	matVec(part, outW[lo:], di, y[lo:hi])
}

// xProjPartial is the same column split for x_proj:
//
//	part = x_proj[:, lo:hi] · u[lo:hi]   (learning: matVec)
//
// xW: [r+2n][di]; u: [di]; part: [r+2n]
func xProjPartial(part, xW, u []float32, lo, hi int) {
	di := len(u)
	matVec(part, xW[lo:], di, u[lo:hi])
}

// sumParts: out = Σ_p parts[p], in a fixed order.
// out: [m]; parts: [P][m]
func sumParts(out []float32, parts [][]float32) {
	copy(out, parts[0])
	for _, p := range parts[1:] {
		p = p[:len(out)]
		for i := range out {
			out[i] += p[i]
		}
	}
}
