package learning

import "mamba.go/common/model"

// Mamba-2's step (docs/mamba2-step.md), beside Mamba-1's in mamba.go. The
// same Mamba type runs it when the weights are Mamba-2's: New allocates
// buffers2 instead of buffers and Forward calls forward2. The residual
// stream, the head, the state handling and the tracer are Mamba-1's.
//
// Shapes: d = d_model, di = d_inner = h·p, h = n_heads, p = head_dim,
// g = n_groups, n = d_state, k = d_conv, cd = di + 2·g·n (conv_dim),
// V = padded vocabulary.

// buffers2 are the activations of one Mamba-2 step, allocated once. Their
// names are the quantities of model.Ops2.
type buffers2 struct {
	h      []float32 // [d]            the residual stream
	normed []float32 // [d]            RMSNorm(h) · norm, a layer's (or the head's) input
	zxbcdt []float32 // [2di+2gn+h]    in_proj output: z, then x, B, C (through the conv), then Δ
	xBC    []float32 // [cd]           SiLU(conv1d(x, B, C)): x (the scan's input), B, C
	dt     []float32 // [h]            Δ, one step size per head
	y      []float32 // [di]           scan output, then + D·x, gated and normed
	out    []float32 // [d]            mixer output
	logits []float32 // [V]
}

func newBuffers2(c model.Config) buffers2 {
	return buffers2{
		h:      make([]float32, c.DModel),
		normed: make([]float32, c.DModel),
		zxbcdt: make([]float32, c.InProjRows()),
		xBC:    make([]float32, c.ConvDim()),
		dt:     make([]float32, c.NHeads),
		y:      make([]float32, c.DInner),
		out:    make([]float32, c.DModel),
		logits: make([]float32, c.PaddedVocab()),
	}
}

// forward2 runs one token through a Mamba-2 model.
func (m *Mamba) forward2(token int) []float32 {
	b := &m.buf2

	m.embedding(b.h, token) // mamba.go, as Mamba-1's
	// h = h + Mixer2(RMSNorm(h) · norm), layer after layer
	for l := range m.w.Layers {
		m.layer2(l)
	}
	m.head(b.logits, b.normed, b.h) // mamba.go, as Mamba-1's

	m.pos++
	return b.logits
}

// layer2 is Mamba-2 residual block l for one token, h = h + Mixer(RMSNorm(h)),
// under the headings of its three phases (model.Ops2). Above each op, the
// PyTorch statement it computes (compare/reference/mamba2_ref.py).
func (m *Mamba) layer2(l int) {
	c, b, lw := m.c, &m.buf2, &m.w.Layers[l]
	di, gn, k := c.DInner, c.NGroups*c.DState, c.DConv
	convState := m.state.Conv[l*c.ConvStateLen() : (l+1)*c.ConvStateLen()] // [cd][k]
	ssmState := m.state.SSM[l*c.SSMStateLen() : (l+1)*c.SSMStateLen()]     // [h][p][n]

	// ── in_proj_conv ──────────────────────────────────────────────────────
	// PyTorch: normed = rms_norm(h, norm)                             [d]
	rmsNorm(b.normed, b.h, lw.Norm, model.RMSEps)
	m.trace(l, model.OpNorm, b.normed)
	// PyTorch: zxbcdt = F.linear(normed, in_proj)                     [2di+2gn+h]
	//          z, xBC, dt = split(zxbcdt, [di, di+2gn, h])
	matVec(b.zxbcdt, lw.InProj, b.normed)
	m.trace(l, model.OpInProj, b.zxbcdt)
	z, xBC, dt := b.zxbcdt[:di], b.zxbcdt[di:2*di+2*gn], b.zxbcdt[2*di+2*gn:]
	// PyTorch: conv_state.copy_(torch.roll(conv_state, -1, -1)); conv_state[:, -1] = xBC
	shiftAndAppend(convState, xBC, k)
	// PyTorch: xBC = (conv_state * conv_w).sum(-1) + conv_b          [cd]
	depthwiseConv(b.xBC, convState, lw.Conv1dWeight, lw.Conv1dBias, k)
	m.trace(l, model.OpConv, b.xBC)
	// PyTorch: xBC = F.silu(xBC); x, B, C = split(xBC, [di, gn, gn])  [cd]
	silu(b.xBC)
	m.trace(l, model.OpSiLU, b.xBC)
	x, B, C := b.xBC[:di], b.xBC[di:di+gn], b.xBC[di+gn:]

	// ── dt_scan_gate ──────────────────────────────────────────────────────
	// PyTorch: dt = dt + dt_bias                                      [h]
	copy(b.dt, dt)
	addBias(b.dt, lw.DtProjBias)
	m.trace(l, model.OpDtBias, b.dt)
	// PyTorch: dt = F.softplus(dt)                                    [h]
	softplus(b.dt)
	m.trace(l, model.OpSoftplus, b.dt)
	// PyTorch: dt = dt.clamp(*time_step_limit)                        [h]
	clampTo(b.dt, c.DtMin, c.DtMax)
	m.trace(l, model.OpDtLimit, b.dt)
	// PyTorch: dA = exp(dt * A)                                       [h]
	//          ssm_state = ssm_state * dA[:, None, None] + (dt[:, None] * B[group])[:, None, :] * x[:, :, None]
	//          y = (ssm_state * C[group][:, None, :]).sum(-1)         [h, p]
	headScan(b.y, ssmState, x, b.dt, lw.A, B, C, c.HeadDim, c.NGroups)
	m.trace(l, model.OpScan, b.y)
	// PyTorch: y = y + D[:, None] * x                                 [h, p]
	skipDHeads(b.y, lw.D, x, c.HeadDim)
	m.trace(l, model.OpSkipD, b.y)
	if !c.NormBeforeGate {
		// PyTorch: y = y * F.silu(z)                                  [di]
		gate(b.y, z)
		m.trace(l, model.OpGate, b.y)
	}

	// ── out_proj ──────────────────────────────────────────────────────────
	// PyTorch: y = rms_norm(y.view(g, di // g), 1) .view(di) * gated_norm  [di]
	groupRMSNorm(b.y, lw.GatedNorm, c.NGroups, model.RMSEps)
	m.trace(l, model.OpGroupNorm, b.y)
	if c.NormBeforeGate {
		// PyTorch: y = y * F.silu(z)                                  [di]
		gate(b.y, z)
		m.trace(l, model.OpGate, b.y)
	}
	// PyTorch: out = F.linear(y, out_proj)                            [d]
	matVec(b.out, lw.OutProj, b.y)
	m.trace(l, model.OpOutProj, b.out)
	// PyTorch: h = h + out                                            [d]
	addResidual(b.h, b.out)
	m.trace(l, model.OpResidual, b.h)
}
