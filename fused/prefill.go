package fused

import (
	"mamba.go/fused/internal/kernels"

	"errors"

	"mamba.go/common/model"
)

// The batched prompt (prefill). Token by token, every prompt token streams
// every weight once: a 512-token prompt reads the 130m model 512 times.
// The prompt's tokens are all known, so ForwardPrompt takes them promptChunk
// at a time: the projections become matrix × matrix products, each weight
// row read once per chunk and multiplied by every token's vector while it
// is in cache, and the products turn from memory-bound to compute-bound.
// The conv and the scan stay sequential per channel, token after token,
// with the same kernels as Forward; the head runs only for the last token,
// whose logits are all the caller gets.
//
// Per chunk of T tokens and per layer (the phases of worker, one more
// barrier for the norm):
//
//	norm          normed[t] = RMSNorm(h[t])·norm, tokens split between the workers
//	in_proj_conv  x[t], z[t] = in_proj rows of my channels · normed[t] for all t (matMat),
//	              then conv + SiLU of my channels, t = 0 … T−1 in order
//	x_proj        my rows of x_proj · u[t] for all t (matMat)
//	dt_scan_gate  for t = 0 … T−1: dt_proj + softplus, scan, skip and gate of my channels
//	out_proj      h[t] += my rows of out_proj · y[t] for all t (matMat)
//
// and after the last layer of the last chunk, head for the last token.

// promptChunk is T, the tokens per chunk: a multiple of 3, the tokens that
// the assembly products take at once.
const promptChunk = 48

// promptBuffers hold a chunk's activations, [T] of each of Forward's.
type promptBuffers struct {
	nt     int       // tokens in the current chunk
	last   bool      // the prompt's last chunk: run the head
	h      []float32 // [T][d]
	normed []float32 // [T][d]
	xz     []float32 // [T][2·di]
	u      []float32 // [T][di]
	xDBC   []float32 // [T][r+2n]
	dt     []float32 // [T][di]
	y      []float32 // [T][di]
	step   func(worker int)
}

// ForwardPrompt feeds tokens as Forward would, one after another, and
// returns the logits after the last one (owned by the model, overwritten
// by the next call), batched in chunks of promptChunk tokens. The state
// it leaves and the logits agree with Forward's to rounding (the products
// sum in another order). Mamba-2's chunks run promptWorker2 (prefill2.go).
// With a tracer set it runs Forward token by token, so that the tracer
// sees every token's phases.
func (m *Mamba) ForwardPrompt(tokens []int) ([]float32, error) {
	if err := m.guard.Enter(); err != nil {
		return nil, err
	}
	defer m.guard.Leave()
	if m.done {
		return nil, model.ErrClosed
	}
	if len(tokens) == 0 {
		return nil, errors.New("fused: empty prompt")
	}
	for _, tok := range tokens {
		if err := model.CheckToken(m.c, tok); err != nil {
			return nil, err
		}
	}
	// With a tracer the prompt goes token by token, so that the trace sees
	// every token's ops.
	if m.tracer != nil {
		var logits []float32
		for _, tok := range tokens {
			var err error
			if logits, err = m.forward(tok); err != nil {
				return nil, err
			}
		}
		return logits, nil
	}
	if m.c.Arch == model.Mamba2 {
		m.forwardPrompt2(tokens) // prefill2.go
		m.pos += len(tokens)
		return m.buf2.logits, nil
	}
	p := m.promptBuffers()
	d := m.c.DModel
	for start := 0; start < len(tokens); start += promptChunk {
		chunk := tokens[start:min(start+promptChunk, len(tokens))]
		p.nt, p.last = len(chunk), start+len(chunk) == len(tokens)
		for t, tok := range chunk { // h[t] = embedding[token]
			kernels.Row(p.h[t*d:(t+1)*d], m.mats.Embedding, tok)
		}
		resetClaims(m.claims)
		m.pool.run(p.step)
	}
	m.pos += len(tokens)
	return m.buf.logits, nil
}

// promptBuffers makes the chunk's buffers on first use.
func (m *Mamba) promptBuffers() *promptBuffers {
	if m.prompt == nil {
		c, T := m.c, promptChunk
		m.prompt = &promptBuffers{
			h:      make([]float32, T*c.DModel),
			normed: make([]float32, T*c.DModel),
			xz:     make([]float32, T*2*c.DInner),
			u:      make([]float32, T*c.DInner),
			xDBC:   make([]float32, T*c.XProjRows()),
			dt:     make([]float32, T*c.DInner),
			y:      make([]float32, T*c.DInner),
		}
		m.prompt.step = m.promptWorker
	}
	return m.prompt
}

// promptWorker is worker w's part of one chunk of the prompt.
func (m *Mamba) promptWorker(w int) {
	c, p, sh, P := m.c, m.prompt, &m.shares, m.nw
	d, di, k, n, r := c.DModel, c.DInner, c.DConv, c.DState, c.DtRank
	R := c.XProjRows()
	nt := p.nt
	for l := range m.w.Layers {
		lw, lm := &m.w.Layers[l], &m.mats.Layers[l]
		ctr := m.claims[4*l : 4*l+4]
		convState := m.state.Conv[l*di*k : (l+1)*di*k] // [di][k]
		ssmState := m.state.SSM[l*di*n : (l+1)*di*n]   // [di][n]

		// norm: normed[t] = RMSNorm(h[t])·norm for my tokens
		tlo, thi := split(nt, P, w)
		for t := tlo; t < thi; t++ {
			rmsNorm(p.normed[t*d:(t+1)*d], p.h[t*d:(t+1)*d], lw.Norm)
		}
		m.pool.sync(kernels.Matrix{})

		// in_proj_conv: x[t][c] and z[t][c] of my channels for every t, then
		// the conv of those channels through the chunk in order.
		each(w, P, sh.channels, &ctr[0], func(lo, hi int) {
			kernels.MatMat(p.xz[lo:], 2*di, lm.InProj.From(lo*d), d, p.normed, d, hi-lo, d, nt, false, m.unpacked[w])
			kernels.MatMat(p.xz[di+lo:], 2*di, lm.InProj.From((di+lo)*d), d, p.normed, d, hi-lo, d, nt, false, m.unpacked[w])
			for t := range nt {
				x := p.xz[t*2*di : t*2*di+di]
				convSiLU(p.u[t*di:(t+1)*di], convState, x, lw.Conv1dWeight, lw.Conv1dBias, k, lo, hi)
			}
		})
		m.pool.sync(kernels.Matrix{})

		// x_proj: xDBC[t] = x_proj · u[t], my rows
		each(w, P, sh.xProj, &ctr[1], func(lo, hi int) {
			kernels.MatMat(p.xDBC[lo:], R, lm.XProj.From(lo*di), di, p.u, di, hi-lo, di, nt, false, m.unpacked[w])
		})
		m.pool.sync(kernels.Matrix{})

		// Falcon-Mamba: the norms of Δ_low, B and C of my tokens, in place
		// (falcon.go's bcdtNorm)
		if c.Arch == model.FalconMamba {
			for t := tlo; t < thi; t++ {
				x := p.xDBC[t*R : (t+1)*R]
				bcdtNorm(x, x, r, n, c.MixerEps)
			}
			m.pool.sync(kernels.Matrix{})
		}

		// dt_scan_gate: my channels, token after token
		each(w, P, sh.scan, &ctr[2], func(lo, hi int) {
			for t := range nt {
				xDBC := p.xDBC[t*R : (t+1)*R]
				dtLow, B, C := xDBC[:r], xDBC[r:r+n], xDBC[r+n:]
				z := p.xz[t*2*di+di : (t+1)*2*di]
				dtScanGate(p.y[t*di:(t+1)*di], p.dt[t*di:(t+1)*di], ssmState, p.u[t*di:(t+1)*di], z,
					lm.DtProj, dtLow, lw.DtProjBias, lw.A, B, C, lw.D, lo, hi)
			}
		})
		m.pool.sync(kernels.Matrix{})

		// out_proj: h[t] += out_proj · y[t], my rows
		each(w, P, sh.outProj, &ctr[3], func(lo, hi int) {
			kernels.MatMat(p.h[lo:], d, lm.OutProj.From(lo*di), di, p.y, di, hi-lo, di, nt, true, m.unpacked[w])
		})
		m.pool.sync(kernels.Matrix{})
	}
	if !p.last {
		return
	}
	// head, for the last token only
	normed := m.buf.normed[w]
	rmsNorm(normed, p.h[(nt-1)*d:nt*d], m.w.NormF)
	each(w, P, sh.head, &m.claims[4*len(m.w.Layers)], func(lo, hi int) { head(m.buf.logits, normed, m.mats.LMHead, lo, hi) })
}
