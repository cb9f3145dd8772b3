package fused

import (
	"mamba.go/fused/internal/kernels"

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
func inProjConv(xz, u, normed []float32, inProj kernels.Matrix, convState, convW, convB []float32, k, lo, hi int) {
	d, di := len(normed), len(u)
	x, z := xz[:di], xz[di:]
	kernels.MatVec(x[lo:hi], inProj.From(lo*d), d, normed, false)
	kernels.MatVec(z[lo:hi], inProj.From((di+lo)*d), d, normed, false)
	convSiLU(u, convState, x, convW, convB, k, lo, hi)
}

// xProj is phase x_proj: rows [lo, hi) of x_proj, split by rows so that
// each worker streams one contiguous block:
//
//	xDBC[i] = x_proj[i] · u   (learning: matVec)
//
// xW: [r+2n][di]; u: [di]; xDBC: [r+2n]
func xProj(xDBC []float32, xW kernels.Matrix, u []float32, lo, hi int) {
	di := len(u)
	kernels.MatVec(xDBC[lo:hi], xW.From(lo*di), di, u, false)
}

// dtScanGate is phase dt_scan_gate for channels [lo, hi): the step sizes,
// then the whole selective-scan step of those channels.
//
//	dt[c] = softplus(dt_proj[c] · Δ_low + dt_bias[c])  (learning: matVec, addBias, softplus)
//	y[c]  = (scan(c) + D[c]·u[c]) · SiLU(z[c])         (learning: selectiveScan, skipD, gate)
//
// dtW: [di][r]; dtLow: [r]; dtB, dt, u, D, z, y: [di]; ssmState, A: [di][n]; B, C: [n]
func dtScanGate(y, dt, ssmState, u, z []float32, dtW kernels.Matrix, dtLow, dtB, A, B, C, D []float32, lo, hi int) {
	dtProjSoftplus(dt, dtW, dtLow, dtB, lo, hi)
	kernels.Scan(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// outProj is phase out_proj: rows [lo, hi) of out_proj, accumulated
// straight into the residual stream,
//
//	h[i] += out_proj[i] · y   (learning: matVec, then addResidual)
//
// so the mixer's output never exists as a vector of its own.
// outW: [d][di]; y: [di]; h: [d]
func outProj(h []float32, outW kernels.Matrix, y []float32, lo, hi int) {
	di := len(y)
	kernels.MatVec(h[lo:hi], outW.From(lo*di), di, y, true)
}

// head is phase head, rows [lo, hi) of the padded vocabulary, on
// normed = RMSNorm(h)·norm_f computed before (rmsNorm, learning: rmsNorm):
//
//	logits[v] = lm_head[v] · normed   (learning: matVec)
//
// normed: [d]; lmHead: [V][d]; logits: [V]
func head(logits, normed []float32, lmHead kernels.Matrix, lo, hi int) {
	d := len(normed)
	kernels.MatVec(logits[lo:hi], lmHead.From(lo*d), d, normed, false)
}

// rmsNorm: normed = h · g / sqrt(mean(h²) + eps), as learning's rmsNorm.
// Every worker computes it into its own buffer from the shared h before
// in_proj_conv and head: 768 floats are cheaper to normalise twice than to
// share behind a barrier.
// h, normed, g: [d]
func rmsNorm(normed, h, g []float32) {
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
		u[c] = kernels.SiLU32(sum)
	}
}

// dtProjSoftplus computes the step sizes of channels [lo, hi):
//
//	dt[c] = dt_proj[c] · Δ_low            (learning: matVec)
//	dt[c] = softplus(dt[c] + bias[c])     (learning: addBias, softplus)
//
// dtW: [di][r]; dtLow: [r]; dt, bias: [di]
func dtProjSoftplus(dt []float32, dtW kernels.Matrix, dtLow, bias []float32, lo, hi int) {
	r := len(dtLow)
	kernels.MatVec(dt[lo:hi], dtW.From(lo*r), r, dtLow, false)
	kernels.Softplus(dt[lo:hi], bias[lo:hi])
}
