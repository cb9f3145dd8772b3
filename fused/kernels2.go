package fused

import (
	"mamba.go/fused/internal/kernels"

	"math"

	"mamba.go/common/model"
)

// The Mamba-2 kernels, beside Mamba-1's in kernels.go: the phase functions
// inProjConv2, dtScanGate2 and groupNormOutProj (model.Ops2's in_proj_conv,
// dt_scan_gate and out_proj; the head is Mamba-1's head), each naming the
// learning functions it stands for (learning/ops2.go). Shapes as in
// mamba2.go.

// inProjRows2 are a worker's row ranges [lo, hi) of in_proj, as indices
// into zxbcdt: the z, x and Δ rows of its heads and its share of B and C.
type inProjRows2 struct{ z, x, bc, dt [2]int }

// inProjConv2 is phase in_proj_conv for one worker:
//
//	normed = RMSNorm(h) · norm                 (learning: rmsNorm)
//	zxbcdt[i] = in_proj[i] · normed, its rows  (learning: matVec)
//	xBC[c] = SiLU(conv1d(xBC)[c]), its x, B and C channels
//	                                           (learning: shiftAndAppend, depthwiseConv, silu)
//
// The conv channels of x are the worker's own heads' and those of B and C
// its share of them, so no worker needs another's rows before the barrier.
// inProj: [2di+2gn+h][d]; convState, convW: [cd][k]; convB, xBC: [cd]
func inProjConv2(zxbcdt, xBC, normed, h, norm []float32, inProj kernels.Matrix, convState, convW, convB []float32, c model.Config, r inProjRows2) {
	d, di, k := c.DModel, c.DInner, c.DConv
	rmsNorm(normed, h, norm)
	for _, rr := range [][2]int{r.z, r.x, r.bc, r.dt} {
		kernels.MatVec(zxbcdt[rr[0]:rr[1]], inProj.From(rr[0]*d), d, normed, false)
	}
	in := zxbcdt[di : di+c.ConvDim()] // the conv's input, x then B then C
	convSiLU(xBC, convState, in, convW, convB, k, r.x[0]-di, r.x[1]-di)
	convSiLU(xBC, convState, in, convW, convB, k, r.bc[0]-di, r.bc[1]-di)
}

// dtScanGate2 is phase dt_scan_gate for the heads [hlo, hhi):
//
//	dt[hd] = clamp(softplus(Δ[hd] + dt_bias[hd]), time_step_limit)
//	                                     (learning: addBias, softplus, clampTo)
//	y = scan + D·x, gated               (learning: headScan, skipDHeads, gate)
//
// With norm_before_gate the gate waits for group_norm; SiLU(z) of the
// heads' channels is computed here all the same, into z, so out_proj only
// multiplies.
// dtRaw, dtB, dt, A, D: [h]; x, z, y: [di]; ssmState: [h][p][n]; B, C: [g][n]
func dtScanGate2(y, dt, ssmState, x, z, dtRaw, dtB, A, B, C, D []float32, c model.Config, hlo, hhi int) {
	for hd := hlo; hd < hhi; hd++ {
		dt[hd] = min(max(kernels.Softplus32(dtRaw[hd]+dtB[hd]), c.DtMin), c.DtMax)
	}
	gate := !c.NormBeforeGate
	headScanSkipGate(y, ssmState, x, dt, A, B, C, D, z, c.HeadDim, c.HeadsPerGroup(), gate, hlo, hhi)
	if !gate {
		p := c.HeadDim
		for i := hlo * p; i < hhi*p; i++ {
			z[i] = kernels.SiLU32(z[i])
		}
	}
}

// headScanSkipGate is the scan step of the heads [hlo, hhi) with their D
// skip and (when gate) the gate:
//
//	dA = exp(Δ·A[hd])                              once per head
//	state[i][s] = dA·state[i][s] + (Δ·x[i])·B[s]   (learning: headScan)
//	y[i] = Σ_s C[s]·state[i][s] + D[hd]·x[i]       (learning: headScan, skipDHeads)
//	y[i] *= SiLU(z[i])                             (learning: gate)
//
// for the channels i of head hd, B and C its group's. The first two lines
// are the kernel set's headScan (headScanGeneric, or assembly), one pass
// over the head's p·n states, read and written in place; the skip and the
// gate, p values a head, stay here.
// ssmState: [h][p][n]; x, z, y: [h][p]; dt, A, D: [h]; B, C: [g][n]
func headScanSkipGate(y, ssmState, x, dt, A, B, C, D, z []float32, p, perGroup int, gate bool, hlo, hhi int) {
	n := len(ssmState) / len(y) // d_state
	for hd := hlo; hd < hhi; hd++ {
		gr := hd / perGroup
		lo, hi := hd*p, (hd+1)*p
		dA := kernels.Exp32(dt[hd] * A[hd])
		kernels.HeadScan(y[lo:hi], ssmState[lo*n:hi*n], x[lo:hi], B[gr*n:(gr+1)*n], C[gr*n:(gr+1)*n], dA, dt[hd])
		for i := lo; i < hi; i++ {
			y[i] += D[hd] * x[i]
			if gate {
				y[i] *= kernels.SiLU32(z[i])
			}
		}
	}
}

// groupNormOutProj is phase out_proj for the rows [lo, hi) of out_proj:
//
//	yn = group_norm(y, z)                            (groupNorm)
//	h[i] += out_proj[i] · yn                         (learning: matVec, addResidual)
//
// Every worker normalises all of y into its own yn, as every worker
// normalises h for itself: d_inner values are cheaper to normalise P times
// than to share behind one more barrier.
// y, yn, zs: [di]; outW: [d][di]; h: [d]
func groupNormOutProj(h, yn, y, zs, g []float32, outW kernels.Matrix, c model.Config, lo, hi int) {
	groupNorm(yn, y, zs, g, c)
	di := len(y)
	kernels.MatVec(h[lo:hi], outW.From(lo*di), di, yn, true)
}

// groupNorm is out_proj's input, the gated RMSNorm of one token's y:
//
//	yn = RMSNorm(y) within each group · gated_norm   (learning: groupRMSNorm)
//	yn *= SiLU(z), with norm_before_gate             (learning: gate)
//
// zs holds SiLU(z) already (dtScanGate2 wrote it).
// y, yn, zs, g: [di]
func groupNorm(yn, y, zs, g []float32, c model.Config) {
	di := len(y)
	size := di / c.NGroups
	yn, g = yn[:di], g[:di]
	for gr := range c.NGroups {
		part := y[gr*size : (gr+1)*size]
		var ss float32
		for _, v := range part {
			ss += v * v
		}
		scale := 1 / float32(math.Sqrt(float64(ss/float32(size)+model.RMSEps)))
		for i, v := range part {
			yn[gr*size+i] = v * scale * g[gr*size+i]
		}
	}
	if c.NormBeforeGate {
		zs = zs[:di]
		for i := range yn {
			yn[i] *= zs[i]
		}
	}
}
