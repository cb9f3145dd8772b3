// Package modeltest is model.Mamba's contract written as one test suite,
// which every implementation runs on itself (learning, fused at several
// worker counts, cuda on a GPU), on Mamba-1 models and again on Mamba-2
// models (skipped, with the reason, by an implementation that refuses
// Mamba-2 with model.ErrUnsupported):
//
//   - the logits agree with a reference implementation's (learning) within
//     refcase.DefaultTol on random models of odd shapes (Agree);
//   - token ids outside the vocabulary, the padding rows included, are
//     refused and change nothing;
//   - State returns a copy and SetState takes one, a restored state
//     continues bit for bit, and a state of another shape is refused;
//   - Reset empties the state: the next logits are a fresh model's;
//   - ForwardArgmax, where there is one, picks sample.Argmax of the logits;
//   - State's Fingerprint is model.Fingerprint of the weights, whatever
//     state was set;
//   - a call made while another is in progress (held there by a tracer,
//     on a model that is model.Traceable) returns model.ErrConcurrentUse
//     and changes nothing;
//   - Close twice returns nil, and every method after Close returns
//     model.ErrClosed.
package modeltest

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/sample"
)

// Shape is a model config that the suite builds a random model of.
type Shape struct {
	Name   string
	Config model.Config
}

// OddShapes are small models whose sizes are not the real ones and not
// multiples of any vector width: d_state not a multiple of 8 (1, 5, 7, 13,
// 33), d_conv 1, 2, 3 and 4, dt_rank 1 and above a warp's 32 lanes,
// vocabularies that need padding, tied and untied heads, one to three
// layers.
var OddShapes = []Shape{
	{"odd-untied-3layers", model.Config{NLayers: 3, VocabSize: 37, DModel: 10, DInner: 30, DtRank: 3, DState: 7, DConv: 3}},
	{"k1-r1-n1", model.Config{NLayers: 1, VocabSize: 9, DModel: 4, DInner: 8, DtRank: 1, DState: 1, DConv: 1, TiedHead: true}},
	{"d13-r1", model.Config{NLayers: 2, VocabSize: 77, DModel: 13, DInner: 27, DtRank: 1, DState: 5, DConv: 3}},
	{"wide-state", model.Config{NLayers: 2, VocabSize: 101, DModel: 40, DInner: 80, DtRank: 40, DState: 33, DConv: 4, TiedHead: true}},
	{"d37-k2", model.Config{NLayers: 2, VocabSize: 1001, DModel: 37, DInner: 75, DtRank: 3, DState: 13, DConv: 2}},
}

// OddShapes2 are small Mamba-2 models (docs/mamba2-step.md): several heads
// and one head, one to three groups, d_state (1, 5, 7, 13) and head_dim (3,
// 4, 6, 8) mostly neither multiples of 8 nor powers of two, d_conv 1 to 4,
// tied and untied heads, RMSNorm before the gate and a time_step_limit
// that clamps Δ on both sides.
var OddShapes2 = []Shape{
	{"m2-h4-p6-n5-untied", model.NewMamba2Config(2, 37, 12, 2, 6, 1, 5, 3, false)},                               // d_inner 24
	{"m2-g2-h10-p3-n13", model.NewMamba2Config(2, 77, 10, 3, 3, 2, 13, 4, true)},                                 // d_inner 30
	{"m2-g3-h9-p4-n7-nbg-limit", normBeforeGateLimited(model.NewMamba2Config(3, 101, 18, 2, 4, 3, 7, 2, false))}, // d_inner 36
	{"m2-h1-p8-n1-k1", model.NewMamba2Config(1, 9, 4, 2, 8, 1, 1, 1, true)},                                      // d_inner 8
}

func normBeforeGateLimited(c model.Config) model.Config {
	c.NormBeforeGate, c.DtMin, c.DtMax = true, 0.002, 0.05
	return c
}

// contractShape and contractShape2 are the models the contract checks
// (everything but Agree) run on.
var contractShape, contractShape2 = OddShapes[0].Config, OddShapes2[0].Config

// FalconShapes are odd shapes (as OddShapes) of Falcon-Mamba, whose
// mixer norms run over dt_rank 1 (a norm of one value), 3 and 40 values
// and d_state 1, 7 and 33, with epsilons other than the released 1e-6.
var FalconShapes = []Shape{
	{"falcon-odd-untied", model.NewFalconConfig(3, 37, 10, 30, 3, 7, 3, false, 1e-6)},
	{"falcon-r1-n1", model.NewFalconConfig(1, 9, 4, 8, 1, 1, 1, true, 1e-5)},
	{"falcon-wide-state", model.NewFalconConfig(2, 101, 40, 80, 40, 33, 4, true, 3e-6)},
}

// Weights returns a random model of config c (model.RandomWeights) whose
// norms, D, conv bias and dt bias, constants in a random model, vary, so
// that every term of a step counts.
func Weights(t testing.TB, c model.Config, seed uint64) *model.Weights {
	t.Helper()
	w, err := model.RandomWeights(c, seed)
	require.NoError(t, err)
	wave := func(xs []float32, scale, shift float32, freq float64) {
		for i := range xs {
			xs[i] = xs[i]*scale*(1+0.5*float32(math.Sin(freq*float64(i)))) + shift*float32(math.Cos(freq*float64(i)))
		}
	}
	for l := range w.Layers {
		ly := &w.Layers[l]
		wave(ly.Norm, 1, 0, 1)
		wave(ly.D, 1, 0, 1)
		wave(ly.Conv1dBias, 1, 0.1, 1)
		wave(ly.DtProjBias, 1, 2, 3) // Δ from about 0.001 to 0.07
		wave(ly.GatedNorm, 1, 0, 1)  // Mamba-2's only
	}
	wave(w.NormF, 1, 0, 1)
	return w
}

// Tokens are n token ids spread over c's vocabulary, the same every run.
func Tokens(c model.Config, n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % c.VocabSize
	}
	return ids
}

// Run holds the models newModel makes to model.Mamba's contract, with the
// models reference makes (learning.New) as the judge of the logits: on
// Mamba-1 models, then under Mamba-2/ on Mamba-2 models. An implementation
// that refuses Mamba-2 with model.ErrUnsupported skips Mamba-2/, saying why.
func Run(t *testing.T, newModel, reference model.New) {
	t.Run("Agree", func(t *testing.T) { Agree(t, newModel, reference, OddShapes) })
	contract(t, newModel, Weights(t, contractShape, 1))
	t.Run("Mamba-2", func(t *testing.T) {
		w := Weights(t, contractShape2, 1)
		m, err := newModel(w)
		if errors.Is(err, model.ErrUnsupported) {
			t.Skip(err)
		}
		require.NoError(t, err)
		require.NoError(t, m.Close())
		t.Run("Agree", func(t *testing.T) { Agree(t, newModel, reference, OddShapes2) })
		contract(t, newModel, w)
	})
}

// contract runs every check but Agree on a model of weights w.
func contract(t *testing.T, newModel model.New, w *model.Weights) {
	t.Run("BadTokens", func(t *testing.T) { badTokens(t, newModel, w) })
	t.Run("StateIsACopy", func(t *testing.T) { stateIsACopy(t, newModel, w) })
	t.Run("SetStateCopiesAndRestores", func(t *testing.T) { setStateCopies(t, newModel, w) })
	t.Run("SetStateRefusesAnotherModel", func(t *testing.T) { setStateRefuses(t, newModel, w) })
	t.Run("Reset", func(t *testing.T) { reset(t, newModel, w) })
	t.Run("ForwardArgmax", func(t *testing.T) { forwardArgmax(t, newModel, w) })
	t.Run("Fingerprint", func(t *testing.T) { fingerprint(t, newModel, w) })
	t.Run("NotConcurrent", func(t *testing.T) { notConcurrent(t, newModel, w) })
	t.Run("Close", func(t *testing.T) { closeTwice(t, newModel, w) })
}

// Agree runs newModel and reference side by side on a random model of
// each shape and requires every step's logits, over the padded vocabulary,
// within refcase.DefaultTol of the reference's largest |logit|, and the
// state after the last token as close.
func Agree(t *testing.T, newModel, reference model.New, shapes []Shape) {
	for _, sh := range shapes {
		t.Run(sh.Name, func(t *testing.T) {
			c := sh.Config
			w := Weights(t, c, 7)
			ref, m := open(t, reference, w), open(t, newModel, w)
			var worst float64
			for i, tok := range Tokens(c, 12) {
				want, err := ref.Forward(tok)
				require.NoError(t, err)
				got, err := m.Forward(tok)
				require.NoError(t, err)
				require.Len(t, got, c.PaddedVocab())
				rel := MaxAbsDiff(got, want) / MaxAbs(want)
				worst = math.Max(worst, rel)
				assert.LessOrEqual(t, rel, refcase.DefaultTol, "token %d: logits off by %.3g of the largest |logit|", i, rel)
			}
			t.Logf("%s: worst logit error %.3g of the largest |logit|", c, worst)
			rs, gs := state(t, ref), state(t, m)
			assert.LessOrEqual(t, MaxAbsDiff(gs.Conv, rs.Conv), refcase.DefaultTol*math.Max(1, MaxAbs(rs.Conv)), "conv state")
			assert.LessOrEqual(t, MaxAbsDiff(gs.SSM, rs.SSM), refcase.DefaultTol*math.Max(1, MaxAbs(rs.SSM)), "ssm state")
		})
	}
}

// badTokens: ids below 0, at VocabSize, in the padding and beyond are
// refused, and a refused id leaves the state as it was.
func badTokens(t *testing.T, newModel model.New, w *model.Weights) {
	c := w.Config
	m, fresh := open(t, newModel, w), open(t, newModel, w)
	bad := []int{-1, c.VocabSize, c.PaddedVocab() - 1, c.PaddedVocab(), math.MaxInt32, math.MinInt}
	g, hasArgmax := m.(model.ArgmaxForwarder)
	for _, tok := range bad {
		_, err := m.Forward(tok)
		assert.ErrorContains(t, err, "out of range", "Forward(%d)", tok)
		if hasArgmax {
			_, err := g.ForwardArgmax(tok)
			assert.ErrorContains(t, err, "out of range", "ForwardArgmax(%d)", tok)
		}
	}
	assert.Equal(t, model.NewState(c), values(state(t, m)), "refused tokens changed the state")
	assert.Equal(t, Feed(t, fresh, []int{1, 2}), Feed(t, m, []int{1, 2}), "refused tokens changed the logits")
}

// stateIsACopy: the tokens that follow do not change a state taken, and
// changing a taken state does not change the model.
func stateIsACopy(t *testing.T, newModel model.New, w *model.Weights) {
	m := open(t, newModel, w)
	tokens := Tokens(w.Config, 6)
	Feed(t, m, tokens[:3])
	s := state(t, m)
	kept := s.Clone()
	Feed(t, m, tokens[3:])
	assert.Equal(t, kept, s, "the tokens after State changed the copy it returned")

	now := state(t, m)
	want := now.Clone()
	bump(now)
	assert.Equal(t, want, state(t, m), "changing State's copy changed the model")
}

// setStateCopies: a state restored into a fresh model continues bit for
// bit, and changing it after SetState changes nothing.
func setStateCopies(t *testing.T, newModel model.New, w *model.Weights) {
	a, b := open(t, newModel, w), open(t, newModel, w)
	tokens := Tokens(w.Config, 8)
	Feed(t, a, tokens[:4])
	s := state(t, a)
	want := Feed(t, a, tokens[4:])

	require.NoError(t, b.SetState(s))
	bump(s)
	assert.Equal(t, want, Feed(t, b, tokens[4:]), "a restored state (changed after SetState) continued differently")
}

// setStateRefuses: a state of another shape, whose lengths lie about its
// config, or whose fingerprint names other weights, is refused, and the
// model keeps its own.
func setStateRefuses(t *testing.T, newModel model.New, w *model.Weights) {
	c := w.Config
	m := open(t, newModel, w)
	Feed(t, m, Tokens(c, 3))
	before := state(t, m)
	other := func(f func(*model.Config)) *model.State {
		oc := c
		f(&oc)
		return model.NewState(oc)
	}
	for name, s := range map[string]*model.State{
		"d_state+1":  other(func(c *model.Config) { c.DState++ }),
		"n_layers-1": other(func(c *model.Config) { c.NLayers-- }),
		"d_conv+1":   other(func(c *model.Config) { c.DConv++ }),
		// Another padded vocabulary: the same one unpadded and padded (a
		// model.bin's and an HF config's) are the same model.
		"vocab+8":       other(func(c *model.Config) { c.VocabSize += model.VocabMultiple }),
		"short ssm":     {Config: c, Conv: before.Conv, SSM: before.SSM[:len(before.SSM)-1]},
		"long conv":     {Config: c, Conv: append(before.Clone().Conv, 0), SSM: before.SSM},
		"other weights": {Config: c, Fingerprint: before.Fingerprint ^ 1, Conv: before.Conv, SSM: before.SSM},
	} {
		assert.Error(t, m.SetState(s), name)
	}
	assert.Equal(t, before, state(t, m), "a refused state changed the model's")
}

// reset: Reset empties the state, and the next logits are a fresh model's.
func reset(t *testing.T, newModel model.New, w *model.Weights) {
	m, fresh := open(t, newModel, w), open(t, newModel, w)
	tokens := Tokens(w.Config, 5)
	first := Feed(t, m, tokens)
	require.NoError(t, m.Reset())
	assert.Equal(t, model.NewState(w.Config), values(state(t, m)), "the state after Reset")
	again := Feed(t, m, tokens)
	assert.Equal(t, Feed(t, fresh, tokens), again, "after Reset the logits are a fresh model's")
	assert.Equal(t, first, again)
}

// forwardArgmax: a model that has ForwardArgmax picks what sample.Argmax
// picks from the logits over the unpadded vocabulary.
func forwardArgmax(t *testing.T, newModel model.New, w *model.Weights) {
	a, b := open(t, newModel, w), open(t, newModel, w)
	g, ok := b.(model.ArgmaxForwarder)
	if !ok {
		t.Skip("no ForwardArgmax")
	}
	v := w.Config.VocabSize
	for i, tok := range Tokens(w.Config, 10) {
		logits, err := a.Forward(tok)
		require.NoError(t, err)
		best, err := g.ForwardArgmax(tok)
		require.NoError(t, err)
		assert.Equal(t, sample.Argmax(logits[:v]), best, "token %d", i)
	}
}

// fingerprint: State's Fingerprint is model.Fingerprint of the model's
// weights, from the empty state on, after tokens, and after SetState of a
// state that names no weights or Reset: a state the model saves names the
// weights that made its next tokens.
func fingerprint(t *testing.T, newModel model.New, w *model.Weights) {
	m := open(t, newModel, w)
	want := model.Fingerprint(w)
	assert.Equal(t, want, state(t, m).Fingerprint, "the empty state")
	Feed(t, m, Tokens(w.Config, 2))
	assert.Equal(t, want, state(t, m).Fingerprint, "after tokens")
	other := model.NewState(w.Config) // fingerprint 0: weights unknown
	require.NoError(t, m.SetState(other))
	assert.Equal(t, want, state(t, m).Fingerprint, "after SetState of a state without a fingerprint")
	require.NoError(t, m.Reset())
	assert.Equal(t, want, state(t, m).Fingerprint, "after Reset")
}

// notConcurrent: while Forward is in progress (held in its first tracer
// call), each method but Config, called from another goroutine, returns
// model.ErrConcurrentUse at once; the call in progress and the model after
// it are as if those calls had not been made.
func notConcurrent(t *testing.T, newModel model.New, w *model.Weights) {
	c := w.Config
	m, fresh := open(t, newModel, w), open(t, newModel, w)
	tm, ok := m.(model.Traceable)
	if !ok {
		t.Skip("not model.Traceable: nothing holds a call in progress")
	}
	calls := map[string]func() error{
		"Forward":  func() error { _, err := m.Forward(1); return err },
		"State":    func() error { _, err := m.State(); return err },
		"SetState": func() error { return m.SetState(model.NewState(c)) },
		"Reset":    m.Reset,
		"Close":    m.Close,
	}
	if g, ok := m.(model.ArgmaxForwarder); ok {
		calls["ForwardArgmax"] = func() error { _, err := g.ForwardArgmax(1); return err }
	}
	errs := map[string]error{}
	held := false
	// The tracer runs inside the step, on the goroutine that called
	// Forward (fused: its worker 0, while the others wait at a barrier):
	// each call it starts runs while the step is in progress.
	tm.SetTracer(model.TracerFunc(func(int, int, model.Op, []float32) {
		if held {
			return
		}
		held = true
		for name, call := range calls {
			done := make(chan error)
			go func() { done <- call() }()
			errs[name] = <-done
		}
	}))
	tokens := Tokens(c, 3)
	got := Feed(t, m, tokens[:1])
	tm.SetTracer(nil)
	require.True(t, held, "the tracer was called")
	for name := range calls {
		assert.ErrorIs(t, errs[name], model.ErrConcurrentUse, "%s during Forward", name)
	}
	assert.Equal(t, Feed(t, fresh, tokens[:1]), got, "the refused calls changed the step in progress")
	assert.Equal(t, Feed(t, fresh, tokens[1:]), Feed(t, m, tokens[1:]), "the refused calls changed the model")
}

// closeTwice: Close, then Close again, return nil; every method after
// Close but Config returns model.ErrClosed.
func closeTwice(t *testing.T, newModel model.New, w *model.Weights) {
	c := w.Config
	m, err := newModel(w)
	require.NoError(t, err)
	Feed(t, m, []int{1})
	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "a second Close")
	_, err = m.Forward(0)
	assert.ErrorIs(t, err, model.ErrClosed, "Forward")
	_, err = m.State()
	assert.ErrorIs(t, err, model.ErrClosed, "State")
	assert.ErrorIs(t, m.SetState(model.NewState(c)), model.ErrClosed, "SetState")
	assert.ErrorIs(t, m.Reset(), model.ErrClosed, "Reset")
	if g, ok := m.(model.ArgmaxForwarder); ok {
		_, err = g.ForwardArgmax(0)
		assert.ErrorIs(t, err, model.ErrClosed, "ForwardArgmax")
	}
	assert.Equal(t, c, m.Config())
}

// open makes a model that the test closes at its end.
func open(t *testing.T, newModel model.New, w *model.Weights) model.Mamba {
	t.Helper()
	m, err := newModel(w)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, m.Close()) })
	return m
}

// Feed runs tokens through m and returns a copy of every step's logits.
func Feed(t *testing.T, m model.Mamba, tokens []int) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, tok := range tokens {
		logits, err := m.Forward(tok)
		require.NoError(t, err)
		out = append(out, append([]float32(nil), logits...))
	}
	return out
}

func state(t *testing.T, m model.Mamba) *model.State {
	t.Helper()
	s, err := m.State()
	require.NoError(t, err)
	return s
}

// values is s without its fingerprint (the Fingerprint check's), to
// compare with a state made here.
func values(s *model.State) *model.State {
	v := *s
	v.Fingerprint = 0
	return &v
}

// bump changes every value of s.
func bump(s *model.State) {
	for i := range s.Conv {
		s.Conv[i]++
	}
	for i := range s.SSM {
		s.SSM[i]++
	}
}

// MaxAbs is the largest |x|.
func MaxAbs(xs []float32) float64 {
	var m float64
	for _, x := range xs {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// MaxAbsDiff is the largest |a[i] − b[i]|.
func MaxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
