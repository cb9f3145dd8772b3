package modeltest

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/sample"
)

// toy is a stand-in model.Mamba with no Mamba math: its state mixes in
// every token, and its logits depend on the whole state. It keeps the
// contract unless broken names one way to break it.
type toy struct {
	c      model.Config
	s      *model.State
	fp     uint64 // the weights' fingerprint
	logits []float32
	closed bool
	broken string
	guard  model.Guard
	tracer model.Tracer
}

func newToy(broken string) model.New {
	return func(w *model.Weights) (model.Mamba, error) {
		c := w.Config
		return &toy{c: c, s: model.NewState(c), fp: model.Fingerprint(w), logits: make([]float32, c.PaddedVocab()), broken: broken}, nil
	}
}

func (m *toy) Config() model.Config { return m.c }

func (m *toy) SetTracer(t model.Tracer) { m.tracer = t }

// enter takes the guard, unless the toy is broken so.
func (m *toy) enter() error {
	if m.broken == "unguarded" {
		return nil
	}
	return m.guard.Enter()
}

func (m *toy) leave() {
	if m.broken != "unguarded" {
		m.guard.Leave()
	}
}

func (m *toy) Forward(tok int) ([]float32, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	return m.forward(tok)
}

func (m *toy) forward(tok int) ([]float32, error) {
	if m.closed && m.broken != "usable-after-close" {
		return nil, model.ErrClosed
	}
	last := m.c.VocabSize
	if m.broken == "padding-accepted" {
		last = m.c.PaddedVocab()
	}
	if tok < 0 || tok >= last {
		return nil, model.CheckToken(model.Config{VocabSize: last}, tok)
	}
	var sum float64
	for _, xs := range [][]float32{m.s.Conv, m.s.SSM} {
		for i := range xs {
			xs[i] = 0.5*xs[i] + float32((tok+i)%7)
			sum += float64(xs[i]) * float64(i%5+1)
		}
	}
	for i := range m.logits {
		m.logits[i] = float32(math.Sin(sum + float64(i)))
	}
	if m.tracer != nil {
		m.tracer.Trace(0, -1, model.OpLMHead, m.logits)
	}
	if m.broken == "logits-off" {
		m.logits[1] += 0.01
	}
	return m.logits, nil
}

func (m *toy) State() (*model.State, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	if m.closed && m.broken != "usable-after-close" {
		return nil, model.ErrClosed
	}
	if m.broken == "state-alias" {
		return m.s, nil
	}
	s := m.s.Clone()
	if m.broken != "no-fingerprint" {
		s.Fingerprint = m.fp
	}
	return s, nil
}

func (m *toy) SetState(s *model.State) error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave()
	if m.closed && m.broken != "usable-after-close" {
		return model.ErrClosed
	}
	switch m.broken {
	case "setstate-alias":
		m.s = s
		return nil
	case "setstate-unchecked":
		copy(m.s.Conv, s.Conv)
		copy(m.s.SSM, s.SSM)
		return nil
	}
	if err := s.CheckFor(m.c); err != nil {
		return err
	}
	if m.broken != "setstate-any-weights" {
		if err := s.CheckFingerprint(m.fp); err != nil {
			return err
		}
	}
	m.s = s.Clone()
	return nil
}

func (m *toy) Reset() error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave()
	if m.closed && m.broken != "usable-after-close" {
		return model.ErrClosed
	}
	if m.broken != "reset-noop" {
		m.s = model.NewState(m.c)
	}
	return nil
}

// ForwardArgmax is Forward's sample.Argmax, as cuda's.
func (m *toy) ForwardArgmax(tok int) (int, error) {
	if err := m.enter(); err != nil {
		return 0, err
	}
	defer m.leave()
	logits, err := m.forward(tok)
	if err != nil {
		return 0, err
	}
	best := sample.Argmax(logits[:m.c.VocabSize])
	if m.broken == "argmax-off-by-one" {
		best = (best + 1) % m.c.VocabSize
	}
	return best, nil
}

func (m *toy) Close() error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave()
	if m.closed && m.broken == "close-twice-fails" {
		return os.ErrClosed
	}
	m.closed = true
	return nil
}

// A model that keeps the contract passes every check.
func TestToyKeepsTheContract(t *testing.T) {
	Run(t, newToy(""), newToy(""))
}

// An implementation that refuses Mamba-2 with model.ErrUnsupported (cuda)
// skips the Mamba-2 checks and passes the rest.
func TestMamba2UnsupportedIsSkipped(t *testing.T) {
	noMamba2 := func(w *model.Weights) (model.Mamba, error) {
		if w.Config.Arch == model.Mamba2 {
			return nil, fmt.Errorf("toy: %s models are %w", w.Config.Arch, model.ErrUnsupported)
		}
		return newToy("")(w)
	}
	Run(t, noMamba2, newToy(""))
}

// Each way of breaking the contract fails the check that is about it. The
// broken model runs in a child process (TestBrokenChild), since a failed
// check fails the test that ran it.
func TestEveryCheckCanFail(t *testing.T) {
	for broken, check := range map[string]string{
		"logits-off":           "Agree",
		"padding-accepted":     "BadTokens",
		"state-alias":          "StateIsACopy",
		"setstate-alias":       "SetStateCopiesAndRestores",
		"setstate-unchecked":   "SetStateRefusesAnotherModel",
		"setstate-any-weights": "SetStateRefusesAnotherModel",
		"reset-noop":           "Reset",
		"argmax-off-by-one":    "ForwardArgmax",
		"close-twice-fails":    "Close",
		"usable-after-close":   "Close",
		"no-fingerprint":       "Fingerprint",
		"unguarded":            "NotConcurrent",
	} {
		t.Run(broken, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenChild$", "-test.v")
			cmd.Env = append(os.Environ(), "MODELTEST_BROKEN="+broken)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a model that is %s:\n%s", broken, out)
			assert.Contains(t, string(out), "--- FAIL: TestBrokenChild/"+check, "%s", out)
			assert.Contains(t, string(out), "--- FAIL: TestBrokenChild/Mamba-2/"+check, "%s", out)
		})
	}
}

// TestBrokenChild runs the suite on the toy broken as MODELTEST_BROKEN
// says; without it, it is skipped.
func TestBrokenChild(t *testing.T) {
	broken := os.Getenv("MODELTEST_BROKEN")
	if broken == "" {
		t.Skip("run by TestEveryCheckCanFail")
	}
	Run(t, newToy(broken), newToy(""))
}
