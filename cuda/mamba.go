//go:build cuda

package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"mamba.go/common/model"
)

// Mamba is the CUDA implementation of model.Mamba. The weights and the
// recurrent state live on the GPU; Forward copies the logits back and
// ForwardArgmax only the greedy token. Not safe for concurrent use.
type Mamba struct {
	c    model.Config
	s    configShape
	dev  *device
	plan plan
	run  launcher
	k    kernels
	wmem cu.DevicePtr // the weights, laid out by planWeights
	work cu.DevicePtr // activations and state, laid out by planWork
	w    devWeights
	a    devWork
	host []float32 // [V] logits copied back by Forward
	best [1]int32  // the argmax copied back by ForwardArgmax
}

// kernels are the loaded kernel functions, by what they compute: each
// phase of model.Ops is one launch of one of them.
type kernels struct {
	inProjConv    kernel // phase in_proj_conv
	matVec        kernel // phases x_proj and out_proj
	dtScanGate    kernel // phase dt_scan_gate
	rmsNormMatVec kernel // phase head
	argmax        kernel // greedy sampling on the device
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
	runtime.LockOSThread() // the new context is current on this thread only
	defer runtime.UnlockOSThread()
	dev, err := openDevice()
	if err != nil {
		return nil, err
	}
	m := &Mamba{c: c, s: shapeOf(c), dev: dev, plan: makePlan(shapeOf(c), dev.sms),
		host: make([]float32, c.PaddedVocab())}
	m.k = kernels{
		inProjConv:    dev.kernels["in_proj_conv"],
		matVec:        dev.kernels["matvec"],
		dtScanGate:    dev.kernels["dt_scan_gate"],
		rmsNormMatVec: dev.kernels["rmsnorm_matvec"],
		argmax:        dev.kernels["argmax"],
	}
	err = m.upload(w)
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
	return nil
}

// step runs token through every layer and the head, leaving the logits on
// the device: one launch per phase of model.Ops, 4 per layer and 1 for the
// head.
func (m *Mamba) step(token int) error {
	s, p, k, r := &m.s, &m.plan, &m.k, &m.run
	// Layer 0 normalises the token's embedding row and copies it into h.
	hIn := m.w.embedding + cu.DevicePtr(4*token*s.d)
	hInit := m.a.h
	for l := range m.w.layers {
		lw := &m.w.layers[l]
		convState := m.a.conv + cu.DevicePtr(4*l*s.di*s.k)
		ssmState := m.a.ssm + cu.DevicePtr(4*l*s.di*s.n)

		// in_proj_conv: u, z = SiLU(conv1d(in_proj · RMSNorm(h)))
		r.launch(k.inProjConv, p.inProjConv.blocks, threads, 4*s.d,
			argPtr(m.a.u), argPtr(m.a.z), argPtr(convState), argPtr(lw.inProj), argPtr(lw.convW), argPtr(lw.convB),
			argPtr(lw.norm), argPtr(hIn), argPtr(hInit), argInt(s.d), argInt(s.di), argInt(s.k),
			argInt(p.inProjConv.wpr), argFloat(model.RMSEps))
		hIn, hInit = m.a.h, 0

		// x_proj: xDBC = Δ_low, B, C = x_proj · u
		r.launch(k.matVec, p.xProj.blocks, threads, 0,
			argPtr(m.a.xDBC), argPtr(lw.xProj), argPtr(m.a.u), argInt(s.r+2*s.n), argInt(s.di),
			argInt(p.xProj.wpr), argInt(0))

		// dt_scan_gate: y = (scan(Δ, B, C, u) + D·u) · SiLU(z)
		r.launch(k.dtScanGate, p.dtScanGate, threads, 0,
			argPtr(m.a.y), argPtr(ssmState), argPtr(m.a.u), argPtr(m.a.z), argPtr(m.a.xDBC), argPtr(lw.dtW),
			argPtr(lw.dtB), argPtr(lw.A), argPtr(lw.D), argInt(s.di), argInt(s.r), argInt(s.n))

		// out_proj: h += out_proj · y
		r.launch(k.matVec, p.outProj.blocks, threads, 0,
			argPtr(m.a.h), argPtr(lw.outProj), argPtr(m.a.y), argInt(s.d), argInt(s.di),
			argInt(p.outProj.wpr), argInt(1))
	}
	// head: logits = lm_head · RMSNorm(h)
	r.launch(k.rmsNormMatVec, p.head.blocks, threads, 4*s.d,
		argPtr(m.a.logits), argPtr(m.w.lmHead), argPtr(m.w.normF), argPtr(m.a.h),
		argInt(s.vocabPadded), argInt(s.d), argInt(p.head.wpr), argFloat(model.RMSEps))
	return r.take()
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
	if err := m.step(token); err != nil {
		return nil, err
	}
	// The copy waits for the kernels: an error in any of them shows here.
	if err := cu.MemcpyDtoH(unsafe.Pointer(&m.host[0]), m.a.logits, 4*int64(len(m.host))); err != nil {
		return nil, fmt.Errorf("cuda: copying the logits back (or an earlier kernel failed): %w", err)
	}
	return m.host, nil
}

// ForwardArgmax runs one token and returns the id of its largest logit
// over the unpadded vocabulary (the first on ties), as greedy sampling
// would pick from Forward's logits, copying 4 bytes back instead of the
// logits.
func (m *Mamba) ForwardArgmax(token int) (int, error) {
	unbind, err := m.bind()
	if err != nil {
		return 0, err
	}
	defer unbind()
	if err := model.CheckToken(m.c, token); err != nil {
		return 0, err
	}
	if err := m.step(token); err != nil {
		return 0, err
	}
	m.run.launch(m.k.argmax, 1, argmaxThreads, 0, argPtr(m.a.argmax), argPtr(m.a.logits), argInt(m.s.vocab))
	if err := m.run.take(); err != nil {
		return 0, err
	}
	if err := cu.MemcpyDtoH(unsafe.Pointer(&m.best[0]), m.a.argmax, 4); err != nil {
		return 0, fmt.Errorf("cuda: copying the argmax back (or an earlier kernel failed): %w", err)
	}
	return int(m.best[0]), nil
}

// bind pins the goroutine and makes the model's context current; the
// returned func undoes the pinning. After Close it returns model.ErrClosed.
func (m *Mamba) bind() (func(), error) {
	if m.dev == nil {
		return nil, model.ErrClosed
	}
	return m.dev.bind()
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

// State copies the recurrent state back from the device.
func (m *Mamba) State() (*model.State, error) {
	unbind, err := m.bind()
	if err != nil {
		return nil, err
	}
	defer unbind()
	s := model.NewState(m.c)
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

// zeroState sets the conv and ssm state to 0. The context must be current.
func (m *Mamba) zeroState() error {
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
	if m.dev == nil {
		return nil
	}
	unbind, err := m.bind()
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
	for _, p := range []cu.DevicePtr{m.wmem, m.work} {
		if p != 0 {
			if err := cu.MemFree(p); err != nil && first == nil {
				first = fmt.Errorf("cuda: freeing device memory: %w", err)
			}
		}
	}
	m.wmem, m.work = 0, 0
	if err := m.dev.close(); err != nil && first == nil {
		first = err
	}
	m.dev = nil
	return first
}

var (
	_ model.Mamba           = (*Mamba)(nil)
	_ model.ArgmaxForwarder = (*Mamba)(nil)
)
