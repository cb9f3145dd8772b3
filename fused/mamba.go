package fused

import (
	"mamba.go/fused/internal/kernels"

	"fmt"
	"runtime"
	"time"

	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// Mamba is the fused implementation of model.Mamba. Its worker goroutines
// live until Close. It is not for concurrent use: a call made while
// another is in progress returns model.ErrConcurrentUse.
type Mamba struct {
	w      *model.Weights
	mats   kernels.Matrices // w's products: float32, packed or bfloat16 (internal/kernels)
	c      model.Config
	fp     uint64      // model.Fingerprint of the weights, for the states it returns
	guard  model.Guard // taken by every method but Config
	state  *model.State
	pool   *pool
	nw     int  // number of workers, P
	done   bool // closed
	step   func(worker int)
	buf    buffers      // Mamba-1's activations
	buf2   buffers2     // Mamba-2's (mamba2.go)
	tracer model.Tracer // nil: no tracing
	pos    int          // tokens fed since New or Reset, for the tracer
	shares shares       // how each phase's items are shared (claim.go)
	claims []claimCounter
	prompt *promptBuffers // the batched prompt's, made on first use (prefill.go)

	prompt2 *promptBuffers2 // Mamba-2's (prefill2.go)

	hugeBytes int64         // weights copied into 2 MB pages, 0 if none
	hugeTime  time.Duration // how long the copy took

	packedBytes int64         // float32 weights packed (packed.go), 0 if none
	packTime    time.Duration // how long packing (and copying the rest) took
	fallback    string        // why the weights were not packed or copied for want of memory (Fallback)
	unpacked    [][]float32   // [P][4·max(d, di)] each worker's packed rows unpacked (the batched prompt's)
}

// HugePages reports the bytes of weights that New copied into memory
// backed by 2 MB pages (0: the weights stay where they were) and how long
// the copy took; or, for weights narrowed to bfloat16 at load into such
// memory already (model.Weights.BF16HugePages), their bytes and 0.
func (m *Mamba) HugePages() (bytes int64, took time.Duration) { return m.hugeBytes, m.hugeTime }

// Packed reports the bytes of float32 weights that New packed into 3.5
// bytes a weight (packed.go; 0: none) and how long packing took. They are
// in 2 MB pages unless Options.SmallPages.
func (m *Mamba) Packed() (bytes int64, took time.Duration) { return m.packedBytes, m.packTime }

// Fallback says, in a few words, why New left the weights where they were
// instead of packing them or copying them into 2 MB pages as its options
// asked: the copy would not have fit in the memory available ("packing
// would take 25.4 GB of memory, and 20.1 GB are available"). Empty when
// New did as asked, or had no such reason not to (small weights, no 2 MB
// pages here).
func (m *Mamba) Fallback() string { return m.fallback }

// shares are the phases' items: channels, or rows of a product.
type shares struct {
	channels, xProj, scan, outProj, head share
}

// newShares: blocks of channels start at multiples of 16 (the vector
// kernels group 8 or 16 channels), rows at multiples of 4 (the batched
// prompt's products take 4 rows at once). Chunks are a few hundred KB of
// weights, except the scan's, which are compute.
func newShares(c model.Config) shares {
	return shares{
		channels: share{n: c.DInner, align: 16, chunk: 32},
		xProj:    share{n: c.XProjRows(), align: 4, chunk: 8},
		scan:     share{n: c.DInner, align: 16, chunk: 64},
		outProj:  share{n: c.DModel, align: 4, chunk: 32},
		head:     share{n: c.PaddedVocab(), align: 4, chunk: 256},
	}
}

// buffers are the activations of one step, allocated once and shared by
// the workers. Each phase writes disjoint parts of them (a worker's
// channels or rows); a barrier separates a phase's writes from the next
// phase's reads.
type buffers struct {
	h      []float32   // [d]    the residual stream
	xz     []float32   // [2·di] in_proj output: x then z (the gate's input)
	u      []float32   // [di]   SiLU(conv1d(x)), the scan's input
	xDBC   []float32   // [r+2n] x_proj output: Δ_low, B, C
	dt     []float32   // [di]   Δ
	y      []float32   // [di]   scan output, gated
	logits []float32   // [V]
	normed [][]float32 // [P][d] each worker's own RMSNorm(h)
	xDBCn  [][]float32 // [P][r+2n] Falcon-Mamba: each worker's own normed xDBC (falcon.go)
}

// Options say how New sets a model up; the zero value is New's defaults.
type Options struct {
	// Workers is the number of workers; 0: one per usable CPU (GOMAXPROCS).
	Workers int
	// SmallPages leaves the weights where they are (usually the file's
	// memory map, in 4 KB pages) instead of copying them into 2 MB pages
	// (hugepages.go, over common/memory); packed weights are packed into 4 KB pages.
	SmallPages bool
	// Unpacked keeps float32 products as float32 instead of packing them
	// into 3.5 bytes a weight (packed.go): the same values, 13% more bytes
	// a token.
	Unpacked bool
	// Progress, if set, is told how far New's long work has come: packing
	// (two passes over the products: counting, then packing and copying)
	// or the copy into 2 MB pages, each a piece of work of total bytes,
	// reported as done grows from 0 to total every few MB, the last call
	// with done == total. A piece that finds nothing to pack ends at once
	// (done == total), and the copy into 2 MB pages may follow it with
	// its own total. New calls it from one goroutine at a time.
	Progress func(done, total int64)
}

// New returns a fused model over w with one worker per usable CPU
// (GOMAXPROCS), float32 products packed (packed.go), the weights in 2 MB
// pages where the OS allows, and an empty state.
func New(w *model.Weights) (*Mamba, error) { return NewOptions(w, Options{}) }

// NewWorkers is New with n workers.
func NewWorkers(w *model.Weights, n int) (*Mamba, error) {
	if n < 1 {
		return nil, fmt.Errorf("%d workers: want at least 1", n)
	}
	return NewOptions(w, Options{Workers: n})
}

// NewOptions is New with options.
func NewOptions(w *model.Weights, opt Options) (*Mamba, error) {
	n := opt.Workers
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if err := w.CheckBF16(); err != nil {
		return nil, err
	}
	if kernels.Err != nil {
		return nil, kernels.Err
	}
	if n < 1 {
		return nil, fmt.Errorf("%d workers: want at least 1", n)
	}
	c := w.Config
	n = min(n, c.DInner) // every worker owns at least one channel
	m := &Mamba{w: w, c: c, fp: model.Fingerprint(w), state: model.NewState(c), nw: n}
	if narrowed := w.BF16HugePages(); narrowed > 0 {
		// Narrowed at load into memory in 2 MB pages already: a copy
		// would only double it.
		m.hugeBytes = narrowed
	} else {
		if !w.BF16 && !opt.Unpacked {
			start := time.Now()
			pk := kernels.PackWeights(w, opt.SmallPages, packMemory(opt.Progress))
			m.fallback = pk.Skipped
			if pk.PackedBytes > 0 {
				m.w, m.mats, m.packedBytes, m.packTime = pk.Weights, pk.Matrices, int64(pk.PackedBytes), time.Since(start)
				// The block lives as long as the model, as hugePageWeights' copy.
				runtime.AddCleanup(m, closeArena, pk.Mapping)
				if pk.Huge {
					m.hugeBytes, m.hugeTime = int64(len(pk.Block)), m.packTime
				}
			}
		}
		if m.packedBytes == 0 && !opt.SmallPages {
			start := time.Now()
			hw, arena, skipped := hugePagesCopy(w, opt.Progress)
			if arena != nil {
				m.w, m.hugeBytes, m.hugeTime = hw, int64(len(arena)), time.Since(start)
				// The copy lives as long as the model: unmapped once the model
				// is unreachable (after Close, its workers hold it no more).
				runtime.AddCleanup(m, closeArena, arena)
			}
			if m.fallback == "" {
				m.fallback = skipped
			}
		}
	}
	if m.mats.Layers == nil {
		m.mats = kernels.Of(m.w)
	}
	m.unpacked = make([][]float32, n)
	for i := range m.unpacked {
		m.unpacked[i] = make([]float32, 4*max(c.DModel, c.DInner))
	}
	if c.Arch == model.Mamba2 {
		m.buf2 = newBuffers2(c, n)
		m.step = m.worker2
		m.pool = newPool(n)
		return m, nil
	}
	b := &m.buf
	b.h = make([]float32, c.DModel)
	b.xz = make([]float32, 2*c.DInner)
	b.u = make([]float32, c.DInner)
	b.xDBC = make([]float32, c.XProjRows())
	b.dt = make([]float32, c.DInner)
	b.y = make([]float32, c.DInner)
	b.logits = make([]float32, c.PaddedVocab())
	for range n {
		b.normed = append(b.normed, make([]float32, c.DModel+16)[:c.DModel]) // +16: apart from the next worker's
		if c.Arch == model.FalconMamba {
			b.xDBCn = append(b.xDBCn, make([]float32, c.XProjRows()+16)[:c.XProjRows()])
		}
	}
	m.shares = newShares(c)
	m.claims = make([]claimCounter, 4*c.NLayers+1) // four phases a layer, and the head
	m.step = m.worker
	m.pool = newPool(n)
	return m, nil
}

// packMemory is this package's memory machinery, for packing.
func packMemory(prog func(done, total int64)) kernels.Memory {
	return kernels.Memory{
		RoomFor: roomFor,
		Tensors: weightTensors,
		Progress: func(total int64) (func(int64), func()) {
			p := newProgress(prog, total)
			return p.add, p.finish
		},
	}
}

// closeArena unmaps a copy of the weights once the model is unreachable.
func closeArena(a memory.Arena) { a.Close() }

// Kernels names the kernels in use: "avx512", "avx2" or "go".
func Kernels() string { return kernels.Name() }

// Workers is the number of workers.
func (m *Mamba) Workers() int { return m.nw }

// Forward runs one token through the model: the recurrent step, on all workers.
func (m *Mamba) Forward(token int) ([]float32, error) {
	if err := m.guard.Enter(); err != nil {
		return nil, err
	}
	defer m.guard.Leave()
	return m.forward(token)
}

// forward is Forward, the guard taken.
func (m *Mamba) forward(token int) ([]float32, error) {
	if m.done {
		return nil, model.ErrClosed
	}
	if err := model.CheckToken(m.c, token); err != nil {
		return nil, err
	}
	h, logits := m.buf.h, m.buf.logits
	if m.c.Arch == model.Mamba2 {
		h, logits = m.buf2.h, m.buf2.logits
	}
	kernels.Row(h, m.mats.Embedding, token) // h = embedding[token]  [d], before the workers start
	resetClaims(m.claims)
	m.pool.run(m.step)
	m.pos++
	return logits, nil
}

// worker is worker w's part of one step. Per layer it runs the four
// phases of model.Ops, each ended by a barrier because the next one needs
// every worker's part:
//
//	in_proj_conv  RMSNorm, the in_proj rows of its channels (x and z), conv + SiLU of them
//	x_proj        its rows of x_proj (needs all of u)
//	dt_scan_gate  dt_proj + softplus, scan, D skip and gate of its channels (needs all of B, C, Δ_low)
//	out_proj      its rows of out_proj, added into h (needs all of y)
//
// and after the last layer phase head, split by vocabulary rows. Every
// product is split by rows: each worker streams long contiguous blocks of
// weights (docs/fused.md says why not by columns). A worker's channels and
// rows are its static block of each phase and the chunks it claims after
// it (claim.go).
func (m *Mamba) worker(w int) {
	c, b, normed, sh := m.c, &m.buf, m.buf.normed[w], &m.shares
	di, k, n, r := c.DInner, c.DConv, c.DState, c.DtRank
	P := m.nw
	lo, hi := sh.channels.static(P, w)  // my static channels (in_proj_conv)
	slo, shi := sh.scan.static(P, w)    // my static channels (dt_scan_gate)
	dlo, dhi := sh.outProj.static(P, w) // my static rows of out_proj
	xlo, xhi := sh.xProj.static(P, w)   // my static rows of x_proj
	vlo, vhi := sh.head.static(P, w)    // my static rows of the head
	dtLow, B, C := b.xDBC[:r], b.xDBC[r:r+n], b.xDBC[r+n:]
	falcon := c.Arch == model.FalconMamba
	if falcon { // dt_scan_gate reads this worker's normed copy (falcon.go)
		dtLow, B, C = b.xDBCn[w][:r], b.xDBCn[w][r:r+n], b.xDBCn[w][r+n:]
	}
	z := b.xz[di:]
	m.trace(w, -1, model.OpEmbedding, b.h)
	for l := range m.w.Layers {
		lw, lm := &m.w.Layers[l], &m.mats.Layers[l]
		ctr := m.claims[4*l : 4*l+4]
		convState := m.state.Conv[l*di*k : (l+1)*di*k] // [di][k]
		ssmState := m.state.SSM[l*di*n : (l+1)*di*n]   // [di][n]

		// Each barrier is given the block of weights this worker streams
		// right after it, to warm while it waits.
		rmsNorm(normed, b.h, lw.Norm)
		each(w, P, sh.channels, &ctr[0], func(lo, hi int) {
			inProjConv(b.xz, b.u, normed, lm.InProj, convState, lw.Conv1dWeight, lw.Conv1dBias, k, lo, hi)
		})
		m.pool.sync(lm.XProj.Part(xlo*di, xhi*di))
		m.trace(w, l, model.OpInProj, b.xz)
		m.trace(w, l, model.OpSiLU, b.u)

		each(w, P, sh.xProj, &ctr[1], func(lo, hi int) { xProj(b.xDBC, lm.XProj, b.u, lo, hi) })
		m.pool.sync(lm.DtProj.Part(slo*r, shi*r))
		m.trace(w, l, model.OpXProj, b.xDBC)
		if falcon {
			bcdtNorm(b.xDBCn[w], b.xDBC, r, n, c.MixerEps)
			m.trace(w, l, model.OpBCDtNorm, b.xDBCn[w])
			if m.tracer != nil && w != 0 {
				// The tracer saw (and may have changed) worker 0's copy:
				// every worker goes on from it. Worker 0 writes its copy
				// again only at the next layer's end of x_proj, barriers later.
				copy(b.xDBCn[w], b.xDBCn[0])
			}
		}

		each(w, P, sh.scan, &ctr[2], func(lo, hi int) {
			dtScanGate(b.y, b.dt, ssmState, b.u, z, lm.DtProj, dtLow, lw.DtProjBias, lw.A, B, C, lw.D, lo, hi)
		})
		m.pool.sync(lm.OutProj.Part(dlo*di, dhi*di))
		m.trace(w, l, model.OpSoftplus, b.dt)
		m.trace(w, l, model.OpGate, b.y)

		each(w, P, sh.outProj, &ctr[3], func(lo, hi int) { outProj(b.h, lm.OutProj, b.y, lo, hi) })
		m.pool.sync(m.afterLayer(l, lo, hi, vlo, vhi))
		m.trace(w, l, model.OpResidual, b.h)
	}
	rmsNorm(normed, b.h, m.w.NormF)
	each(w, P, sh.head, &m.claims[4*len(m.w.Layers)], func(lo, hi int) { head(b.logits, normed, m.mats.LMHead, lo, hi) })
	if m.tracer != nil {
		m.pool.sync(kernels.Matrix{})
		m.trace(w, -1, model.OpLMHead, b.logits)
	}
}

// afterLayer is the block of weights a worker streams right after layer
// l, for the barrier to warm: its rows [lo, hi) of the next layer's
// in_proj, or after the last layer its rows [vlo, vhi) of the head.
func (m *Mamba) afterLayer(l, lo, hi, vlo, vhi int) kernels.Matrix {
	d := m.c.DModel
	if l+1 < len(m.w.Layers) {
		return m.mats.Layers[l+1].InProj.Part(lo*d, hi*d)
	}
	return m.mats.LMHead.Part(vlo*d, vhi*d)
}

// trace reports a phase's result, whole, to the tracer: worker 0 calls it
// while the others wait at a barrier on each side, so that the tracer sees
// every worker's part and whatever it changes is what every worker reads
// next. Without a tracer it costs one nil check.
func (m *Mamba) trace(w, layer int, op model.Op, values []float32) {
	if m.tracer == nil {
		return
	}
	if w == 0 {
		m.tracer.Trace(m.pos, layer, op, values)
	}
	m.pool.sync(kernels.Matrix{})
}

// SetTracer reports the end of every phase of the tokens that follow to t
// (nil: none). Tracing adds a barrier after every report.
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
	if m.done {
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
	if m.done {
		return model.ErrClosed
	}
	if err := s.CheckFor(m.c); err != nil {
		return err
	}
	if err := s.CheckFingerprint(m.fp); err != nil {
		return err
	}
	copy(m.state.Conv, s.Conv)
	copy(m.state.SSM, s.SSM)
	return nil
}

// Reset empties the state.
func (m *Mamba) Reset() error {
	if err := m.guard.Enter(); err != nil {
		return err
	}
	defer m.guard.Leave()
	if m.done {
		return model.ErrClosed
	}
	clear(m.state.Conv)
	clear(m.state.SSM)
	m.pos = 0
	return nil
}

// Close stops the workers; the weights belong to the caller.
func (m *Mamba) Close() error {
	if err := m.guard.Enter(); err != nil {
		return err
	}
	defer m.guard.Leave()
	if !m.done {
		m.done = true
		m.pool.close()
	}
	return nil
}

var (
	_ model.Mamba     = (*Mamba)(nil)
	_ model.Traceable = (*Mamba)(nil)
)
