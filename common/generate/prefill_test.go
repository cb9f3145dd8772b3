package generate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/sample"
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

// A long prompt reports its progress: a model.PromptForwarder gets it in
// pieces of promptPiece tokens, and the tokens made are the same.
func TestPromptProgressInPieces(t *testing.T) {
	prompt := make([]int, 2*promptPiece+40)
	for i := range prompt {
		prompt[i] = i % 13
	}
	run := func(m model.Mamba, progress func(done, total int64)) []int {
		var got []int
		s := sample.New(13, 0.8, 0.9, 42)
		_, err := Generate(m, prompt, s, Options{Steps: 5, StopToken: -1, PromptProgress: progress},
			func(id int) error { got = append(got, id); return nil })
		require.NoError(t, err)
		return got
	}
	whole := &promptModel{fakeModel: newFake()}
	want := run(whole, nil)
	assert.Equal(t, 1, whole.prompts, "without a progress report the prompt goes at once")

	pm := &promptModel{fakeModel: newFake()}
	var reports [][2]int64
	got := run(pm, func(done, total int64) { reports = append(reports, [2]int64{done, total}) })
	assert.Equal(t, want, got)
	assert.Equal(t, 3, pm.prompts)
	n := int64(len(prompt))
	assert.Equal(t, [][2]int64{{0, n}, {promptPiece, n}, {2 * promptPiece, n}, {n, n}}, reports)

	// Token by token, each token is reported.
	reports = nil
	run(newFake(), func(done, total int64) { reports = append(reports, [2]int64{done, total}) })
	require.Len(t, reports, len(prompt)+1)
	assert.Equal(t, [2]int64{n, n}, reports[len(prompt)])
}
