package fused

import (
	"math"

	"mamba.go/common/model"
)

// The fused kernels. The five phase functions, inProjConv, xProj,
// dtScanGate, outProj and head, are the phases of model.Ops (in_proj_conv,
// x_proj, dt_scan_gate, out_proj, head), the same phases as cuda's kernels
// and the headings of learning's layer; each names the learning functions
// it stands for, so the packages can be read side by side (docs/fused.md
// does that). Below them, the kernels they are made of.
//
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// P = number of workers. Each call works on one worker's share [lo, hi) of
// the channels or of a product's rows (claim.go says how they are shared).

// inProjConv is phase in_proj_conv for channels [lo, hi), on normed =
// RMSNorm(h)·norm computed before (rmsNorm, once per worker and layer):
// the x and z rows of those channels, then their causal conv and SiLU.
//
//	x[c] = in_proj[c] · normed           (learning: matVec, rows 0..di-1)
//	z[c] = in_proj[di+c] · normed        (learning: matVec, rows di..2di-1)
//	u[c] = SiLU(conv1d(x)[c])            (learning: shiftAndAppend, depthwiseConv, silu)
//
// The worker reads two contiguous blocks of in_proj, the x and the z rows
// of its channels, so the conv and the gate of those channels need nobody
// else's rows.
// xz = [x, z]: [2·di]; normed: [d]; inProj: [2·di][d]; convState, convW: [di][k]; convB, u: [di]
func inProjConv(xz, u, normed []float32, inProj matrix, convState, convW, convB []float32, k, lo, hi int) {
	d, di := len(normed), len(u)
	x, z := xz[:di], xz[di:]
	matVec(x[lo:hi], inProj.from(lo*d), d, normed)
	matVec(z[lo:hi], inProj.from((di+lo)*d), d, normed)
	convSiLU(u, convState, x, convW, convB, k, lo, hi)
}

// xProj is phase x_proj: rows [lo, hi) of x_proj, split by rows so that
// each worker streams one contiguous block:
//
//	xDBC[i] = x_proj[i] · u   (learning: matVec)
//
// xW: [r+2n][di]; u: [di]; xDBC: [r+2n]
func xProj(xDBC []float32, xW matrix, u []float32, lo, hi int) {
	di := len(u)
	matVec(xDBC[lo:hi], xW.from(lo*di), di, u)
}

// dtScanGate is phase dt_scan_gate for channels [lo, hi): the step sizes,
// then the whole selective-scan step of those channels.
//
//	dt[c] = softplus(dt_proj[c] · Δ_low + dt_bias[c])  (learning: matVec, addBias, softplus)
//	y[c]  = (scan(c) + D[c]·u[c]) · SiLU(z[c])         (learning: selectiveScan, skipD, gate)
//
// dtW: [di][r]; dtLow: [r]; dtB, dt, u, D, z, y: [di]; ssmState, A: [di][n]; B, C: [n]
func dtScanGate(y, dt, ssmState, u, z []float32, dtW matrix, dtLow, dtB, A, B, C, D []float32, lo, hi int) {
	dtProjSoftplus(dt, dtW, dtLow, dtB, lo, hi)
	scanSkipGate(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// outProj is phase out_proj: rows [lo, hi) of out_proj, accumulated
// straight into the residual stream,
//
//	h[i] += out_proj[i] · y   (learning: matVec, then addResidual)
//
// so the mixer's output never exists as a vector of its own.
// outW: [d][di]; y: [di]; h: [d]
func outProj(h []float32, outW matrix, y []float32, lo, hi int) {
	di := len(y)
	matVecAdd(h[lo:hi], outW.from(lo*di), di, y)
}

// head is phase head, rows [lo, hi) of the padded vocabulary, on
// normed = RMSNorm(h)·norm_f computed before (rmsNorm, learning: rmsNorm):
//
//	logits[v] = lm_head[v] · normed   (learning: matVec)
//
// normed: [d]; lmHead: [V][d]; logits: [V]
func head(logits, normed []float32, lmHead matrix, lo, hi int) {
	d := len(normed)
	matVec(logits[lo:hi], lmHead.from(lo*d), d, normed)
}

// rmsNorm: normed = h · g / sqrt(mean(h²) + eps), as learning's rmsNorm.
// Every worker computes it into its own buffer from the shared h before
// in_proj_conv and head: 768 floats are cheaper to normalise twice than to
// share behind a barrier.
// h, normed, g: [d]
func rmsNorm(normed, h, g []float32) {
	clearUpper()
	normed = normed[:len(h)]
	g = g[:len(h)]
	var ss float32
	for _, v := range h {
		ss += v * v
	}
	scale := 1 / float32(math.Sqrt(float64(ss/float32(len(h))+model.RMSEps)))
	for i, v := range h {
		normed[i] = v * scale * g[i]
	}
}

// convSiLU is the causal depthwise convolution of channels [lo, hi) in one
// pass per channel, its window kept in registers:
//
//	convState[c] = [convState[c][1], …, convState[c][k-1], x[c]]   (learning: shiftAndAppend)
//	u[c] = Σ_j convState[c][j] · w[c][j] + bias[c]                 (learning: depthwiseConv)
//	u[c] = SiLU(u[c])                                              (learning: silu)
//
// convState, w: [di][k]; x, bias, u: [di]
func convSiLU(u, convState, x, w, bias []float32, k, lo, hi int) {
	clearUpper()
	for c := lo; c < hi; c++ {
		win := convState[c*k : (c+1)*k : (c+1)*k]
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

// dtProjSoftplus computes the step sizes of channels [lo, hi):
//
//	dt[c] = dt_proj[c] · Δ_low            (learning: matVec)
//	dt[c] = softplus(dt[c] + bias[c])     (learning: addBias, softplus)
//
// dtW: [di][r]; dtLow: [r]; dt, bias: [di]
func dtProjSoftplus(dt []float32, dtW matrix, dtLow, bias []float32, lo, hi int) {
	r := len(dtLow)
	matVec(dt[lo:hi], dtW.from(lo*r), r, dtLow)
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

// scanSkipGateGeneric is the selective-scan step of channels [lo, hi)
// with its D skip and gate, in one pass per channel over its n states:
//
//	dA = exp(Δ·A[c][s]), dtU = Δ·u
//	h[c][s] = dA·h[c][s] + dtU·B[s]   (learning: selectiveScan)
//	y[c] = Σ_s C[s]·h[c][s]           (learning: selectiveScan)
//	y[c] += D[c]·u                    (learning: skipD)
//	y[c] *= SiLU(z[c])                (learning: gate)
//
// with u = u[c], Δ = dt[c]. learning computes Δ·B[s]·u as (Δ·B[s])·u; here
// Δ·u is computed once per channel, which can change the last bit. It has
// a vector version (kernels_simd.go).
// ssmState, A: [di][n]; u, dt, D, z, y: [di]; B, C: [n]
func scanSkipGateGeneric(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	clearUpper()
	n := len(B)
	C = C[:n]
	for c := lo; c < hi; c++ {
		h := ssmState[c*n : (c+1)*n : (c+1)*n]
		a := A[c*n : (c+1)*n : (c+1)*n]
		dtc, uc := dt[c], u[c]
		dtU := dtc * uc
		var yc float32
		for s := range h {
			dA := exp32(dtc * a[s])
			h[s] = dA*h[s] + dtU*B[s]
			yc += C[s] * h[s]
		}
		y[c] = (yc + D[c]*uc) * silu32(z[c])
	}
}
