package tracehtml

import (
	"math"

	"mamba.go/common/model"
)

// Collector is a model.Tracer that keeps, token by token, what the page
// draws: every report's place in the walk (its norm and first values) and,
// per layer, the selectivity cells computed from the reports:
//
//	Δ       softplus's dt (Mamba-2: dt_limit's, the dt the scan reads)
//	decay   mean over s of exp(Δ_c · A[c][s]) (Mamba-2: exp(dt_h · A_h))
//	gate    SiLU(z), z from in_proj's result
//	state   ‖h_c‖ = sqrt(Σ_s h[c][s]²) of the state recomputed from the
//	        traced Δ, B and u: h = exp(Δ·A)·h + Δ·B·u (Mamba-2: per head)
//	bcdt    bcdt_norm's normed Δ_low, B, C (Falcon-Mamba)
//	‖h‖     the residual stream's norm after each layer
//
// A cell is kept only when the reports it needs came: an implementation
// that reports phase ends (fused, cuda) leaves the others empty. Channels
// are averaged into at most MaxChannels bins as they come, so that a wide
// model over a long prompt stays small in memory.
type Collector struct {
	w     *model.Weights
	c     model.Config
	opt   Options
	steps []*tokenSteps
	ssm   []float32 // the recomputed state, as model.State.SSM
	lost  []bool    // per layer: a token came without the reports the state needs
	seen  map[model.Op]bool
	cur   layerReports
}

// Options bound the page's size.
type Options struct {
	MaxChannels   int       // channel bins per heatmap (0: 64)
	MaxTokens     int       // token columns per heatmap (0: 256)
	MaxWalkTokens int       // tokens whose op-by-op walk is kept (0: 1024)
	InitialSSM    []float32 // the state the run started from (-load-state), as model.State.SSM; nil: zeros
}

func (o Options) withDefaults() Options {
	if o.MaxChannels <= 0 {
		o.MaxChannels = 64
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 256
	}
	if o.MaxWalkTokens <= 0 {
		o.MaxWalkTokens = 1024
	}
	return o
}

// tokenSteps is what one token position left behind.
type tokenSteps struct {
	pos    int
	walk   []Step
	layers []layerCells
}

// layerCells are one (token, layer)'s binned cells; nil: not computed.
type layerCells struct {
	delta, decay, gate, state, bcdt []float32
	resid                           float64
	hasResid                        bool
}

// layerReports are the reports of the layer in progress that the cells
// need, copied (the tracer's values are valid only during the call).
type layerReports struct {
	layer       int
	dt, u, b, z []float32
}

// NewCollector returns a Collector for a model of weights w.
func NewCollector(w *model.Weights, opt Options) *Collector {
	c := w.Config
	col := &Collector{w: w, c: c, opt: opt.withDefaults(), seen: map[model.Op]bool{},
		ssm: make([]float32, c.NLayers*c.SSMStateLen()), lost: make([]bool, c.NLayers)}
	if len(opt.InitialSSM) == len(col.ssm) {
		copy(col.ssm, opt.InitialSSM)
	}
	col.cur.layer = -1
	return col
}

// Trace keeps op's share of the page.
func (col *Collector) Trace(pos, layer int, op model.Op, values []float32) {
	t := col.token(pos)
	col.seen[op] = true
	if len(col.steps) <= col.opt.MaxWalkTokens {
		t.walk = append(t.walk, newStep(layer, op, values))
	}
	if layer < 0 || layer >= col.c.NLayers {
		return
	}
	if layer != col.cur.layer {
		col.cur = layerReports{layer: layer}
	}
	col.keep(t, layer, op, values)
}

// token returns the steps of position pos, starting a new token when pos
// is not the current one.
func (col *Collector) token(pos int) *tokenSteps {
	if n := len(col.steps); n > 0 && col.steps[n-1].pos == pos {
		return col.steps[n-1]
	}
	t := &tokenSteps{pos: pos, layers: make([]layerCells, col.c.NLayers)}
	col.steps = append(col.steps, t)
	col.cur = layerReports{layer: -1}
	return t
}

// keep files a layer's report: the ones the cells need are copied, and
// the residual, the layer's last report, completes the layer's cells.
func (col *Collector) keep(t *tokenSteps, layer int, op model.Op, v []float32) {
	c, r, cells := col.c, &col.cur, &t.layers[layer]
	mamba2 := c.Arch == model.Mamba2
	switch op {
	case model.OpInProj:
		if mamba2 {
			r.z = clone(v[:c.DInner]) // zxbcdt = z, xBC, dt
		} else {
			r.z = clone(v[c.DInner:]) // xz = x, z
		}
	case model.OpSiLU:
		if mamba2 {
			r.u, r.b = clone(v[:c.DInner]), clone(v[c.DInner:c.DInner+c.NGroups*c.DState]) // xBC = x, B, C
		} else {
			r.u = clone(v)
		}
	case model.OpXProj:
		if c.Arch != model.FalconMamba { // Falcon-Mamba's scan reads bcdt_norm's B
			r.b = clone(v[c.DtRank : c.DtRank+c.DState])
		}
	case model.OpBCDtNorm:
		r.b = clone(v[c.DtRank : c.DtRank+c.DState])
		cells.bcdt = bin(v, col.opt.MaxChannels)
	case model.OpSoftplus, model.OpDtLimit:
		r.dt = clone(v)
	case model.OpResidual:
		cells.resid, cells.hasResid = norm(v), true
		col.finishLayer(cells, layer)
	}
}

// finishLayer computes the layer's cells from its reports and advances
// the recomputed state by one token.
func (col *Collector) finishLayer(cells *layerCells, layer int) {
	r, n := &col.cur, col.opt.MaxChannels
	if r.z != nil {
		g := make([]float32, len(r.z))
		for i, z := range r.z {
			g[i] = silu(z)
		}
		cells.gate = bin(g, n)
	}
	if r.dt == nil {
		col.lost[layer] = true
		return
	}
	cells.delta = bin(r.dt, n)
	cells.decay = bin(col.decay(layer, r.dt), n)
	if r.u == nil || r.b == nil {
		col.lost[layer] = true
		return
	}
	if !col.lost[layer] {
		cells.state = bin(col.advanceState(layer), n)
	}
}

// decay is mean_s exp(Δ_c·A[c][s]) per channel (Mamba-1), exp(dt_h·A_h)
// per head (Mamba-2): how much of the state survives this token.
func (col *Collector) decay(layer int, dt []float32) []float32 {
	a, out := col.w.Layers[layer].A, make([]float32, len(dt))
	if col.c.Arch == model.Mamba2 {
		for h, d := range dt {
			out[h] = float32(math.Exp(float64(d * a[h])))
		}
		return out
	}
	ns := col.c.DState
	for ch, d := range dt {
		var s float64
		for _, av := range a[ch*ns : (ch+1)*ns] {
			s += math.Exp(float64(d * av))
		}
		out[ch] = float32(s / float64(ns))
	}
	return out
}

// advanceState runs one step of the scan on the recomputed state of layer
// and returns its norms: per channel ‖h[c][:]‖ (Mamba-1), per head
// ‖h[h][:][:]‖ (Mamba-2).
func (col *Collector) advanceState(layer int) []float32 {
	c, r := col.c, &col.cur
	st := col.ssm[layer*c.SSMStateLen() : (layer+1)*c.SSMStateLen()]
	a, ns := col.w.Layers[layer].A, c.DState
	if c.Arch == model.Mamba2 {
		return advanceHeads(st, r.dt, a, r.b, r.u, c)
	}
	out := make([]float32, c.DInner)
	for ch := range c.DInner {
		d := r.dt[ch]
		h := st[ch*ns : (ch+1)*ns]
		var ss float64
		for s := range h {
			h[s] = float32(math.Exp(float64(d*a[ch*ns+s])))*h[s] + d*r.b[s]*r.u[ch]
			ss += float64(h[s]) * float64(h[s])
		}
		out[ch] = float32(math.Sqrt(ss))
	}
	return out
}

// advanceHeads is advanceState for Mamba-2: h[hd][p][s] = exp(dt_hd·A_hd)·h
// + dt_hd·B[g][s]·x[hd·P+p], with g the head's group.
func advanceHeads(st, dt, a, b, x []float32, c model.Config) []float32 {
	ns, p, hpg := c.DState, c.HeadDim, c.HeadsPerGroup()
	out := make([]float32, c.NHeads)
	for hd := range c.NHeads {
		dA := float32(math.Exp(float64(dt[hd] * a[hd])))
		bg := b[(hd/hpg)*ns : (hd/hpg+1)*ns]
		var ss float64
		for j := range p {
			h := st[(hd*p+j)*ns : (hd*p+j+1)*ns]
			for s := range h {
				h[s] = dA*h[s] + dt[hd]*bg[s]*x[hd*p+j]
				ss += float64(h[s]) * float64(h[s])
			}
		}
		out[hd] = float32(math.Sqrt(ss))
	}
	return out
}

// newStep is one line of a token's walk, as trace.Printer prints it.
func newStep(layer int, op model.Op, v []float32) Step {
	s := Step{Layer: layer, Op: string(op), Len: len(v), Norm: Num(norm(v))}
	for _, x := range v[:min(len(v), 4)] {
		s.First = append(s.First, Num(x))
	}
	return s
}

// bin averages v into at most n bins of consecutive values: bin i covers
// v[i·len/n' : (i+1)·len/n'], n' = min(n, len(v)).
func bin(v []float32, n int) []float32 {
	n = min(n, len(v))
	out := make([]float32, n)
	for i := range out {
		lo, hi := i*len(v)/n, (i+1)*len(v)/n
		var s float64
		for _, x := range v[lo:hi] {
			s += float64(x)
		}
		out[i] = float32(s / float64(hi-lo))
	}
	return out
}

func clone(v []float32) []float32 { return append([]float32(nil), v...) }

func silu(v float32) float32 { return v / (1 + float32(math.Exp(float64(-v)))) }

// norm is sqrt(Σ v²), summed in float64, as trace.Printer's.
func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
