package fused

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model/modeltest"
)

// TestBF16IsNotFloat32: the bfloat16 run differs from the float32 run of
// the unrounded weights (a test of the test: the rounding is really
// there), by about what rounding every weight by up to 2⁻⁸ does.
func TestBF16IsNotFloat32(t *testing.T) {
	w := modeltest.Weights(t, smallShapes["odd"], 3)
	m32, err := NewWorkers(w, 2)
	require.NoError(t, err)
	defer m32.Close()
	m16, err := NewWorkers(w.NarrowedToBF16(), 2)
	require.NoError(t, err)
	defer m16.Close()
	for _, tok := range modeltest.Tokens(w.Config, 6) {
		a, err := m32.Forward(tok)
		require.NoError(t, err)
		b, err := m16.Forward(tok)
		require.NoError(t, err)
		rel := modeltest.MaxAbsDiff(a, b) / modeltest.MaxAbs(a)
		assert.Greater(t, rel, 1e-5, "token %d", tok)
		assert.Less(t, rel, 0.05, "token %d", tok)
	}
}

func TestBF16WorkerCountsAgreeBitForBit(t *testing.T) {
	requireWorkerCountsAgree(t, randomWeights(t, smallShapes["odd"]).NarrowedToBF16(), []int{5, 17, 99, 0, 42}, 2, 3)
}

func TestBF16ForwardAndPromptAllocateNothing(t *testing.T) {
	m, err := NewWorkers(randomWeights(t, smallShapes["odd"]).NarrowedToBF16(), 2)
	require.NoError(t, err)
	defer m.Close()
	prompt := modeltest.Tokens(m.c, 2*promptChunk+5)
	_, err = m.ForwardPrompt(prompt) // the prompt buffers are made on first use
	require.NoError(t, err)
	tok := 0
	assert.Zero(t, testing.AllocsPerRun(20, func() {
		tok = (tok + 1) % 101
		if _, err := m.Forward(tok); err != nil {
			panic(err)
		}
	}))
	assert.Zero(t, testing.AllocsPerRun(5, func() {
		if _, err := m.ForwardPrompt(prompt); err != nil {
			panic(err)
		}
	}))
}

// TestBF16PromptMatchesTokenByToken: the batched prompt on bfloat16
// weights (matMatBF16) leaves the logits and state of feeding the tokens
// one by one (matVecBF16), to rounding.
func TestBF16PromptMatchesTokenByToken(t *testing.T) {
	for name, c := range smallShapes {
		t.Run(name, func(t *testing.T) {
			w := modeltest.Weights(t, c, 4).NarrowedToBF16()
			a, err := NewWorkers(w, 2)
			require.NoError(t, err)
			defer a.Close()
			b, err := NewWorkers(w, 2)
			require.NoError(t, err)
			defer b.Close()
			prompt := modeltest.Tokens(c, promptChunk+7)
			got, err := a.ForwardPrompt(prompt)
			require.NoError(t, err)
			want := modeltest.Feed(t, b, prompt)
			last := want[len(want)-1]
			assert.LessOrEqual(t, modeltest.MaxAbsDiff(got, last)/modeltest.MaxAbs(last), 1e-5)
		})
	}
}
