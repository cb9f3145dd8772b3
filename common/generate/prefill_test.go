package generate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// promptModel adds ForwardPrompt, as fused.Mamba has it.
type promptModel struct {
	*fakeModel
	prompts, promptTokens int
}

func (p *promptModel) ForwardPrompt(tokens []int) ([]float32, error) {
	p.prompts++
	p.promptTokens += len(tokens)
	var logits []float32
	for _, tok := range tokens {
		var err error
		if logits, err = p.Forward(tok); err != nil {
			return nil, err
		}
	}
	return logits, nil
}

func TestPromptGoesThroughForwardPrompt(t *testing.T) {
	for _, temperature := range []float32{0, 0.8} {
		plain := collect(t, newFake(), temperature)
		pm := &promptModel{fakeModel: newFake()}
		assert.Equal(t, plain, collect(t, pm, temperature), "same tokens, temperature %g", temperature)
		assert.Equal(t, 1, pm.prompts, "the prompt in one call")
		assert.Equal(t, 3, pm.promptTokens)
		assert.Equal(t, 3+19, pm.forwards, "then one Forward per generated token")
	}
}
