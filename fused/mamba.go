package fused

import (
	"errors"
	"fmt"
	"runtime"

	"mamba.go/common/model"
)

// Mamba is the fused implementation of model.Mamba. Its worker goroutines
// live until Close.
type Mamba struct {
	w     *model.Weights
	c     model.Config
	state *model.State
	pool  *pool
	nw    int  // number of workers, P
	token int  // the token of the step being run
	done  bool // closed
	step  func(worker int)
	buf   buffers
}

// buffers are the activations of one step, allocated once. The [di]
// vectors are shared, but each worker writes and reads only its own
// channels [lo, hi) of them; what crosses workers goes through the
// per-worker partial products and a barrier.
type buffers struct {
	x        []float32   // [di]      in_proj's x half
	z        []float32   // [di]      in_proj's gate half
	u        []float32   // [di]      SiLU(conv1d(x)), the scan's input
	dt       []float32   // [di]      Δ
	y        []float32   // [di]      scan output, gated
	xParts   [][]float32 // [P][r+2n] per-worker partial x_proj products
	outParts [][]float32 // [P][d]    per-worker partial out_proj products
	logits   []float32   // [V]
	own      []private   // [P]
}

// private is what each worker keeps to itself.
type private struct {
	h      []float32 // [d]    the residual stream (every worker holds the same copy)
	normed []float32 // [d]    RMSNorm(h)
	xDBC   []float32 // [r+2n] x_proj output: Δ_low, B, C
	_      [64]byte  // keep workers' headers on separate cache lines
}

// New returns a fused model over w with one worker per usable CPU
// (GOMAXPROCS) and an empty state.
func New(w *model.Weights) (*Mamba, error) {
	return NewWorkers(w, runtime.GOMAXPROCS(0))
}

// NewWorkers is New with n workers.
func NewWorkers(w *model.Weights, n int) (*Mamba, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("%d workers: want at least 1", n)
	}
	c := w.Config
	n = min(n, c.DInner) // every worker owns at least one channel
	m := &Mamba{w: w, c: c, state: model.NewState(c), nw: n}
	b := &m.buf
	b.x = make([]float32, c.DInner)
	b.z = make([]float32, c.DInner)
	b.u = make([]float32, c.DInner)
	b.dt = make([]float32, c.DInner)
	b.y = make([]float32, c.DInner)
	b.logits = make([]float32, c.PaddedVocab())
	for range n {
		b.xParts = append(b.xParts, make([]float32, c.XProjRows()))
		b.outParts = append(b.outParts, make([]float32, c.DModel))
		b.own = append(b.own, private{
			h:      make([]float32, c.DModel),
			normed: make([]float32, c.DModel),
			xDBC:   make([]float32, c.XProjRows()),
		})
	}
	m.step = m.worker
	m.pool = newPool(n)
	return m, nil
}

// Workers is the number of workers.
func (m *Mamba) Workers() int { return m.nw }

// Forward runs one token through the model: the recurrent step, on all workers.
func (m *Mamba) Forward(token int) ([]float32, error) {
	if m.done {
		return nil, errors.New("fused: Forward after Close")
	}
	if err := model.CheckToken(m.c, token); err != nil {
		return nil, err
	}
	m.token = token
	m.pool.run(m.step)
	return m.buf.logits, nil
}

// worker is worker w's part of one step. Per layer it has two phases,
// each ended by a barrier:
//
//	phase 1: h += Σ out parts; RMSNorm; in_proj rows of its channels (x and z);
//	         conv + SiLU of its channels; its columns of x_proj
//	phase 2: Σ x_proj parts; dt_proj + softplus, scan, D, gate of its
//	         channels; its columns of out_proj
//
// and after the last layer the head, split by vocabulary rows.
func (m *Mamba) worker(w int) {
	c, b, own := m.c, &m.buf, &m.buf.own[w]
	d, di, k, n, r := c.DModel, c.DInner, c.DConv, c.DState, c.DtRank
	lo, hi := split(di, m.nw, w)

	// h = embedding[token]  [d]
	copy(own.h, m.w.Embedding[m.token*d:(m.token+1)*d])
	var parts [][]float32 // no residual to add before the first block
	for l := range m.w.Layers {
		lw := &m.w.Layers[l]
		conv := m.state.Conv[l*di*k : (l+1)*di*k] // [di][k]
		ssm := m.state.SSM[l*di*n : (l+1)*di*n]   // [di][n]

		// Phase 1.
		residualRMSNorm(own.normed, own.h, parts, lw.Norm)
		parts = b.outParts
		// x, z = in_proj · normed, rows of channels [lo, hi) of each half
		matVec(b.x[lo:hi], lw.InProj[lo*d:], d, own.normed)
		matVec(b.z[lo:hi], lw.InProj[(di+lo)*d:], d, own.normed)
		convSiLU(b.u, conv, b.x, lw.Conv1dWeight, lw.Conv1dBias, k, lo, hi)
		xProjPartial(b.xParts[w], lw.XProj, b.u, lo, hi)
		m.pool.sync()

		// Phase 2.
		sumParts(own.xDBC, b.xParts)
		dtLow, B, C := own.xDBC[:r], own.xDBC[r:r+n], own.xDBC[r+n:]
		dtSoftplus(b.dt, lw.DtProjWeight, dtLow, lw.DtProjBias, lo, hi)
		scanGate(b.y, ssm, b.u, b.dt, lw.A, B, C, lw.D, b.z, lo, hi)
		outProjPartial(b.outParts[w], lw.OutProj, b.y, lo, hi)
		m.pool.sync()
	}
	// logits = lm_head · RMSNorm(h), rows [vlo, vhi) of the padded vocabulary
	residualRMSNorm(own.normed, own.h, parts, m.w.NormF)
	vlo, vhi := split(c.PaddedVocab(), m.nw, w)
	matVec(b.logits[vlo:vhi], m.w.LMHead[vlo*d:], d, own.normed)
}

// Config is the shape of the loaded model.
func (m *Mamba) Config() model.Config { return m.c }

// State returns a copy of the recurrent state.
func (m *Mamba) State() *model.State { return m.state.Clone() }

// SetState replaces the recurrent state with a copy of s.
func (m *Mamba) SetState(s *model.State) error {
	if err := s.CheckFor(m.c); err != nil {
		return err
	}
	copy(m.state.Conv, s.Conv)
	copy(m.state.SSM, s.SSM)
	return nil
}

// Reset empties the state.
func (m *Mamba) Reset() {
	clear(m.state.Conv)
	clear(m.state.SSM)
}

// Close stops the workers; the weights belong to the caller.
func (m *Mamba) Close() error {
	if !m.done {
		m.done = true
		m.pool.close()
	}
	return nil
}

var _ model.Mamba = (*Mamba)(nil)
