package learning

import (
	"mamba.go/common/model"
)

// Mamba is the learning implementation of model.Mamba. It is not for
// concurrent use: a call made while another is in progress returns
// model.ErrConcurrentUse.
type Mamba struct {
	w      *model.Weights
	c      model.Config
	fp     uint64 // model.Fingerprint(w), for the states it returns
	guard  model.Guard
	state  *model.State
	buf    buffers      // Mamba-1's activations
	buf2   buffers2     // Mamba-2's (mamba2.go)
	tracer model.Tracer // nil: no tracing
	pos    int          // tokens fed since New or Reset, for the tracer
	closed bool
}

// buffers are the activations of one step, allocated once. Their names are
// the quantities of docs/mamba-step.md and of model.Ops.
type buffers struct {
	h      []float32 // [d]    the residual stream
	normed []float32 // [d]    RMSNorm(h) · norm, a layer's (or the head's) input
	xz     []float32 // [2·di] in_proj output: x then z
	u      []float32 // [di]   SiLU(conv1d(x)), the scan's input
	xDBC   []float32 // [r+2n] x_proj output: Δ_low, B, C
	dt     []float32 // [di]   Δ, one step size per channel
	y      []float32 // [di]   scan output, then + D·u, then gated
	out    []float32 // [d]    mixer output
	logits []float32 // [V]
}

// New returns a learning model over w, with an empty state.
func New(w *model.Weights) (*Mamba, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	c := w.Config
	if c.Arch == model.Mamba2 {
		return &Mamba{w: w, c: c, fp: model.Fingerprint(w), state: model.NewState(c), buf2: newBuffers2(c)}, nil
	}
	return &Mamba{
		w:     w,
		c:     c,
		fp:    model.Fingerprint(w),
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
	if err := m.guard.Enter(); err != nil {
		return nil, err
	}
	defer m.guard.Leave()
	if m.closed {
		return nil, model.ErrClosed
	}
	if err := model.CheckToken(m.c, token); err != nil {
		return nil, err
	}
	if m.c.Arch == model.Mamba2 {
		return m.forward2(token), nil
	}
	b := &m.buf

	m.embedding(b.h, token)
	// h = h + Mixer(RMSNorm(h) · norm), layer after layer
	for l := range m.w.Layers {
		m.layer(l)
	}
	m.head(b.logits, b.normed, b.h)

	m.pos++
	return b.logits, nil
}

// embedding starts a token's residual stream h [d] at its row of the
// embedding (Mamba-1 and Mamba-2 alike).
func (m *Mamba) embedding(h []float32, token int) {
	d := m.c.DModel
	// PyTorch: h = embedding[token]                                  [d]
	copy(h, m.w.Embedding[token*d:(token+1)*d])
	m.trace(-1, model.OpEmbedding, h)
}

// head turns the residual stream h [d] after the last layer into logits [V],
// through normed [d] (Mamba-1 and Mamba-2 alike).
func (m *Mamba) head(logits, normed, h []float32) {
	// ── head ──────────────────────────────────────────────────────────────
	// PyTorch: normed = rms_norm(h, norm_f)                           [d]
	rmsNorm(normed, h, m.w.NormF, model.RMSEps)
	m.trace(-1, model.OpNormF, normed)
	// PyTorch: logits = F.linear(normed, lm_head)                     [V]
	matVec(logits, m.w.LMHead, normed)
	m.trace(-1, model.OpLMHead, logits)
}

// layer is residual block l for one token, h = h + Mixer(RMSNorm(h)), in
// the four phases that fused and cuda share (docs/mamba-step.md). Above
// each op, the PyTorch statement it computes (compare/reference/mamba_ref.py).
func (m *Mamba) layer(l int) {
	c, b, lw := m.c, &m.buf, &m.w.Layers[l]
	di, n, k := c.DInner, c.DState, c.DConv
	convState := m.state.Conv[l*di*k : (l+1)*di*k] // [di][k]
	ssmState := m.state.SSM[l*di*n : (l+1)*di*n]   // [di][n]

	// ── in_proj_conv ──────────────────────────────────────────────────────
	// PyTorch: normed = rms_norm(h, norm)                             [d]
	rmsNorm(b.normed, b.h, lw.Norm, model.RMSEps)
	m.trace(l, model.OpNorm, b.normed)
	// PyTorch: xz = F.linear(normed, in_proj); x, z = xz[:di], xz[di:] [2di]
	matVec(b.xz, lw.InProj, b.normed)
	m.trace(l, model.OpInProj, b.xz)
	x, z := b.xz[:di], b.xz[di:]
	// PyTorch: conv_state.copy_(torch.roll(conv_state, -1, -1)); conv_state[:, -1] = x
	shiftAndAppend(convState, x, k)
	// PyTorch: u = (conv_state * conv_w).sum(-1) + conv_b            [di]
	depthwiseConv(b.u, convState, lw.Conv1dWeight, lw.Conv1dBias, k)
	m.trace(l, model.OpConv, b.u)
	// PyTorch: u = F.silu(u)                                          [di]
	silu(b.u)
	m.trace(l, model.OpSiLU, b.u)

	// ── x_proj ────────────────────────────────────────────────────────────
	// PyTorch: xDBC = F.linear(u, x_proj); dt_low, B, C = split(xDBC, [r, n, n])
	matVec(b.xDBC, lw.XProj, b.u)
	m.trace(l, model.OpXProj, b.xDBC)
	dtLow := b.xDBC[:c.DtRank]
	B := b.xDBC[c.DtRank : c.DtRank+n]
	C := b.xDBC[c.DtRank+n:]
	if c.Arch == model.FalconMamba {
		// PyTorch: dt_low, B, C = rms_forward(dt_low), rms_forward(B), rms_forward(C)  (eps: mixer_rms_eps)
		bcdtNorm(dtLow, B, C, c.MixerEps)
		m.trace(l, model.OpBCDtNorm, b.xDBC)
	}

	// ── dt_scan_gate ──────────────────────────────────────────────────────
	// PyTorch: dt = F.linear(dt_low, dt_proj_w, dt_proj_b)            [di]
	matVec(b.dt, lw.DtProjWeight, dtLow)
	addBias(b.dt, lw.DtProjBias)
	m.trace(l, model.OpDtProj, b.dt)
	// PyTorch: dt = F.softplus(dt)                                    [di]
	softplus(b.dt)
	m.trace(l, model.OpSoftplus, b.dt)
	// PyTorch: dA = exp(dt[:, None] * A); dB = dt[:, None] * B
	//          ssm_state = ssm_state * dA + u[:, None] * dB; y = ssm_state @ C
	selectiveScan(b.y, ssmState, b.u, b.dt, lw.A, B, C)
	m.trace(l, model.OpScan, b.y)
	// PyTorch: y = y + D * u                                          [di]
	skipD(b.y, lw.D, b.u)
	m.trace(l, model.OpSkipD, b.y)
	// PyTorch: y = y * F.silu(z)                                      [di]
	gate(b.y, z)
	m.trace(l, model.OpGate, b.y)

	// ── out_proj ──────────────────────────────────────────────────────────
	// PyTorch: out = F.linear(y, out_proj)                            [d]
	matVec(b.out, lw.OutProj, b.y)
	m.trace(l, model.OpOutProj, b.out)
	// PyTorch: h = h + out                                            [d]
	addResidual(b.h, b.out)
	m.trace(l, model.OpResidual, b.h)
}

// trace reports one op's result to the tracer, if there is one.
func (m *Mamba) trace(layer int, op model.Op, values []float32) {
	if m.tracer != nil {
		m.tracer.Trace(m.pos, layer, op, values)
	}
}

// SetTracer reports every op of the tokens that follow to t (nil: none).
func (m *Mamba) SetTracer(t model.Tracer) { m.tracer = t }

// Config is the shape of the loaded model.
func (m *Mamba) Config() model.Config { return m.c }

// State returns a copy of the recurrent state, with the weights'
// fingerprint.
func (m *Mamba) State() (*model.State, error) {
	if err := m.guard.Enter(); err != nil {
		return nil, err
	}
	defer m.guard.Leave()
	if m.closed {
		return nil, model.ErrClosed
	}
	s := m.state.Clone()
	s.Fingerprint = m.fp
	return s, nil
}

// SetState replaces the recurrent state with a copy of s.
func (m *Mamba) SetState(s *model.State) error {
	if err := m.guard.Enter(); err != nil {
		return err
	}
	defer m.guard.Leave()
	if m.closed {
		return model.ErrClosed
	}
	if err := s.CheckFor(m.c); err != nil {
		return err
	}
	if err := s.CheckFingerprint(m.fp); err != nil {
		return err
	}
	m.state = s.Clone()
	return nil
}

// Reset empties the state.
func (m *Mamba) Reset() error {
	if err := m.guard.Enter(); err != nil {
		return err
	}
	defer m.guard.Leave()
	if m.closed {
		return model.ErrClosed
	}
	m.state = model.NewState(m.c)
	m.pos = 0
	return nil
}

// Close marks the model closed; the weights belong to the caller.
func (m *Mamba) Close() error {
	if err := m.guard.Enter(); err != nil {
		return err
	}
	defer m.guard.Leave()
	m.closed = true
	return nil
}

var (
	_ model.Mamba     = (*Mamba)(nil)
	_ model.Traceable = (*Mamba)(nil)
)
