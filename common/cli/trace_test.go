package cli

import (
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
