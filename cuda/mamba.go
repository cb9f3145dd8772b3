//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"mamba.go/common/model"
	"mamba.go/common/sample"
)

// Mamba is the CUDA implementation of model.Mamba. The weights and the
// recurrent state live on the GPU; Forward copies the logits back,
// ForwardArgmax and ForwardSample only the chosen token, Feed nothing. Each
// step is one CUDA graph launch (or, with SetGraphs(false) or a tracer
// set, its kernels launched one by one). It is not for concurrent use: a
// call made while another is in progress returns model.ErrConcurrentUse.
type Mamba struct {
	c      model.Config
	fp     uint64      // model.Fingerprint of the weights, for the states it returns
	guard  model.Guard // taken by bind
	s      configShape
	dev    *device
	plan   plan
	run    launcher
	k      kernels
	wmem   cu.DevicePtr // the weights, laid out by planWeights
	work   cu.DevicePtr // activations and state, laid out by planWork
	ctlMem cu.DevicePtr // step_control and the head's and sampler's scratch, by controlLayout
	w      devWeights
	a      devWork
	ctl    devControl
	stream cu.Stream        // every kernel runs on it; graphs are captured from it
	graphs [numModes]*graph // the step of each head mode, captured on first use
	plain  bool             // launch kernel by kernel: SetGraphs(false), MAMBA_CUDA_GRAPHS=0
	onDev  stepControl      // what step_control holds on the device (token −1: unknown)
	host   []float32        // [V] logits copied back by Forward
	best   [1]int32         // the token copied back by ForwardArgmax and ForwardSample
	tracer model.Tracer     // nil: no tracing
	pos    int              // tokens fed since New or Reset, for the tracer
	traced []float32        // the tracer's copy of a device buffer
}

// kernels are the loaded kernel functions, by what they compute: each
// phase of model.Ops is one launch of one of them.
type kernels struct {
	inProjConv kernel // phase in_proj_conv
	matVec     kernel // phases x_proj and out_proj (matvec_v2)
	bcdtNorm   kernel // Falcon-Mamba: the end of phase x_proj
	dtScanGate kernel // phase dt_scan_gate
	head       kernel // phase head, with greedy decoding's argmax fused in
	sample     kernel // sampled decoding on the device
}

// headMode is what a step does after its layers: each is its own launch
// sequence, and its own graph.
type headMode int

const (
	modeFeed   headMode = iota // nothing: a prompt token whose logits nobody reads
	modeLogits                 // the head: logits
	modeArgmax                 // the head and its argmax, written to step_control's token
	modeSample                 // the head and the sampler, which writes step_control's token
	numModes
)

// devControl are the device addresses of the control block (control.go).
type devControl struct {
	ctl, partV, partI, done, probs cu.DevicePtr
}

// devLayer, devWeights and devWork are the device addresses of one
// layer's weights, of every weight, and of the activations and the state:
// layout.go's tables of offsets, each offset added to its allocation.
type (
	devLayer   = layerTensors[cu.DevicePtr]
	devWeights = weightTensors[cu.DevicePtr]
	devWork    = workTensors[cu.DevicePtr]
)

// New creates a CUDA context on GPU 0, compiles the kernels for it, copies
// the weights to it and starts from the empty state. Close releases it all.
func New(w *model.Weights) (*Mamba, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	c := w.Config
	if err := checkShape(c); err != nil {
		return nil, err
	}
	if err := checkStaging(shapeOf(c)); err != nil {
		return nil, err
	}
	runtime.LockOSThread() // the new context is current on this thread only
	defer runtime.UnlockOSThread()
	dev, err := openDevice()
	if err != nil {
		return nil, err
	}
	m := &Mamba{c: c, fp: model.Fingerprint(w), s: shapeOf(c), dev: dev, host: make([]float32, c.PaddedVocab()),
		onDev: stepControl{token: -1}, plain: os.Getenv(GraphsEnv) == "0"}
	m.k = kernels{
		inProjConv: dev.kernels["in_proj_conv"],
		matVec:     dev.kernels["matvec_v2"],
		bcdtNorm:   dev.kernels["bcdt_norm"],
		dtScanGate: dev.kernels["dt_scan_gate"],
		head:       dev.kernels["head"],
		sample:     dev.kernels["sample"],
	}
	o := occupancy{sms: dev.sms}
	if o.inProjConv, err = dev.residentBlocks("in_proj_conv", threads, 4*m.s.d); err == nil {
		if o.matVec, err = dev.residentBlocks("matvec_v2", threads, 4*m.s.di); err == nil {
			o.head, err = dev.residentBlocks("head", threads, 4*m.s.d)
		}
	}
	m.plan = makePlan(m.s, o)
	if err == nil {
		m.stream, err = newStream()
		m.run.stream = m.stream
	}
	if err == nil {
		err = m.upload(w)
	}
	if err == nil {
		err = m.allocWork()
	}
	if err == nil {
		err = m.zeroState()
	}
	if err != nil {
		m.release()
		return nil, err
	}
	return m, nil
}

// upload copies every weight to one device allocation.
func (m *Mamba) upload(w *model.Weights) error {
	lay, err := planWeights(w)
	if err != nil {
		return err
	}
	if m.wmem, err = cu.MemAlloc(lay.size); err != nil {
		return fmt.Errorf("cuda: %s: allocating %.2f GiB for the weights: %w", m.dev.name, float64(lay.size)/(1<<30), err)
	}
	for _, t := range lay.tensors {
		if err := cu.MemcpyHtoD(m.wmem+cu.DevicePtr(t.off), unsafe.Pointer(&t.data[0]), 4*int64(len(t.data))); err != nil {
			return fmt.Errorf("cuda: copying %s to the device: %w", t.name, err)
		}
	}
	m.w = mapWeights(lay.off, func(off int64) cu.DevicePtr { return m.wmem + cu.DevicePtr(off) })
	return nil
}

// allocWork allocates the activations and the state.
func (m *Mamba) allocWork() error {
	_, size := planWork(m.c, offset)
	var err error
	if m.work, err = cu.MemAlloc(size); err != nil {
		return fmt.Errorf("cuda: %s: allocating %d bytes for activations and state: %w", m.dev.name, size, err)
	}
	m.a, _ = planWork(m.c, func(off int64) cu.DevicePtr { return m.work + cu.DevicePtr(off) })

	cl := planControl(m.plan.head.blocks, m.s.vocab)
	if m.ctlMem, err = cu.MemAlloc(cl.size); err != nil {
		return fmt.Errorf("cuda: %s: allocating %d bytes for the control block: %w", m.dev.name, cl.size, err)
	}
	ct := func(off int64) cu.DevicePtr { return m.ctlMem + cu.DevicePtr(off) }
	m.ctl = devControl{ctl: ct(cl.ctl), partV: ct(cl.partV), partI: ct(cl.partI), done: ct(cl.done), probs: ct(cl.probs)}
	// head's argmax counts finished blocks from 0, and leaves 0 behind.
	if err := cu.MemsetD32(m.ctl.done, 0, 1); err != nil {
		return fmt.Errorf("cuda: clearing the control block: %w", err)
	}
	return nil
}

// GraphsEnv names the environment variable that, set to 0, makes new
// models launch their kernels one by one instead of replaying CUDA graphs
// (as SetGraphs(false) does).
const GraphsEnv = "MAMBA_CUDA_GRAPHS"

// step puts token's step on the stream, leaving the logits (modeLogits and
// after) and the next token (modeArgmax, modeSample) on the device: for each
// layer one launch per phase of model.Ops — in_proj_conv, x_proj,
// dt_scan_gate, out_proj — and for Falcon-Mamba bcdt_norm after x_proj,
// then, but for modeFeed, the head, and for modeSample the sampler. The token is step_control's: the host writes it
// there (run), or the previous step's argmax or sampler did. With a tracer
// set, each phase's result is copied back and reported after its launch.
// It is the sequence that a graph captures, so it must not synchronise
// with the host when no tracer is set.
func (m *Mamba) step(mode headMode) error {
	s, p, k, r := &m.s, &m.plan, &m.k, &m.run
	for l := range m.w.layers {
		lw := &m.w.layers[l]
		convState := m.a.conv + cu.DevicePtr(4*l*s.di*s.k)
		ssmState := m.a.ssm + cu.DevicePtr(4*l*s.di*s.n)

		// in_proj_conv: u, z = SiLU(conv1d(in_proj · RMSNorm(h))); layer 0
		// reads h from the token's embedding row and copies it into h.
		embedding := cu.DevicePtr(0)
		if l == 0 {
			embedding = m.w.embedding
		}
		r.launch(k.inProjConv, p.inProjConv.blocks, threads, 4*s.d,
			argPtr(m.a.u), argPtr(m.a.z), argPtr(convState), argPtr(lw.inProj), argPtr(lw.convW), argPtr(lw.convB),
			argPtr(lw.norm), argPtr(m.a.h), argPtr(embedding), argPtr(m.ctl.ctl), argInt(s.d), argInt(s.di),
			argInt(s.k), argInt(p.inProjConv.wpr), argFloat(model.RMSEps))
		if l == 0 {
			m.trace(-1, model.OpEmbedding, m.a.h, s.d)
		}
		m.trace(l, model.OpSiLU, m.a.u, s.di)

		// x_proj: xDBC = Δ_low, B, C = x_proj · u
		r.launch(k.matVec, p.xProj.blocks, threads, 4*s.di,
			argPtr(m.a.xDBC), argPtr(lw.xProj), argPtr(m.a.u), argInt(s.r+2*s.n), argInt(s.di),
			argInt(p.xProj.wpr), argInt(0))
		m.trace(l, model.OpXProj, m.a.xDBC, s.r+2*s.n)

		// Falcon-Mamba: Δ_low, B, C = each / sqrt(mean(each²) + ε), in place
		if m.c.Arch == model.FalconMamba {
			r.launch(k.bcdtNorm, 1, threads, 0,
				argPtr(m.a.xDBC), argInt(s.r), argInt(s.n), argFloat(m.c.MixerEps))
			m.trace(l, model.OpBCDtNorm, m.a.xDBC, s.r+2*s.n)
		}

		// dt_scan_gate: y = (scan(Δ, B, C, u) + D·u) · SiLU(z)
		r.launch(k.dtScanGate, p.dtScanGate, threads, 0,
			argPtr(m.a.y), argPtr(ssmState), argPtr(m.a.u), argPtr(m.a.z), argPtr(m.a.xDBC), argPtr(lw.dtW),
			argPtr(lw.dtB), argPtr(lw.A), argPtr(lw.D), argInt(s.di), argInt(s.r), argInt(s.n))
		m.trace(l, model.OpGate, m.a.y, s.di)

		// out_proj: h += out_proj · y
		r.launch(k.matVec, p.outProj.blocks, threads, 4*s.di,
			argPtr(m.a.h), argPtr(lw.outProj), argPtr(m.a.y), argInt(s.d), argInt(s.di),
			argInt(p.outProj.wpr), argInt(1))
		m.trace(l, model.OpResidual, m.a.h, s.d)
	}
	if mode == modeFeed {
		return r.take()
	}
	// head: logits = lm_head · RMSNorm(h), and for greedy decoding the
	// argmax, written as the next step's token.
	best := cu.DevicePtr(0)
	if mode == modeArgmax {
		best = m.ctl.ctl // step_control's token
	}
	r.launch(k.head, p.head.blocks, threads, 4*s.d,
		argPtr(m.a.logits), argPtr(best), argPtr(m.ctl.partV), argPtr(m.ctl.partI), argPtr(m.ctl.done),
		argPtr(m.w.lmHead), argPtr(m.w.normF), argPtr(m.a.h), argInt(s.vocabPadded), argInt(s.vocab), argInt(s.d),
		argInt(p.head.wpr), argFloat(model.RMSEps))
	m.trace(-1, model.OpLMHead, m.a.logits, s.vocabPadded)
	if mode == modeSample {
		// sample: the next token drawn from softmax(logits / T), top-p
		r.launch(k.sample, 1, sampleThreads, 0,
			argPtr(m.ctl.ctl), argPtr(m.a.logits), argPtr(m.ctl.probs), argInt(s.vocab))
	}
	return r.take()
}

// trace reports a phase's result to the tracer: it copies the device
// buffer back (the copy waits for the launch), calls the tracer, and copies
// the values back to the device, where the next kernels read them changed
// if the tracer changed them. Without a tracer it costs one nil check.
//
// cuda reports what it keeps in device memory at the end of each phase:
// embedding (h after layer 0's in_proj_conv, which itself read the
// embedding row: a change there reaches the residual stream, not layer 0's
// own input), silu (u), x_proj (xDBC), for Falcon-Mamba bcdt_norm (xDBC
// normalised), gate (y), residual (h) and lm_head (logits). It has no in_proj or softplus to report: in_proj's x half goes
// straight into the conv, and Δ lives in a warp's registers.
func (m *Mamba) trace(layer int, op model.Op, p cu.DevicePtr, n int) {
	if m.tracer == nil || m.run.err != nil {
		return
	}
	if cap(m.traced) < n {
		m.traced = make([]float32, max(n, m.s.vocabPadded))
	}
	v := m.traced[:n]
	if err := cu.MemcpyDtoH(unsafe.Pointer(&v[0]), p, 4*int64(n)); err != nil {
		m.run.fail(fmt.Errorf("cuda: copying %s back for the tracer (or a kernel failed): %w", op, err))
		return
	}
	m.tracer.Trace(m.pos, layer, op, v)
	if err := cu.MemcpyHtoD(p, unsafe.Pointer(&v[0]), 4*int64(n)); err != nil {
		m.run.fail(fmt.Errorf("cuda: copying %s back to the device after the tracer: %w", op, err))
	}
}

// SetTracer reports the end of every phase of the tokens that follow to t
// (nil: none); see trace for which ops. Tracing launches kernel by kernel
// and copies every phase's result back and forth.
func (m *Mamba) SetTracer(t model.Tracer) { m.tracer = t }

// SetGraphs chooses how steps are launched: replaying a CUDA graph of the
// whole step (the default; one launch per token), or kernel by kernel
// (false; what the graph holds, and what a tracer uses).
func (m *Mamba) SetGraphs(on bool) { m.plain = !on }

// runStep runs one step of mode for token (a token of the host's), after
// writing step_control if its token, or anything the sampler reads,
// changed. The step is the mode's graph, captured on its first use, or its
// kernels launched one by one.
func (m *Mamba) runStep(token int, mode headMode, c stepControl) error {
	c.token = int32(token)
	if c != m.onDev {
		if err := cu.MemcpyHtoD(m.ctl.ctl, unsafe.Pointer(&c), stepControlBytes); err != nil {
			return fmt.Errorf("cuda: writing the step's token to the device (or an earlier kernel failed): %w", err)
		}
		m.onDev = c
	}
	defer func() { m.pos++ }()
	if m.plain || m.tracer != nil {
		return m.step(mode)
	}
	if m.graphs[mode] == nil {
		g, err := captureGraph(m.stream, func() error { return m.step(mode) })
		if err != nil {
			return fmt.Errorf("%w (%s=0 launches kernel by kernel instead)", err, GraphsEnv)
		}
		m.graphs[mode] = g
	}
	return m.graphs[mode].launch(m.stream)
}

// chosen copies back the token that the step's argmax or sampler left in
// step_control, which is also the next step's token if the host feeds it.
// A non-finite logit chooses nothing: the kernels leave −1 − its id, and
// chosen copies its value back too (4 more bytes) for the
// *sample.NonFiniteError that sample.Sampler would return.
func (m *Mamba) chosen() (int, error) {
	if err := cu.MemcpyDtoH(unsafe.Pointer(&m.best[0]), m.ctl.ctl, 4); err != nil {
		return 0, fmt.Errorf("cuda: copying the chosen token back (or an earlier kernel failed): %w", err)
	}
	m.onDev.token = m.best[0] // if negative, never equal to a token: the next step writes its own
	id, bad := nonFiniteID(m.best[0])
	if !bad {
		return id, nil
	}
	if id >= m.c.VocabSize {
		return 0, fmt.Errorf("cuda: the device chose %d, not a token or a logit of the vocabulary of %d", m.best[0], m.c.VocabSize)
	}
	var v [1]float32
	if err := cu.MemcpyDtoH(unsafe.Pointer(&v[0]), m.a.logits+cu.DevicePtr(4*id), 4); err != nil {
		return 0, fmt.Errorf("cuda: copying the non-finite logit %d back: %w", id, err)
	}
	return 0, &sample.NonFiniteError{ID: id, Value: v[0]}
}

// Forward runs one token and returns the logits over the padded
// vocabulary; the slice is overwritten by the next call.
func (m *Mamba) Forward(token int) ([]float32, error) {
	unbind, err := m.bind()
	if err != nil {
		return nil, err
	}
	defer unbind()
	if err := model.CheckToken(m.c, token); err != nil {
		return nil, err
	}
	if err := m.runStep(token, modeLogits, m.onDev); err != nil {
		return nil, err
	}
	// The copy waits for the kernels: an error in any of them shows here.
	if err := cu.MemcpyDtoH(unsafe.Pointer(&m.host[0]), m.a.logits, 4*int64(len(m.host))); err != nil {
		return nil, fmt.Errorf("cuda: copying the logits back (or an earlier kernel failed): %w", err)
	}
	return m.host, nil
}

// Feed runs one token for its effect on the state only: a prompt token
// before the last, whose logits nobody reads. The head is skipped, and
// nothing is copied back (an error inside a kernel shows at the next
// call that copies).
func (m *Mamba) Feed(token int) error {
	unbind, err := m.bind()
	if err != nil {
		return err
	}
	defer unbind()
	if err := model.CheckToken(m.c, token); err != nil {
		return err
	}
	return m.runStep(token, modeFeed, m.onDev)
}

// ForwardArgmax runs one token and returns the id of its largest logit
// over the unpadded vocabulary (the first on ties), as greedy sampling
// would pick from Forward's logits, copying 4 bytes back instead of the
// logits. The device keeps the id as the next step's token, so feeding it
// back costs no copy to the device: one graph launch and one 4-byte copy a
// token. A NaN or ±Inf logit is a *sample.NonFiniteError, as
// sample.Sampler.Sample returns it (the first such id, its value), never a
// token (model.ArgmaxForwarder).
func (m *Mamba) ForwardArgmax(token int) (int, error) {
	unbind, err := m.bind()
	if err != nil {
		return 0, err
	}
	defer unbind()
	if err := model.CheckToken(m.c, token); err != nil {
		return 0, err
	}
	if err := m.runStep(token, modeArgmax, m.onDev); err != nil {
		return 0, err
	}
	return m.chosen()
}

// ForwardSample runs one token and returns the next token drawn from its
// logits by the GPU as s would draw it on the CPU (kernels/sample.cu: the
// same coin from s, the same softmax, top-p and draw; a coin within a
// rounding error of a boundary may pick the neighbouring token). At
// temperature 0 it is ForwardArgmax. Per token: one graph launch, a 16-byte
// copy to the device (token and coin) and a 4-byte copy back. A NaN or ±Inf
// logit is a *sample.NonFiniteError, as from s.Sample; the coin is drawn
// all the same.
func (m *Mamba) ForwardSample(token int, s *sample.Sampler) (int, error) {
	if s.Temperature <= 0 {
		return m.ForwardArgmax(token)
	}
	unbind, err := m.bind()
	if err != nil {
		return 0, err
	}
	defer unbind()
	if err := model.CheckToken(m.c, token); err != nil {
		return 0, err
	}
	if s.Vocab != m.c.VocabSize {
		return 0, fmt.Errorf("cuda: the sampler's vocabulary is %d tokens, the model's %d", s.Vocab, m.c.VocabSize)
	}
	c := stepControl{coin: s.Coin(), temperature: s.Temperature, topP: s.TopP}
	if err := m.runStep(token, modeSample, c); err != nil {
		return 0, err
	}
	return m.chosen()
}

// bind takes the model's guard (model.ErrConcurrentUse while another call
// holds it), pins the goroutine and makes the model's context current; the
// returned func undoes both. After Close it returns model.ErrClosed.
func (m *Mamba) bind() (func(), error) {
	if err := m.guard.Enter(); err != nil {
		return nil, err
	}
	if m.dev == nil {
		m.guard.Leave()
		return nil, model.ErrClosed
	}
	unbind, err := m.dev.bind()
	if err != nil {
		m.guard.Leave()
		return nil, err
	}
	return func() {
		unbind()
		m.guard.Leave()
	}, nil
}

// Config is the shape of the loaded model.
func (m *Mamba) Config() model.Config { return m.c }

// Device names the GPU the model runs on.
func (m *Mamba) Device() string {
	if m.dev == nil {
		return ""
	}
	return m.dev.name
}

// State copies the recurrent state back from the device; it carries the
// weights' fingerprint.
func (m *Mamba) State() (*model.State, error) {
	unbind, err := m.bind()
	if err != nil {
		return nil, err
	}
	defer unbind()
	s := model.NewState(m.c)
	s.Fingerprint = m.fp
	if err := cu.MemcpyDtoH(unsafe.Pointer(&s.Conv[0]), m.a.conv, 4*int64(len(s.Conv))); err != nil {
		return nil, fmt.Errorf("cuda: copying the conv state back: %w", err)
	}
	if err := cu.MemcpyDtoH(unsafe.Pointer(&s.SSM[0]), m.a.ssm, 4*int64(len(s.SSM))); err != nil {
		return nil, fmt.Errorf("cuda: copying the ssm state back: %w", err)
	}
	return s, nil
}

// SetState copies s to the device as the recurrent state.
func (m *Mamba) SetState(s *model.State) error {
	unbind, err := m.bind()
	if err != nil {
		return err
	}
	defer unbind()
	if err := s.CheckFor(m.c); err != nil {
		return err
	}
	if err := s.CheckFingerprint(m.fp); err != nil {
		return err
	}
	if err := cu.MemcpyHtoD(m.a.conv, unsafe.Pointer(&s.Conv[0]), 4*int64(len(s.Conv))); err != nil {
		return fmt.Errorf("cuda: copying the conv state to the device: %w", err)
	}
	if err := cu.MemcpyHtoD(m.a.ssm, unsafe.Pointer(&s.SSM[0]), 4*int64(len(s.SSM))); err != nil {
		return fmt.Errorf("cuda: copying the ssm state to the device: %w", err)
	}
	return nil
}

// Reset empties the state.
func (m *Mamba) Reset() error {
	unbind, err := m.bind()
	if err != nil {
		return err
	}
	defer unbind()
	return m.zeroState()
}

// zeroState sets the conv and ssm state to 0, and the tracer's position
// with it. The context must be current.
func (m *Mamba) zeroState() error {
	m.pos = 0
	if err := cu.MemsetD32(m.a.conv, 0, int64(m.s.L*m.s.di*m.s.k)); err != nil {
		return fmt.Errorf("cuda: clearing the conv state: %w", err)
	}
	if err := cu.MemsetD32(m.a.ssm, 0, int64(m.s.L*m.s.di*m.s.n)); err != nil {
		return fmt.Errorf("cuda: clearing the ssm state: %w", err)
	}
	return nil
}

// Close frees the device memory and the context; a second Close does
// nothing.
func (m *Mamba) Close() error {
	unbind, err := m.bind()
	if errors.Is(err, model.ErrClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unbind()
	return m.release()
}

// release frees everything; the context must be current, and the
// goroutine pinned (New's, or bound by Close).
func (m *Mamba) release() error {
	var first error
	for i, g := range m.graphs {
		if g != nil {
			if err := g.destroy(); err != nil && first == nil {
				first = err
			}
			m.graphs[i] = nil
		}
	}
	if m.stream != (cu.Stream{}) {
		if err := destroyStream(m.stream); err != nil && first == nil {
			first = err
		}
		m.stream = cu.Stream{}
	}
	for _, p := range []cu.DevicePtr{m.wmem, m.work, m.ctlMem} {
		if p != 0 {
			if err := cu.MemFree(p); err != nil && first == nil {
				first = fmt.Errorf("cuda: freeing device memory: %w", err)
			}
		}
	}
	m.wmem, m.work, m.ctlMem = 0, 0, 0
	if err := m.dev.close(); err != nil && first == nil {
		first = err
	}
	m.dev = nil
	return first
}

var (
	_ model.Mamba           = (*Mamba)(nil)
	_ model.ArgmaxForwarder = (*Mamba)(nil)
	_ model.Traceable       = (*Mamba)(nil)
)
