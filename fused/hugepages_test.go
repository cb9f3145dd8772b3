package fused

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// TestHugePagesCopyBothPrecisions: float32 weights mapped from model.bin
// (not packed: packed_test.go tests those) and weights narrowed to bfloat16 in memory are copied into 2 MB pages
// (where the kernel offers them), give the logits of the weights left in
// place bit for bit, and leave the caller's weights as they were (a
// narrowed block is not file-backed: its pages must not be dropped).
func TestHugePagesCopyBothPrecisions(t *testing.T) {
	c := smallShapes["130m-2layers"]
	c.VocabSize = 50280 // 77 MB of bfloat16 embedding: above hugePagesMin
	for _, bf16 := range []bool{false, true} {
		w := randomWeights(t, c)
		if bf16 {
			w = w.NarrowedToBF16() // Go memory: copied, its pages never dropped
		}
		before := model.Fingerprint(w)
		huge, err := NewOptions(w, Options{Workers: 2, Unpacked: true})
		require.NoError(t, err)
		small, err := NewOptions(w, Options{Workers: 2, SmallPages: true, Unpacked: true})
		require.NoError(t, err)
		if n, _ := huge.HugePages(); n == 0 {
			huge.Close()
			small.Close()
			t.Skip("no 2 MB pages here (transparent huge pages off?)")
		}
		n, _ := huge.HugePages()
		assert.Greater(t, n, int64(hugePagesMin), "bf16=%v", bf16)
		for _, tok := range []int{3, 50000, 17} {
			a, err := huge.Forward(tok)
			require.NoError(t, err)
			b, err := small.Forward(tok)
			require.NoError(t, err)
			require.Equal(t, b, a, "bf16=%v token %d", bf16, tok)
		}
		require.NoError(t, huge.Close())
		require.NoError(t, small.Close())
		assert.Equal(t, before, model.Fingerprint(w), "bf16=%v: the caller's weights are intact", bf16)
		if bf16 {
			assert.NotZero(t, w.Layers[1].OutProjBF16[len(w.Layers[1].OutProjBF16)/2+7])
		}
	}
}

// TestNarrowedInPlaceIsTakenAsIs: a model.bin narrowed at load into memory
// advised for 2 MB pages (model.Weights.BF16HugePages) is not copied
// again: fused streams the block as it is, with or without SmallPages.
func TestNarrowedInPlaceIsTakenAsIs(t *testing.T) {
	c := smallShapes["130m-2layers"]
	c.VocabSize = 50280
	w := randomWeights(t, c)
	w.NarrowToBF16()
	defer w.Close()
	if w.BF16HugePages() == 0 {
		t.Skip("no 2 MB pages here (transparent huge pages off?)")
	}
	for _, small := range []bool{false, true} {
		m, err := NewOptions(w, Options{Workers: 2, SmallPages: small})
		require.NoError(t, err)
		n, took := m.HugePages()
		assert.Equal(t, w.BF16HugePages(), n)
		assert.Zero(t, took, "nothing copied")
		assert.Same(t, w, m.w, "the weights as they are")
		_, err = m.Forward(5)
		require.NoError(t, err)
		require.NoError(t, m.Close())
	}
}
