package cli

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// traced is the counter model reporting its embedding and logits.
type traced struct {
	*counter
	tracer model.Tracer
	pos    int
}

func (m *traced) SetTracer(t model.Tracer) { m.tracer = t }
func (m *traced) Forward(tok int) ([]float32, error) {
	logits, err := m.counter.Forward(tok)
	if err == nil && m.tracer != nil {
		m.tracer.Trace(m.pos, -1, model.OpLMHead, logits)
	}
	m.pos++
	return logits, err
}

func TestTracePrintsEveryReport(t *testing.T) {
	path := testModel(t, 16)
	newTraced := func(w *model.Weights) (model.Mamba, error) {
		c, err := newCounter(w)
		return &traced{counter: c.(*counter)}, err
	}
	var stdout, stderr strings.Builder
	require.NoError(t, Run("mamba-test", []string{path, "-tokens", "3", "-n", "0", "-trace"}, &stdout, &stderr, newTraced))
	assert.Contains(t, stdout.String(), "position 0\n")
	assert.Regexp(t, `\n +- +head +lm_head +logits +\[V\] +16 +1 +0 +0 +0 +0 …\n`, stdout.String())
	assert.NotContains(t, stdout.String(), "position 1")

	_, _, err := runCLI(path, "-tokens", "3", "-trace")
	assert.ErrorContains(t, err, "-trace: mamba-test's model reports no trace")
}

// poisoned is the traced counter whose in_proj, in layer 1 of the second
// token, makes a NaN that reaches the logits.
type poisoned struct{ traced }

func (m *poisoned) Forward(tok int) ([]float32, error) {
	logits, err := m.counter.Forward(tok)
	if err != nil {
		return nil, err
	}
	if m.pos == 1 {
		inProj := []float32{1, 2, float32(math.NaN()), 4}
		if m.tracer != nil {
			m.tracer.Trace(m.pos, 0, model.OpInProj, []float32{1, 2, 3, 4})
			m.tracer.Trace(m.pos, 1, model.OpInProj, inProj)
		}
		logits[5] = float32(math.NaN())
	}
	if m.tracer != nil {
		m.tracer.Trace(m.pos, -1, model.OpLMHead, logits)
	}
	m.pos++
	return logits, nil
}

// Logits that cannot be sampled name the first op that made a non-finite
// value with -trace, and suggest -trace without it.
func TestNonFiniteLogitsNameTheirFirstOp(t *testing.T) {
	path := testModel(t, 16)
	newPoisoned := func(w *model.Weights) (model.Mamba, error) {
		c, err := newCounter(w)
		return &poisoned{traced{counter: c.(*counter)}}, err
	}
	var stdout, stderr strings.Builder
	err := Run("mamba-test", []string{path, "-tokens", "3,4", "-n", "2", "-trace"}, &stdout, &stderr, newPoisoned)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the first non-finite value is NaN at index 2 of op in_proj, layer 1, token position 1")

	err = Run("mamba-test", []string{path, "-tokens", "3,4", "-n", "2"}, &stdout, &stderr, newPoisoned)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run again with -trace")
}
