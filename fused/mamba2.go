package fused

import (
	"mamba.go/common/model"

	"mamba.go/fused/internal/kernels"
)

// Mamba-2 in fused (docs/mamba2-step.md): the same Mamba type, pool and
// barriers as Mamba-1 (mamba.go), with its own worker and kernels
// (kernels2.go). A Mamba-2 layer has three phases, not four: Δ, B and C
// come out of in_proj itself, so there is no x_proj phase, and the gated
// RMSNorm, which needs all of a group's y, opens out_proj.
//
// Shapes: d = d_model, di = d_inner = h·p, h = n_heads, p = head_dim,
// g = n_groups, n = d_state, k = d_conv, cd = di + 2·g·n, P = workers.
// Worker w owns the heads [hlo, hhi) of split(h, P, w), hence the channels
// [hlo·p, hhi·p) of z, x and y, and the SSM state of those heads: 64·128
// floats (32 KiB) a head in the real models, read and written once per
// token, in place, as one contiguous block per worker.

// buffers2 are the activations of one Mamba-2 step, shared by the workers
// as Mamba-1's buffers are.
type buffers2 struct {
	h      []float32   // [d]           the residual stream
	zxbcdt []float32   // [2di+2gn+h]   in_proj output: z (SiLU(z) once gated), x, B, C, Δ
	xBC    []float32   // [cd]          SiLU(conv1d(x, B, C))
	dt     []float32   // [h]           Δ
	y      []float32   // [di]          scan output, + D·x, gated
	logits []float32   // [V]
	normed [][]float32 // [P][d]        each worker's own RMSNorm(h)
	yn     [][]float32 // [P][di]       each worker's own group_norm(y), out_proj's input
}

func newBuffers2(c model.Config, nw int) buffers2 {
	b := buffers2{
		h:      make([]float32, c.DModel),
		zxbcdt: make([]float32, c.InProjRows()),
		xBC:    make([]float32, c.ConvDim()),
		dt:     make([]float32, c.NHeads),
		y:      make([]float32, c.DInner),
		logits: make([]float32, c.PaddedVocab()),
	}
	for range nw {
		b.normed = append(b.normed, make([]float32, c.DModel+16)[:c.DModel]) // +16: apart from the next worker's
		b.yn = append(b.yn, make([]float32, c.DInner+16)[:c.DInner])
	}
	return b
}

// worker2 is worker w's part of one Mamba-2 step. Per layer:
//
//	in_proj_conv  RMSNorm; the in_proj rows of its heads (z, x, Δ) and its
//	              share of the B and C rows; conv + SiLU of those channels
//	dt_scan_gate  Δ, scan, D skip and gate of its heads (needs all of B, C)
//	out_proj      group_norm of all of y into its own buffer, then its rows
//	              of out_proj, added into h (needs all of y)
//
// then the head, as Mamba-1's.
func (m *Mamba) worker2(w int) {
	c, b := m.c, &m.buf2
	normed, yn := b.normed[w], b.yn[w]
	d, di, gn, p := c.DModel, c.DInner, c.NGroups*c.DState, c.HeadDim
	hlo, hhi := split(c.NHeads, m.nw, w)        // my heads
	lo, hi := hlo*p, hhi*p                      // my channels of z, x and y
	blo, bhi := split(2*gn, m.nw, w)            // my rows of B and C
	dlo, dhi := split(d, m.nw, w)               // my rows of out_proj
	vlo, vhi := split(c.PaddedVocab(), m.nw, w) // my rows of the head
	rows := inProjRows2{z: [2]int{lo, hi}, x: [2]int{di + lo, di + hi}, bc: [2]int{2*di + blo, 2*di + bhi},
		dt: [2]int{2*di + 2*gn + hlo, 2*di + 2*gn + hhi}}
	z, dtRaw := b.zxbcdt[:di], b.zxbcdt[2*di+2*gn:]
	x, B, C := b.xBC[:di], b.xBC[di:di+gn], b.xBC[di+gn:]
	m.trace(w, -1, model.OpEmbedding, b.h)
	for l := range m.w.Layers {
		lw, lm := &m.w.Layers[l], &m.mats.Layers[l]
		convState := m.state.Conv[l*c.ConvStateLen() : (l+1)*c.ConvStateLen()] // [cd][k]
		ssmState := m.state.SSM[l*c.SSMStateLen() : (l+1)*c.SSMStateLen()]     // [h][p][n]

		inProjConv2(b.zxbcdt, b.xBC, normed, b.h, lw.Norm, lm.InProj, convState, lw.Conv1dWeight, lw.Conv1dBias, c, rows)
		// The block warmed while waiting is this worker's heads' SSM state,
		// which the scan streams next (a matrix only in name here).
		m.pool.sync(kernels.F32(ssmState[lo*c.DState : hi*c.DState]))
		m.trace(w, l, model.OpInProj, b.zxbcdt)
		m.trace(w, l, model.OpSiLU, b.xBC)

		dtScanGate2(b.y, b.dt, ssmState, x, z, dtRaw, lw.DtProjBias, lw.A, B, C, lw.D, c, hlo, hhi)
		m.pool.sync(lm.OutProj.Part(dlo*di, dhi*di))
		m.trace(w, l, model.OpDtLimit, b.dt)
		if c.NormBeforeGate {
			m.trace(w, l, model.OpSkipD, b.y)
		} else {
			m.trace(w, l, model.OpGate, b.y)
		}

		groupNormOutProj(b.h, yn, b.y, z, lw.GatedNorm, lm.OutProj, c, dlo, dhi)
		m.pool.sync(m.afterLayer(l, lo, hi, vlo, vhi))
		m.trace(w, l, model.OpResidual, b.h)
	}
	rmsNorm(normed, b.h, m.w.NormF)
	head(b.logits, normed, m.mats.LMHead, vlo, vhi)
	if m.tracer != nil {
		m.pool.sync(kernels.Matrix{})
		m.trace(w, -1, model.OpLMHead, b.logits)
	}
}
