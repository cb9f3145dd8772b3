package main

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/trace"
	"mamba.go/fused"
	"mamba.go/learning"
)

// The tests below plant a known mistake in an implementation, through its
// tracer (a tracer may change the values it is given; what follows reads
// the changed values), and require compare -trace to name the op, layer 0
// and token 0 where it was planted, in Mamba-1 (testdata/cases/default)
// and in Mamba-2 (m2default, m2groups).

// shadow follows a step from the reports of an implementation, keeping
// what a planted mistake needs to recompute an op's result the wrong way:
// the residual stream, every layer's latest reports and its own window of
// the last k conv inputs (x in Mamba-1, x, B and C in Mamba-2). plant
// changes values in place before they are kept; while it runs, h is still
// the residual stream before this layer's residual.
type shadow struct {
	w     *model.Weights
	h     []float32               // the residual stream [d]
	last  map[trace.Key][]float32 // latest report of each (layer, op), Pos 0
	xWin  map[int][]float32       // per layer: [cd][k] conv input of the last k tokens, oldest first
	plant func(s *shadow, layer int, op model.Op, v []float32)
}

func newShadow(w *model.Weights, plant func(s *shadow, layer int, op model.Op, v []float32)) *shadow {
	return &shadow{w: w, last: map[trace.Key][]float32{}, xWin: map[int][]float32{}, plant: plant}
}

func (s *shadow) Trace(pos, layer int, op model.Op, v []float32) {
	c := s.w.Config
	if op == model.OpEmbedding && pos == 0 {
		clear(s.xWin)
	}
	if op == model.OpInProj { // shift the window, append this token's conv input
		win, k := s.xWin[layer], c.DConv
		if win == nil {
			win = make([]float32, c.ConvDim()*k)
			s.xWin[layer] = win
		}
		in := v[:c.DInner] // Mamba-1: xz = x, z
		if c.Arch == model.Mamba2 {
			in = v[c.DInner : c.DInner+c.ConvDim()] // zxbcdt = z, xBC, Δ
		}
		for ch := range c.ConvDim() {
			copy(win[ch*k:], win[ch*k+1:(ch+1)*k])
			win[ch*k+k-1] = in[ch]
		}
	}
	s.plant(s, layer, op, v)
	if op == model.OpEmbedding || op == model.OpResidual {
		s.h = append(s.h[:0], v...)
	}
	s.last[trace.Key{Layer: layer, Op: op}] = append([]float32(nil), v...)
}

// get is layer's latest report of op.
func (s *shadow) get(layer int, op model.Op) []float32 {
	return s.last[trace.Key{Layer: layer, Op: op}]
}

func siluOf(v float32) float32 { return v / (1 + float32(math.Exp(float64(-v)))) }

// rmsNormEps is RMSNorm(h)·w with epsilon eps.
func rmsNormEps(out, h, w []float32, eps float32) {
	var ss float32
	for _, v := range h {
		ss += v * v
	}
	scale := 1 / float32(math.Sqrt(float64(ss/float32(len(h))+eps)))
	for i := range h {
		out[i] = h[i] * scale * w[i]
	}
}

// reversedConv is the conv of a window shifted the wrong way: newest
// first, so the filter's last tap meets the oldest x instead of the newest.
func reversedConv(out []float32, s *shadow, layer int) {
	c, lw := s.w.Config, &s.w.Layers[layer]
	k, win := c.DConv, s.xWin[layer]
	for ch := range out {
		sum := lw.Conv1dBias[ch]
		for j := range k {
			sum += win[ch*k+k-1-j] * lw.Conv1dWeight[ch*k+j]
		}
		out[ch] = sum
	}
}

// groupNorm is Mamba-2's group_norm: RMSNorm within each of g groups, times w.
func groupNorm(out, y, w []float32, g int) {
	n := len(y) / g
	for i := range g {
		rmsNormEps(out[i*n:(i+1)*n], y[i*n:(i+1)*n], w[i*n:(i+1)*n], model.RMSEps)
	}
}

// outProjResidual is the residual after out_proj: out = h + out_proj · y.
func outProjResidual(out []float32, s *shadow, outProj, y []float32) {
	matVecInto(out, outProj, y)
	for i := range out {
		out[i] += s.h[i]
	}
}

func matVecInto(out, w, x []float32) {
	for i := range out {
		var s float32
		for j, v := range x {
			s += w[i*len(x)+j] * v
		}
		out[i] = s
	}
}

// aBreak is one mistake: the case (testdata/cases/NAME) it is planted in,
// how to plant it in learning (which reports every op) and in fused (which
// reports phase ends), and the op each must be localised to.
type aBreak struct {
	name       string
	caseName   string
	learningOp model.Op
	learning   func(s *shadow, layer int, op model.Op, v []float32)
	fusedOp    model.Op // the report that ends the phase of learningOp
	fused      func(s *shadow, layer int, op model.Op, v []float32)
}

var breaks = []aBreak{
	{
		name:       "no D skip",
		caseName:   "default",
		learningOp: model.OpSkipD,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpSkipD { // y = scan's y, without + D·u
				copy(v, s.get(l, model.OpScan))
			}
		},
		fusedOp: model.OpGate,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpGate { // y −= D·u·SiLU(z)
				u, z := s.get(l, model.OpSiLU), s.get(l, model.OpInProj)[s.w.Config.DInner:]
				for c := range v {
					v[c] -= s.w.Layers[l].D[c] * u[c] * siluOf(z[c])
				}
			}
		},
	},
	convShiftedWrongWay("conv window shifted the wrong way", "default"),
	{
		name:       "RMSNorm eps 1e-6",
		caseName:   "default",
		learningOp: model.OpNorm,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			switch op {
			case model.OpNorm:
				rmsNormEps(v, s.h, s.w.Layers[l].Norm, 1e-6)
			case model.OpNormF:
				rmsNormEps(v, s.h, s.w.NormF, 1e-6)
			}
		},
		fusedOp: model.OpInProj,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpInProj { // xz = in_proj · RMSNorm_1e-6(h)
				normed := make([]float32, s.w.Config.DModel)
				rmsNormEps(normed, s.h, s.w.Layers[l].Norm, 1e-6)
				matVecInto(v, s.w.Layers[l].InProj, normed)
			}
		},
	},
	{
		name:       "softplus replaced by identity",
		caseName:   "default",
		learningOp: model.OpSoftplus,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpSoftplus {
				copy(v, s.get(l, model.OpDtProj))
			}
		},
		fusedOp: model.OpSoftplus,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpSoftplus { // dt = dt_proj · dt_low + dt_bias
				lw := &s.w.Layers[l]
				matVecInto(v, lw.DtProjWeight, s.get(l, model.OpXProj)[:s.w.Config.DtRank])
				for c := range v {
					v[c] += lw.DtProjBias[c]
				}
			}
		},
	},
	{
		name:       "gate with z and x swapped",
		caseName:   "default",
		learningOp: model.OpGate,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpGate { // y = (scan + D·u) · SiLU(x)
				y, x := s.get(l, model.OpSkipD), s.get(l, model.OpInProj)
				for c := range v {
					v[c] = y[c] * siluOf(x[c])
				}
			}
		},
		fusedOp: model.OpGate,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpGate { // y · SiLU(x) / SiLU(z)
				xz := s.get(l, model.OpInProj)
				for c := range v {
					v[c] = float32(float64(v[c]) * float64(siluOf(xz[c])) / float64(siluOf(xz[s.w.Config.DInner+c])))
				}
			}
		},
	},

	// Mamba-2 (docs/mamba2-step.md): fused reports in_proj and silu, dt_limit
	// and gate (skip_d with norm_before_gate), the ends of in_proj_conv and
	// dt_scan_gate, then residual, the end of out_proj.
	{
		name:       "Mamba-2 no D skip",
		caseName:   "m2default",
		learningOp: model.OpSkipD,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpSkipD { // y = scan's y, without + D·x
				copy(v, s.get(l, model.OpScan))
			}
		},
		fusedOp: model.OpGate,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpGate { // y −= D[head]·x·SiLU(z)
				c := s.w.Config
				x, z := s.get(l, model.OpSiLU)[:c.DInner], s.get(l, model.OpInProj)[:c.DInner]
				for ch := range v {
					v[ch] -= s.w.Layers[l].D[ch/c.HeadDim] * x[ch] * siluOf(z[ch])
				}
			}
		},
	},
	convShiftedWrongWay("Mamba-2 conv window shifted the wrong way", "m2default"),
	{
		// With n_groups 2, RMSNorm over all of y instead of each half.
		name:       "Mamba-2 group norm over the whole width",
		caseName:   "m2groups",
		learningOp: model.OpGroupNorm,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpGroupNorm {
				rmsNormEps(v, s.get(l, model.OpGate), s.w.Layers[l].GatedNorm, model.RMSEps)
			}
		},
		fusedOp: model.OpResidual,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpResidual { // h = h + out_proj · RMSNorm_whole(y)·w
				c, lw := s.w.Config, &s.w.Layers[l]
				y := make([]float32, c.DInner)
				rmsNormEps(y, s.get(l, model.OpGate), lw.GatedNorm, model.RMSEps)
				outProjResidual(v, s, lw.OutProj, y)
			}
		},
	},
	{
		// norm_before_gate: the gate follows group_norm, in out_proj's phase.
		name:       "Mamba-2 gate with z and x swapped",
		caseName:   "m2odd",
		learningOp: model.OpGate,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpGate { // y = group_norm(y) · SiLU(x)
				y, x := s.get(l, model.OpGroupNorm), s.get(l, model.OpSiLU)
				for c := range v {
					v[c] = y[c] * siluOf(x[c])
				}
			}
		},
		fusedOp: model.OpResidual,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpResidual { // h = h + out_proj · (group_norm(y) · SiLU(x))
				c, lw := s.w.Config, &s.w.Layers[l]
				y, x := make([]float32, c.DInner), s.get(l, model.OpSiLU)
				groupNorm(y, s.get(l, model.OpSkipD), lw.GatedNorm, c.NGroups)
				for ch := range y {
					y[ch] *= siluOf(x[ch])
				}
				outProjResidual(v, s, lw.OutProj, y)
			}
		},
	},
}

// convShiftedWrongWay is the conv of a window shifted the wrong way
// (reversedConv), the same mistake in Mamba-1 and Mamba-2.
func convShiftedWrongWay(name, caseName string) aBreak {
	return aBreak{
		name:       name,
		caseName:   caseName,
		learningOp: model.OpConv,
		learning: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpConv {
				reversedConv(v, s, l)
			}
		},
		fusedOp: model.OpSiLU,
		fused: func(s *shadow, l int, op model.Op, v []float32) {
			if op == model.OpSiLU {
				reversedConv(v, s, l)
				for c := range v {
					v[c] = siluOf(v[c])
				}
			}
		},
	}
}

// planted is an implementation with a mistake planted through its tracer;
// a tracer set from outside (compare's recorder) sees the planted values.
type planted struct {
	model.Mamba
	plant model.Tracer
}

func (p *planted) SetTracer(t model.Tracer) {
	p.Mamba.(model.Traceable).SetTracer(trace.Chain{p.plant, t})
}

func plantIn(m model.Mamba, err error, w *model.Weights, plant func(*shadow, int, model.Op, []float32)) (model.Mamba, error) {
	if err != nil {
		return nil, err
	}
	p := &planted{Mamba: m, plant: newShadow(w, plant)}
	p.SetTracer(nil)
	return p, nil
}

// brokenLearning is learning with plant's mistake.
func brokenLearning(plant func(*shadow, int, model.Op, []float32)) func(w *model.Weights) (model.Mamba, error) {
	return func(w *model.Weights) (model.Mamba, error) {
		m, err := learning.New(w)
		return plantIn(m, err, w, plant)
	}
}

// runBroken runs compare -trace with -impl list on testdata/cases/NAME,
// with "broken" made by newBroken, and returns its output.
func runBroken(t *testing.T, name, list string, newBroken func(w *model.Weights) (model.Mamba, error)) (string, int) {
	impls["broken"] = newBroken
	defer delete(impls, "broken")
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", name)
	var out bytes.Buffer
	code, _ := run([]string{"-trace", "-impl", list, dir}, &out)
	return out.String(), code
}

// finding returns the output line that localises row format/impl against vs.
func finding(out, row, vs string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " "+row+": ") && strings.HasSuffix(line, " vs "+vs) {
			return line
		}
	}
	return ""
}

func TestTraceLocalisesLearningBreaks(t *testing.T) {
	for _, b := range breaks {
		t.Run(b.name, func(t *testing.T) {
			out, code := runBroken(t, b.caseName, "learning,broken", brokenLearning(b.learning))
			assert.Equal(t, 1, code)
			want := "first divergence: token 0, layer 0, op " + string(b.learningOp) + ": "
			for _, vs := range []string{"reference", "model.bin/learning"} {
				line := finding(out, "model.bin/broken", vs)
				t.Log(line)
				assert.Contains(t, line, want, out)
			}
			assert.Regexp(t, `model.bin +broken .*FAIL`, out)
		})
	}
}

func TestTraceLocalisesFusedBreaks(t *testing.T) {
	for _, b := range breaks {
		t.Run(b.name, func(t *testing.T) {
			// Fused reports a phase's results after the whole phase has
			// run, so a value planted in a report is read only by the
			// phases that follow: a Δ planted at softplus changes the
			// trace but not this token's y. The localiser must still name
			// the phase.
			var cfg model.Config
			out, _ := runBroken(t, b.caseName, "learning,broken", func(w *model.Weights) (model.Mamba, error) {
				cfg = w.Config
				m, err := fused.New(w)
				return plantIn(m, err, w, b.fused)
			})
			info, ok := model.LookupOp(cfg, b.learningOp)
			require.True(t, ok, "%s is no op of %s", b.learningOp, cfg.Arch)
			want := "first divergence: token 0, layer 0, op " + string(b.fusedOp) + " (end of phase " + string(info.Phase) + "): "
			for _, vs := range []string{"model.bin/learning", "reference"} {
				line := finding(out, "model.bin/broken", vs)
				t.Log(line)
				assert.Contains(t, line, want, out)
			}
		})
	}
}

// A failing baseline is cross-checked too: against the first row that
// passed, which the reference alone decides.
func TestCompareFailingBaselineIsCrossChecked(t *testing.T) {
	noD := breaks[0]
	require.Equal(t, model.OpSkipD, noD.learningOp)
	out, code := runBroken(t, "default", "broken,learning", brokenLearning(noD.learning))
	t.Log("\n" + out)
	assert.Equal(t, 1, code)
	// The baseline fails and says how far it is from the first row that passed.
	assert.Regexp(t, `model.bin +broken .*FAIL .*; vs model.bin/learning: \S+ rel \(the first row that passed\)`, out)
	// learning is decided by the reference alone, and says how far it is from the baseline.
	assert.Regexp(t, `model.bin +learning .*PASS +vs model.bin/broken: \S+ rel`, out)
	assert.Contains(t, finding(out, "model.bin/broken", "model.bin/learning"), "first divergence: token 0, layer 0, op skip_d: ")
}

// On every case with a trace, correct implementations stay far below the
// trace tolerance on every op: the margin docs/compare.md states. A lossy
// implementation (fused-bf16) is held to it against its twin's trace, the
// float32 run of the same rounded weights.
func TestTraceNoiseFarBelowTolerance(t *testing.T) {
	const margin = 5
	for _, dir := range caseDirs(t) {
		c, err := refcase.Load(dir)
		require.NoError(t, err)
		if c.Trace == nil {
			continue
		}
		w, _, err := openFormat(dir, "model.bin")
		require.NoError(t, err)
		for _, name := range implOrder {
			newModel := func() (model.Mamba, error) { return impls[name](w) }
			got, err := recordTrace(newModel, c, name)
			require.NoError(t, err)
			want := c.Trace
			if l := lossy[name]; l != nil {
				want, err = recordTrace(func() (model.Mamba, error) { return l.newTwin(w) }, c, name+" twin")
				require.NoError(t, err)
			}
			worst := map[model.Op]float64{}
			for _, e := range want.Entries {
				one := &trace.Trace{Entries: []trace.Entry{e}}
				for _, g := range got.Entries {
					if g.Key() == e.Key() {
						cmp := trace.FirstDivergence(one, &trace.Trace{Entries: []trace.Entry{g}}, 1)
						worst[e.Op] = max(worst[e.Op], cmp.Worst.Rel())
					}
				}
			}
			var line strings.Builder
			for _, o := range model.OpsFor(w.Config) {
				if v, ok := worst[o.Op]; ok {
					fmt.Fprintf(&line, " %s %.1e", o.Op, v)
					assert.Less(t, v*margin, DefaultTraceTol, "%s %s op %s", c.Name, name, o.Op)
				}
			}
			t.Logf("%s %s:%s", c.Name, name, line.String())
		}
		w.Close()
	}
}

// Without -trace, only failing rows are localised.
func TestCompareLocalisesFailingRowsWithoutTrace(t *testing.T) {
	impls["broken"] = brokenLearning(breaks[0].learning)
	defer delete(impls, "broken")
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "default")
	var out bytes.Buffer
	code, err := run([]string{"-impl", "learning,broken", dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, finding(out.String(), "model.bin/broken", "reference"), "first divergence: token 0, layer 0, op skip_d: ")
	assert.Contains(t, finding(out.String(), "model.bin/broken", "model.bin/learning"), "first divergence: token 0, layer 0, op skip_d: ")
	assert.NotContains(t, out.String(), "cases/default model.bin/learning: ", "a passing row is not localised")
}
