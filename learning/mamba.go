package learning

import (
	"mamba.go/common/model"
)

// rmsEps is the epsilon of every RMSNorm in Mamba.
const rmsEps = 1e-5

// Mamba is the learning implementation of model.Mamba.
type Mamba struct {
	w     *model.Weights
	c     model.Config
	state *model.State
	buf   buffers
}

// buffers are the activations of one step, allocated once.
type buffers struct {
	h      []float32 // [d]    the residual stream
	normed []float32 // [d]    RMSNorm(h)
	xz     []float32 // [2·di] in_proj output: x then z
	u      []float32 // [di]   SiLU(conv1d(x)), the scan's input
	xDBC   []float32 // [r+2n] x_proj output: Δ_low, B, C
	dt     []float32 // [di]   Δ, one step size per channel
	y      []float32 // [di]   scan output
	out    []float32 // [d]    mixer output
	logits []float32 // [V]
}

// New returns a learning model over w, with an empty state.
func New(w *model.Weights) (*Mamba, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	c := w.Config
	return &Mamba{
		w:     w,
		c:     c,
		state: model.NewState(c),
		buf: buffers{
			h:      make([]float32, c.DModel),
			normed: make([]float32, c.DModel),
			xz:     make([]float32, 2*c.DInner),
			u:      make([]float32, c.DInner),
			xDBC:   make([]float32, c.XProjRows()),
			dt:     make([]float32, c.DInner),
			y:      make([]float32, c.DInner),
			out:    make([]float32, c.DModel),
			logits: make([]float32, c.PaddedVocab()),
		},
	}, nil
}

// Forward runs one token through the model: the recurrent step.
func (m *Mamba) Forward(token int) ([]float32, error) {
	if err := model.CheckToken(m.c, token); err != nil {
		return nil, err
	}
	c, b := m.c, &m.buf
	// h = embedding[token]  [d]
	copy(b.h, m.w.Embedding[token*c.DModel:(token+1)*c.DModel])
	for l := range m.w.Layers {
		// h = h + Mixer(RMSNorm(h))
		rmsNorm(b.normed, b.h, m.w.Layers[l].Norm, rmsEps)
		m.mixer(l, b.out, b.normed)
		addResidual(b.h, b.out)
	}
	// logits = lm_head · RMSNorm(h)  [V]
	rmsNorm(b.normed, b.h, m.w.NormF, rmsEps)
	matVec(b.logits, m.w.LMHead, b.normed)
	return b.logits, nil
}

// mixer is one Mamba block's mixer for one token: out = Mixer(in), [d] → [d].
func (m *Mamba) mixer(l int, out, in []float32) {
	c, b, lw := m.c, &m.buf, &m.w.Layers[l]
	di, n, k := c.DInner, c.DState, c.DConv
	conv := m.state.Conv[l*di*k : (l+1)*di*k] // [di][k]
	ssm := m.state.SSM[l*di*n : (l+1)*di*n]   // [di][n]

	// xz = in_proj · in; x, z = xz[:di], xz[di:]
	matVec(b.xz, lw.InProj, in)
	x, z := b.xz[:di], b.xz[di:]

	// u = SiLU(conv1d(x)): the causal conv sees this token and the k−1 before it.
	shiftAndAppend(conv, x, k)
	depthwiseConv(b.u, conv, lw.Conv1dWeight, lw.Conv1dBias, k)
	silu(b.u)
	u := b.u

	// Δ_low, B, C = x_proj · u
	matVec(b.xDBC, lw.XProj, u)
	dtLow := b.xDBC[:c.DtRank]
	B := b.xDBC[c.DtRank : c.DtRank+n]
	C := b.xDBC[c.DtRank+n:]

	// Δ = softplus(dt_proj · Δ_low + dt_bias)
	matVec(b.dt, lw.DtProjWeight, dtLow)
	addBias(b.dt, lw.DtProjBias)
	softplus(b.dt)

	// y = C · h after h = exp(Δ·A)·h + Δ·B·u; then the D skip and the gate.
	selectiveScan(b.y, ssm, u, b.dt, lw.A, B, C)
	skipD(b.y, lw.D, u)
	gate(b.y, z)

	// out = out_proj · y
	matVec(out, lw.OutProj, b.y)
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
	m.state = s.Clone()
	return nil
}

// Reset empties the state.
func (m *Mamba) Reset() { m.state = model.NewState(m.c) }

// Close does nothing: the weights belong to the caller.
func (m *Mamba) Close() error { return nil }

var _ model.Mamba = (*Mamba)(nil)
