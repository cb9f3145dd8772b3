package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"mamba.go/common/model"
)

func TestBytesPerToken(t *testing.T) {
	c := model.Shapes["130m"]
	// Every parameter once (the tied head is the embedding: counted once),
	// less the embedding table but one row of it, plus the state twice.
	params := c.NumParams() - int64(c.PaddedVocab()*c.DModel) + int64(c.DModel)
	params += int64(c.PaddedVocab() * c.DModel) // the head
	state := 2 * int64(c.NLayers*c.DInner*(c.DConv+c.DState))
	assert.Equal(t, 4*(params+state), bytesPerToken(c))
	assert.InDelta(t, 522.4e6, float64(bytesPerToken(c)), 0.1e6)

	// Mamba-2 130m: in_proj (3352 rows), conv over 1792 channels, out_proj
	// and the rest, the head once, and a state of 24·(1792·4 + 24·64·128) floats.
	c2 := model.Shapes2["130m"]
	layer := int64(3352*768 + 1792*4 + 1792 + 3*24 + 1536 + 768*1536 + 768)
	floats := 24*layer + 768 + int64(50280*768) + 768
	state2 := int64(2 * 24 * (1792*4 + 24*64*128))
	assert.Equal(t, 4*(floats+state2), bytesPerToken(c2))
	assert.InDelta(t, 18.9e6, float64(4*24*24*64*128), 0.1e6, "the SSM state")
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, median(nil))
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	xs := []float64{3, 1, 2}
	median(xs)
	assert.Equal(t, []float64{3, 1, 2}, xs, "median must not reorder its input")
}

func TestSum(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1000} {
		b := make([]uint64, n)
		want := uint64(0)
		for i := range b {
			b[i] = uint64(i*i + 1)
			want += b[i]
		}
		assert.Equal(t, want, sum(b), "n %d", n)
	}
}

func TestOutputPatterns(t *testing.T) {
	m := genRE.FindStringSubmatch("\nprompt: 9 tokens, 80.1 tok/s; generated: 128 tokens, 93.5 tok/s\n")
	assert.Equal(t, []string{"generated: 128 tokens, 93.5 tok/s", "128", "93.5"}, m)
	m = torchRE.FindStringSubmatch("generated: [1, 2]\npytorch: 16.0 tok/s\n")
	assert.Equal(t, "16.0", m[1])
}
