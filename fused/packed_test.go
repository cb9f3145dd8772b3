package fused

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// Packing as New does it, judged on whole models: packed products give
// the float32 model's logits, and the products that cannot pack, or
// should not, stay float32.

// TestPackedModelIsTheFloat32Model: New packs a model's products (a
// model.bin's, from its file mapping) and gives the logits of the
// unpacked model to rounding (a row with escapes adds them after its
// sum); the batched prompt, whose matrix products unpack exactly, leaves
// the same conv state bit for bit; worker counts agree bit for bit.
func TestPackedModelIsTheFloat32Model(t *testing.T) {
	c := model.ShapeOf(256, 2) // whole vector widths, small enough for -race
	c.VocabSize = 1003
	w := randomWeights(t, c)
	before := model.Fingerprint(w)
	pk, err := NewOptions(w, Options{Workers: 2})
	require.NoError(t, err)
	defer pk.Close()
	plain, err := NewOptions(w, Options{Workers: 2, Unpacked: true})
	require.NoError(t, err)
	defer plain.Close()
	n, _ := pk.Packed()
	d, di := c.DModel, c.DInner
	want := int64(c.NLayers*(2*di*d+d*di)+c.PaddedVocab()*d) / 8 * 28
	assert.Equal(t, want, n, "in_proj, out_proj and the head packed, the tied head once")
	assert.Equal(t, "float32", pk.mats.Layers[1].XProj.Format(), "x_proj stays float32")
	assert.Equal(t, "float32", pk.mats.Layers[1].DtProj.Format(), "dt_proj stays float32")
	assert.Equal(t, "packed", pk.mats.LMHead.Format())
	assert.Same(t, &pk.mats.Embedding.Bytes()[0], &pk.mats.LMHead.Bytes()[0], "the tied head is the embedding")
	escapes := 0
	for _, l := range pk.mats.Layers {
		escapes += l.InProj.Escapes() + l.OutProj.Escapes()
	}
	assert.Positive(t, escapes, "the random init's weights include escapes")
	n0, _ := plain.Packed()
	assert.Zero(t, n0)

	for _, tok := range []int{3, 1000, 17, 17} {
		a, err := pk.Forward(tok)
		require.NoError(t, err)
		b, err := plain.Forward(tok)
		require.NoError(t, err)
		requireCloseLogits(t, b, a, 1e-6)
	}
	require.NoError(t, pk.Reset())
	require.NoError(t, plain.Reset())
	prompt := []int{1, 2, 3, 400, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50}
	_, err = pk.ForwardPrompt(prompt)
	require.NoError(t, err)
	_, err = plain.ForwardPrompt(prompt)
	require.NoError(t, err)
	sa, err := pk.State()
	require.NoError(t, err)
	sb, err := plain.State()
	require.NoError(t, err)
	require.Equal(t, sb.Conv, sa.Conv, "the batched prompt's conv state (in_proj's, unpacked exactly), bit for bit")
	requireCloseLogits(t, sb.SSM, sa.SSM, 1e-6) // Δ's product adds its escapes after the sum
	assert.Equal(t, before, model.Fingerprint(w), "the caller's weights are intact (their file pages were only dropped)")
	requireWorkerCountsAgree(t, w, []int{3, 999, 17, 17}, 1, 2, 3)
}

// requireCloseLogits: got within tol of want, relative to want's largest
// |logit|.
func requireCloseLogits(t *testing.T, want, got []float32, tol float64) {
	t.Helper()
	require.Len(t, got, len(want))
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		require.InDelta(t, float64(want[i]), float64(got[i]), tol*scale, "logit %d", i)
	}
}

// TestTooManyEscapesStayFloat32: a product whose weights spread over more
// than 16 top bytes in more than one weight in 256 is not packed, and the
// model still gives the unpacked logits.
func TestTooManyEscapesStayFloat32(t *testing.T) {
	c := smallShapes["odd"]
	c.DInner = 80 // out_proj's rows: whole groups of 8
	w, err := model.RandomWeights(c, 3)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	out := w.Layers[1].OutProj
	for i := range out {
		out[i] = float32(math.Ldexp(rng.Float64(), -rng.IntN(40))) // 40 octaves
	}
	pk, err := NewOptions(w, Options{Workers: 1})
	require.NoError(t, err)
	defer pk.Close()
	assert.Equal(t, "float32", pk.mats.Layers[1].OutProj.Format(), "out_proj of layer 1 stays float32")
	assert.Equal(t, "packed", pk.mats.Layers[0].OutProj.Format(), "layer 0's packs")
	assert.Equal(t, "float32", pk.mats.Layers[0].InProj.Format(), "d_model 37: not whole groups")
	plain, err := NewOptions(w, Options{Workers: 1, Unpacked: true})
	require.NoError(t, err)
	defer plain.Close()
	for _, tok := range []int{1, 2, 3} {
		a, err := pk.Forward(tok)
		require.NoError(t, err)
		b, err := plain.Forward(tok)
		require.NoError(t, err)
		requireCloseLogits(t, b, a, 1e-6)
	}
}

// TestLargeWeightsInMemoryStayFloat32: products of 32 MB or more
// that lie in the process's own memory, not a file's mapping (a checkpoint
// converted to float32 at load), are not packed: their memory could not be
// given back, and the process would hold them twice.
func TestLargeWeightsInMemoryStayFloat32(t *testing.T) {
	c := smallShapes["130m-2layers"]
	w, err := model.RandomWeights(c, 5) // 38 MB of products, in Go memory
	require.NoError(t, err)
	m, err := NewOptions(w, Options{Workers: 1})
	require.NoError(t, err)
	defer m.Close()
	n, _ := m.Packed()
	assert.Zero(t, n)
	assert.Equal(t, "float32", m.mats.LMHead.Format())
	mapped := randomWeights(t, c) // the same shape from a file's mapping
	pm, err := NewOptions(mapped, Options{Workers: 1})
	require.NoError(t, err)
	defer pm.Close()
	n, _ = pm.Packed()
	assert.Positive(t, n)
}

// TestNothingPackedStillTwoMBPages: weights of which no product packs
// (rows not whole groups of 8) are copied into 2 MB pages as unpacked
// ones are.
func TestNothingPackedStillTwoMBPages(t *testing.T) {
	c := smallShapes["130m-2layers"]
	c.DModel, c.DInner = 770, 1540 // 43 MB, no row a whole number of groups
	w := randomWeights(t, c)
	m, err := NewOptions(w, Options{Workers: 1})
	require.NoError(t, err)
	defer m.Close()
	n, _ := m.Packed()
	assert.Zero(t, n)
	_, arena := hugePageWeights(w)
	if arena == nil {
		t.Skip("no 2 MB pages here (transparent huge pages off?)")
	}
	arena.Close()
	huge, _ := m.HugePages()
	assert.Equal(t, int64(len(arena)), huge)
}
