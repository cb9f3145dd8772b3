package fused

import "math"

// The fused kernels. Each works on one worker's share of a vector (a range
// of channels or rows) and names the learning functions it stands for, so
// the two packages can be read side by side (docs/fused.md does that).
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// P = number of workers. Worker w owns the channels [lo, hi) of
// split(di, P, w) and, for the products split by rows, the rows of
// split(rows, P, w).

// rmsEps is the epsilon of every RMSNorm in Mamba.
const rmsEps = 1e-5

// rmsNorm: normed = h · g / sqrt(mean(h²) + eps), as learning's rmsNorm.
// Every worker computes it into its own buffer from the shared h: 768
// floats are cheaper to normalise twice than to share behind a barrier.
// h, normed, g: [d]
func rmsNorm(normed, h, g []float32) {
	clearUpper()
	normed = normed[:len(h)]
	g = g[:len(h)]
	var ss float32
	for _, v := range h {
		ss += v * v
	}
	scale := 1 / float32(math.Sqrt(float64(ss/float32(len(h))+rmsEps)))
	for i, v := range h {
		normed[i] = v * scale * g[i]
	}
}

// normInProj starts a block for channels [lo, hi), RMSNorm folded into
// the in_proj pass:
//
//	normed = RMSNorm(h)          (learning: rmsNorm)
//	x[c] = in_proj[c] · normed    (learning: matVec, rows 0..di-1)
//	z[c] = in_proj[di+c] · normed (learning: matVec, rows di..2di-1)
//
// The worker reads two contiguous blocks of in_proj, the x and the z rows
// of its own channels, so the conv and the gate of those channels need
// nobody else's rows.
// h, normed, g: [d]; inProj: [2·di][d]; x, z: [di]
func normInProj(x, z, normed, h, g, inProj []float32, lo, hi int) {
	d, di := len(h), len(x)
	rmsNorm(normed, h, g)
	matVec(x[lo:hi], inProj[lo*d:], d, normed)
	matVec(z[lo:hi], inProj[(di+lo)*d:], d, normed)
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
	clearUpper()
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
	biasSoftplus(dt[lo:hi], bias[lo:hi])
}

// biasSoftplusGeneric: x[i] = softplus(x[i] + b[i]), learning's addBias
// and softplus in one pass. It has a vector version (kernels_simd.go).
func biasSoftplusGeneric(x, b []float32) {
	clearUpper()
	b = b[:len(x)]
	for i, v := range x {
		x[i] = softplus32(v + b[i])
	}
}

// scanGateGeneric is the whole selective-scan step of channels [lo, hi), one pass
// per channel over its n states:
//
//	h[c][s] = exp(Δ·A[c][s])·h[c][s] + Δ·B[s]·u   (learning: selectiveScan)
//	y[c] = Σ_s C[s]·h[c][s]                        (learning: selectiveScan)
//	y[c] += D[c]·u                                 (learning: skipD)
//	y[c] *= SiLU(z[c])                             (learning: gate)
//
// with u = u[c], Δ = dt[c]. It has a vector version (kernels_simd.go).
// ssm, A: [di][n]; u, dt, D, z, y: [di]; B, C: [n]
func scanGateGeneric(y, ssm, u, dt, A, B, C, D, z []float32, lo, hi int) {
	clearUpper()
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

// xProjRows computes rows [lo, hi) of x_proj, split by rows so that each
// worker streams one contiguous block:
//
//	xDBC[i] = x_proj[i] · u   (learning: matVec)
//
// xW: [r+2n][di]; u: [di]; xDBC: [r+2n]
func xProjRows(xDBC, xW, u []float32, lo, hi int) {
	di := len(u)
	matVec(xDBC[lo:hi], xW[lo*di:], di, u)
}

// outProjResidual ends a block: rows [lo, hi) of out_proj, accumulated
// straight into the residual stream,
//
//	h[i] += out_proj[i] · y   (learning: matVec, then addResidual)
//
// so the mixer's output never exists as a vector of its own.
// outW: [d][di]; y: [di]; h: [d]
func outProjResidual(h, outW, y []float32, lo, hi int) {
	di := len(y)
	matVecAdd(h[lo:hi], outW[lo*di:], di, y)
}

// normHead is the head, rows [lo, hi) of the padded vocabulary:
//
//	normed = RMSNorm(h)           (learning: rmsNorm with norm_f)
//	logits[v] = lm_head[v] · normed (learning: matVec)
//
// h, normed, g: [d]; head: [V][d]; logits: [V]
func normHead(logits, normed, h, g, head []float32, lo, hi int) {
	d := len(h)
	rmsNorm(normed, h, g)
	matVec(logits[lo:hi], head[lo*d:], d, normed)
}
