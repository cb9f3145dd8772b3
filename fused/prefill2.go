package fused

import (
	"mamba.go/common/model"

	"mamba.go/fused/internal/kernels"
)

// Mamba-2's batched prompt, as Mamba-1's (prefill.go): promptChunk tokens
// at a time, in_proj and out_proj as matrix × matrix products over the
// chunk, the conv and the scan token after token with Forward's kernels
// (kernels2.go), the head only for the last token. Shapes as in mamba2.go;
// R = 2di+2gn+h, in_proj's rows.
//
// Per chunk of T tokens and per layer (worker2's three phases, and two
// barriers more, for the norms of the tokens):
//
//	norm          normed[t] = RMSNorm(h[t])·norm, tokens split between the workers
//	in_proj_conv  z[t] = my z rows of in_proj · normed[t] for all t (matMat);
//	              x[t], B[t], C[t] = my conv rows · normed[t] for all t (matMat),
//	              then conv + SiLU of those channels, t = 0 … T−1 in order;
//	              Δ[t] = my Δ rows · normed[t] for all t (matMat)
//	dt_scan_gate  for t = 0 … T−1: Δ, scan, D skip and gate of my heads
//	              (needs all of B and C)
//	group norm    yn[t] = group_norm(y[t], z[t]), tokens split (needs all of y)
//	out_proj      h[t] += my rows of out_proj · yn[t] for all t (matMat)
//
// and after the last layer of the last chunk, head for the last token.
//
// Rows, channels and heads are shared as Mamba-1's (shares2, claim.go): a
// static block each, then chunks claimed by whichever worker is free. Rows
// go in blocks that start at multiples of 4, the rows the products take at
// once, so that a row is summed by the same kernel whichever worker has
// it, and the results do not depend on the number of workers.

// shares2 are how the batched prompt's items are shared.
type shares2 struct {
	z       share // z rows of in_proj
	conv    share // x, B and C rows of in_proj and their conv channels
	dt      share // Δ rows of in_proj
	heads   share // heads of the scan
	outProj share // rows of out_proj
	head    share // rows of the head
}

// newShares2: a chunk of rows is about 100 KB of weights (d = 768:
// 32 rows, 96 KB in float32); one head's scan is p·n·T multiply-adds.
func newShares2(c model.Config) shares2 {
	return shares2{
		z:       share{n: c.DInner, align: 4, chunk: 32},
		conv:    share{n: c.ConvDim(), align: 4, chunk: 32},
		dt:      share{n: c.NHeads, align: 4, chunk: 8},
		heads:   share{n: c.NHeads, align: 1, chunk: 1},
		outProj: share{n: c.DModel, align: 4, chunk: 32},
		head:    share{n: c.PaddedVocab(), align: 4, chunk: 256},
	}
}

// claimsPerLayer2 are the phases of a layer that claim: z, conv, Δ, heads, out_proj.
const claimsPerLayer2 = 5

// promptBuffers2 hold a Mamba-2 chunk's activations, [T] of each of
// Forward's (buffers2).
type promptBuffers2 struct {
	nt     int            // tokens in the current chunk
	last   bool           // the prompt's last chunk: run the head
	h      []float32      // [T][d]
	normed []float32      // [T][d]
	zxbcdt []float32      // [T][R]   z (SiLU(z) once gated), x, B, C, Δ
	xBC    []float32      // [T][cd]  SiLU(conv1d(x, B, C))
	dt     []float32      // [T][h]   Δ
	y      []float32      // [T][di]  scan output, + D·x, gated
	yn     []float32      // [T][di]  group_norm(y), out_proj's input
	shares shares2        // how the rows, channels and heads are shared
	claims []claimCounter // [n_layers][claimsPerLayer2], then the head
	step   func(worker int)
}

// promptBuffers2 makes the chunk's buffers on first use.
func (m *Mamba) promptBuffers2() *promptBuffers2 {
	if m.prompt2 == nil {
		c, T := m.c, promptChunk
		m.prompt2 = &promptBuffers2{
			h:      make([]float32, T*c.DModel),
			normed: make([]float32, T*c.DModel),
			zxbcdt: make([]float32, T*c.InProjRows()),
			xBC:    make([]float32, T*c.ConvDim()),
			dt:     make([]float32, T*c.NHeads),
			y:      make([]float32, T*c.DInner),
			yn:     make([]float32, T*c.DInner),
			shares: newShares2(c),
			claims: make([]claimCounter, claimsPerLayer2*c.NLayers+1),
		}
		m.prompt2.step = m.promptWorker2
	}
	return m.prompt2
}

// forwardPrompt2 is ForwardPrompt for Mamba-2: chunk after chunk, the
// logits of the last token into buf2.logits.
func (m *Mamba) forwardPrompt2(tokens []int) {
	p := m.promptBuffers2()
	d := m.c.DModel
	for start := 0; start < len(tokens); start += promptChunk {
		chunk := tokens[start:min(start+promptChunk, len(tokens))]
		p.nt, p.last = len(chunk), start+len(chunk) == len(tokens)
		for t, tok := range chunk { // h[t] = embedding[token]
			kernels.Row(p.h[t*d:(t+1)*d], m.mats.Embedding, tok)
		}
		resetClaims(p.claims)
		m.pool.run(p.step)
	}
}

// promptWorker2 is worker w's part of one Mamba-2 chunk of the prompt.
func (m *Mamba) promptWorker2(w int) {
	c, p, P := m.c, m.prompt2, m.nw
	sh := &p.shares
	d, di, gn, nh, k := c.DModel, c.DInner, c.NGroups*c.DState, c.NHeads, c.DConv
	R, cd := c.InProjRows(), c.ConvDim()
	nt := p.nt
	tlo, thi := split(nt, P, w) // my tokens, for the norms
	for l := range m.w.Layers {
		lw, lm := &m.w.Layers[l], &m.mats.Layers[l]
		ctr := p.claims[claimsPerLayer2*l : claimsPerLayer2*(l+1)]
		convState := m.state.Conv[l*c.ConvStateLen() : (l+1)*c.ConvStateLen()] // [cd][k]
		ssmState := m.state.SSM[l*c.SSMStateLen() : (l+1)*c.SSMStateLen()]     // [h][p][n]

		// norm: normed[t] = RMSNorm(h[t])·norm for my tokens
		for t := tlo; t < thi; t++ {
			rmsNorm(p.normed[t*d:(t+1)*d], p.h[t*d:(t+1)*d], lw.Norm)
		}
		m.pool.sync(kernels.Matrix{})

		// in_proj_conv: my rows of in_proj for every token; the conv of my
		// x, B and C channels through the chunk in order, right after their
		// rows (the rows of channel i are in_proj's row di+i).
		each(w, P, sh.z, &ctr[0], func(lo, hi int) {
			kernels.MatMat(p.zxbcdt[lo:], R, lm.InProj.From(lo*d), d, p.normed, d, hi-lo, d, nt, false, m.unpacked[w])
		})
		each(w, P, sh.conv, &ctr[1], func(lo, hi int) {
			kernels.MatMat(p.zxbcdt[di+lo:], R, lm.InProj.From((di+lo)*d), d, p.normed, d, hi-lo, d, nt, false, m.unpacked[w])
			for t := range nt {
				in := p.zxbcdt[t*R+di : t*R+di+cd] // the conv's input, x then B then C
				convSiLU(p.xBC[t*cd:(t+1)*cd], convState, in, lw.Conv1dWeight, lw.Conv1dBias, k, lo, hi)
			}
		})
		each(w, P, sh.dt, &ctr[2], func(lo, hi int) {
			row := di + cd + lo // Δ's rows follow C's
			kernels.MatMat(p.zxbcdt[row:], R, lm.InProj.From(row*d), d, p.normed, d, hi-lo, d, nt, false, m.unpacked[w])
		})
		m.pool.sync(kernels.Matrix{})

		// dt_scan_gate: my heads, token after token
		each(w, P, sh.heads, &ctr[3], func(lo, hi int) {
			for t := range nt {
				zx, xBC := p.zxbcdt[t*R:(t+1)*R], p.xBC[t*cd:(t+1)*cd]
				z, dtRaw := zx[:di], zx[di+cd:]
				x, B, C := xBC[:di], xBC[di:di+gn], xBC[di+gn:]
				dtScanGate2(p.y[t*di:(t+1)*di], p.dt[t*nh:(t+1)*nh], ssmState, x, z, dtRaw,
					lw.DtProjBias, lw.A, B, C, lw.D, c, lo, hi)
			}
		})
		m.pool.sync(kernels.Matrix{})

		// group norm: yn[t] = group_norm(y[t], z[t]) for my tokens
		for t := tlo; t < thi; t++ {
			groupNorm(p.yn[t*di:(t+1)*di], p.y[t*di:(t+1)*di], p.zxbcdt[t*R:t*R+di], lw.GatedNorm, c)
		}
		m.pool.sync(kernels.Matrix{})

		// out_proj: h[t] += out_proj · yn[t], my rows
		each(w, P, sh.outProj, &ctr[4], func(lo, hi int) {
			kernels.MatMat(p.h[lo:], d, lm.OutProj.From(lo*di), di, p.yn, di, hi-lo, di, nt, true, m.unpacked[w])
		})
		m.pool.sync(kernels.Matrix{})
	}
	if !p.last {
		return
	}
	// head, for the last token only
	normed := m.buf2.normed[w]
	rmsNorm(normed, p.h[(nt-1)*d:nt*d], m.w.NormF)
	each(w, P, sh.head, &p.claims[claimsPerLayer2*len(m.w.Layers)], func(lo, hi int) {
		head(m.buf2.logits, normed, m.mats.LMHead, lo, hi)
	})
}
