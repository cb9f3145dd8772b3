package sample

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArgmax(t *testing.T) {
	assert.Equal(t, 2, Argmax([]float32{1, -3, 7, 7, 0}), "the first of equal maxima")
	assert.Equal(t, 0, Argmax([]float32{-1}))
}

func TestGreedyIgnoresThePaddedVocabulary(t *testing.T) {
	s := New(3, 0, 1, 1)
	assert.Equal(t, 1, must(t, s)([]float32{0, 5, 1, 100, 100}), "ids 3 and 4 are padding")
}

func TestSamplingIsReproducibleAndFollowsTheDistribution(t *testing.T) {
	logits := []float32{0, 1, 2, 3, -50, 50} // the last id is padding
	draw := func(seed uint64) []int {
		s := New(5, 1, 1, seed)
		out := make([]int, 2000)
		for i := range out {
			out[i] = must(t, s)(logits)
		}
		return out
	}
	a, b := draw(7), draw(7)
	assert.Equal(t, a, b, "same seed, same tokens")
	assert.NotEqual(t, a, draw(8))

	counts := make([]int, 6)
	for _, id := range a {
		counts[id]++
	}
	assert.Zero(t, counts[5], "padding is never sampled")
	// softmax(0,1,2,3,-50) ≈ 0.032, 0.087, 0.237, 0.644, 0: check the order and rough mass.
	assert.Less(t, counts[0], counts[1])
	assert.Less(t, counts[1], counts[2])
	assert.Less(t, counts[2], counts[3])
	assert.InDelta(t, 0.644, float64(counts[3])/2000, 0.05)
	assert.Zero(t, counts[4])
}

func TestTopPKeepsOnlyTheNucleus(t *testing.T) {
	// probabilities ≈ 0.644, 0.237, 0.087, 0.032: top-p 0.7 keeps ids 3 and 2.
	s := New(4, 1, 0.7, 3)
	seen := map[int]bool{}
	for i := 0; i < 2000; i++ {
		seen[must(t, s)([]float32{0, 1, 2, 3})] = true
	}
	assert.Equal(t, map[int]bool{2: true, 3: true}, seen)

	one := New(1, 1, 0.5, 3)
	assert.Equal(t, 0, must(t, one)([]float32{4}))
}

// Coin is the draw Sample makes: a sampler that takes its coin from Coin
// and one that samples stay in step.
func TestCoinIsSamplesDraw(t *testing.T) {
	logits := []float32{0, 1, 2, 3, 0.5}
	a, b := New(5, 1, 1, 42), New(5, 1, 1, 42)
	for i := 0; i < 100; i++ {
		coin := b.Coin()
		var cdf float32
		want := len(logits) - 1
		got, err := a.Sample(logits)
		require.NoError(t, err)
		for j, p := range a.probs {
			cdf += p
			if coin < cdf {
				want = j
				break
			}
		}
		assert.Equal(t, want, got, "draw %d", i)
	}
}
