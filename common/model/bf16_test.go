package model

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBF16RoundsToNearestEven(t *testing.T) {
	for _, tc := range []struct {
		in   uint32 // float32 bits
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1 exactly
		{0x3f808000, 0x3f80}, // halfway, last kept bit 0: down to even
		{0x3f818000, 0x3f82}, // halfway, last kept bit 1: up to even
		{0x3f808001, 0x3f81}, // just over half: up
		{0x3f807fff, 0x3f80}, // just under half: down
		{0xbf808001, 0xbf81}, // negative, magnitude up
		{0x7f7fffff, 0x7f80}, // the largest float32 rounds to +Inf, as in PyTorch
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x00000001, 0x0000}, // the smallest subnormal rounds to 0
	} {
		assert.Equal(t, tc.want, BF16FromFloat32(math.Float32frombits(tc.in)), "%#08x", tc.in)
	}
	nan := BF16FromFloat32(math.Float32frombits(0x7f800001)) // a signalling NaN with a low payload
	assert.True(t, math.IsNaN(float64(Float32FromBF16(nan))), "NaN stays NaN: %#04x", nan)
}

func TestBF16WidensExactlyAndRoundTrips(t *testing.T) {
	for b := range 1 << 16 {
		f := Float32FromBF16(uint16(b))
		if math.IsNaN(float64(f)) {
			continue
		}
		require.Equal(t, uint16(b), BF16FromFloat32(f), "%#04x", b)
	}
	// The relative error of narrowing is at most 2⁻⁸.
	for _, f := range []float32{1.00390625, 3.14159265, -2.7182817, 1e-20, 6.5e4} {
		g := Float32FromBF16(BF16FromFloat32(f))
		assert.LessOrEqual(t, math.Abs(float64(g-f)/float64(f)), 1.0/256, "%g → %g", f, g)
	}
}

func TestBytesAsBF16(t *testing.T) {
	b := []byte{0x80, 0x3f, 0x00, 0xc0, 0x01}
	assert.Equal(t, []uint16{0x3f80, 0xc000}, BytesAsBF16(b))
	assert.Equal(t, []uint16{0x003f, 0x01c0}, BytesAsBF16(b[1:]), "odd address: decoded, not viewed")
	assert.Nil(t, BytesAsBF16(b[:1]))
	assert.Equal(t, []uint16{0x3f80, 0x0001}, ToBF16([]float32{1, 9.18355e-41}))
}

func TestNarrowToBF16(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"mamba1 tied", ShapeOf(64, 2)},
		{"mamba1 untied", func() Config { c := ShapeOf(64, 2); c.TiedHead = false; return c }()},
		{"mamba2", Shape2Of(64, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := RandomWeights(tc.c, 7)
			require.NoError(t, err)
			ref, err := RandomWeights(tc.c, 7)
			require.NoError(t, err)
			fp := Fingerprint(w)
			w.NarrowToBF16()

			require.True(t, w.BF16)
			assert.ErrorIs(t, w.Check(), ErrBF16Weights, "float32 implementations refuse them")
			require.NoError(t, w.CheckBF16())
			assert.Nil(t, w.Embedding)
			assert.Nil(t, w.LMHead)
			assert.Equal(t, ToBF16(ref.Embedding), w.EmbeddingBF16)
			assert.Equal(t, ToBF16(ref.LMHead), w.LMHeadBF16)
			assert.Equal(t, tc.c.TiedHead, &w.LMHeadBF16[0] == &w.EmbeddingBF16[0], "a tied head stays one slice")
			products := 0
			for i := range w.Layers {
				refT := ref.Layers[i].Tensors(tc.c)
				for j, tt := range w.Layers[i].Tensors(tc.c) {
					if tt.BF16 == nil {
						assert.Equal(t, *refT[j].Data, *tt.Data, "%s stays float32", tt.Name)
						continue
					}
					products++
					assert.Nil(t, *tt.Data, tt.Name)
					assert.Equal(t, ToBF16(*refT[j].Data), *tt.BF16, tt.Name)
				}
			}
			want := 4 // in_proj, x_proj, dt_proj, out_proj
			if tc.c.Arch == Mamba2 {
				want = 2 // in_proj, out_proj
			}
			assert.Equal(t, want*tc.c.NLayers, products)
			assert.Equal(t, fp, Fingerprint(w), "narrowed, the weights keep their fingerprint")

			// A length the config does not ask for is found in the bfloat16 form too.
			w.Layers[1].OutProjBF16 = w.Layers[1].OutProjBF16[1:]
			assert.ErrorContains(t, w.CheckBF16(), "layer 1 out_proj has")
		})
	}
}

func TestFingerprintOfBF16ValuesIsTheSameEitherWay(t *testing.T) {
	c := ShapeOf(64, 2)
	w, err := RandomWeights(c, 3)
	require.NoError(t, err)
	w.NarrowToBF16()
	// Widen back: the same values as float32 (a bfloat16 checkpoint loaded as float32).
	f := &Weights{Config: c, NormF: w.NormF, Layers: make([]Layer, c.NLayers)}
	widen := func(b []uint16) []float32 {
		out := make([]float32, len(b))
		for i, v := range b {
			out[i] = Float32FromBF16(v)
		}
		return out
	}
	f.Embedding = widen(w.EmbeddingBF16)
	f.LMHead = f.Embedding
	for i := range f.Layers {
		wt := w.Layers[i].Tensors(c)
		for j, tt := range f.Layers[i].Tensors(c) {
			if wt[j].BF16 != nil {
				*tt.Data = widen(*wt[j].BF16)
			} else {
				*tt.Data = *wt[j].Data
			}
		}
	}
	require.NoError(t, f.Check())
	assert.Equal(t, Fingerprint(f), Fingerprint(w))
}

func TestRoundedToBF16IsNarrowWidened(t *testing.T) {
	c := ShapeOf(64, 2)
	c.TiedHead = false
	w, err := RandomWeights(c, 9)
	require.NoError(t, err)
	r := w.RoundedToBF16()
	require.NoError(t, r.Check())
	n, err := RandomWeights(c, 9)
	require.NoError(t, err)
	n.NarrowToBF16()
	assert.Equal(t, n.EmbeddingBF16, ToBF16(r.Embedding), "rounded values narrow without change")
	assert.Equal(t, n.LMHeadBF16, ToBF16(r.LMHead))
	assert.Equal(t, n.Layers[1].InProjBF16, ToBF16(r.Layers[1].InProj))
	assert.Equal(t, Fingerprint(n), Fingerprint(r))
	assert.NotEqual(t, w.Layers[1].InProj, r.Layers[1].InProj, "w itself is left as it was")
	assert.Equal(t, &w.Layers[1].A[0], &r.Layers[1].A[0], "vectors are shared")
}
