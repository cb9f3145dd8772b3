package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFloat32FromF16(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x3555: 0.333251953125, 0x7bff: 65504,
		0x0001: 5.960464477539063e-08, 0x03ff: 6.097555160522461e-05, 0x0400: 6.103515625e-05,
		0x7c00: float32(math.Inf(1)), 0xfc00: float32(math.Inf(-1)),
	} {
		assert.Equal(t, want, Float32FromF16(h), "%#04x", h)
	}
	assert.Equal(t, uint32(0x80000000), math.Float32bits(Float32FromF16(0x8000)), "-0")
	assert.True(t, math.IsNaN(float64(Float32FromF16(0x7e00))))
	// Every half survives a round trip through float32 → float64 → half rules:
	// the conversion is exact, so the value times 2^24 is an integer for subnormals.
	for h := range uint16(0x0400) {
		assert.Equal(t, float64(h), float64(Float32FromF16(h))*(1<<24), "%#04x", h)
	}
}

func TestF16RoundTripsEveryHalf(t *testing.T) {
	for h := range 1 << 16 {
		f := Float32FromF16(uint16(h))
		if f != f { // NaN stays NaN
			assert.True(t, F16FromFloat32(f)&0x7c00 == 0x7c00 && F16FromFloat32(f)&0x3ff != 0, "%#x", h)
			continue
		}
		require.Equal(t, uint16(h), F16FromFloat32(f), "%#x = %g", h, f)
	}
}

func TestF16KnownValues(t *testing.T) {
	assert.Equal(t, float32(1), Float32FromF16(0x3c00))
	assert.Equal(t, float32(-2), Float32FromF16(0xc000))
	assert.Equal(t, float32(65504), Float32FromF16(0x7bff))
	assert.Equal(t, float32(1.0/(1<<24)), Float32FromF16(0x0001))
	assert.Equal(t, uint16(0x7c00), F16FromFloat32(1e6))
	assert.Equal(t, uint16(0x3c00), F16FromFloat32(1+1.0/2048))             // half an ulp: ties to even
	assert.Equal(t, uint16(0x3c01), F16FromFloat32(1+1.0/2048+1.0/(1<<20))) // just above half
	assert.Equal(t, uint16(0x0000), F16FromFloat32(1e-9))
}

func randomValues(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * 0.05
	}
	return v
}

// The error of each value is at most half a step, |d|/2, plus the float16
// rounding of d; in Q4_0 values on the side opposite the largest are
// clamped at 7 steps (nibble 15), up to a whole step off.
func TestQuantizeErrorWithinHalfAStep(t *testing.T) {
	src := randomValues(32*64, 7)
	for _, c := range []struct {
		t     Type
		steps float32
		bound float32 // the worst error, in steps
	}{{Q8_0, 127, 0.5}, {Q4_0, 8, 1}} {
		got := Dequantize(c.t, Quantize(c.t, src))
		require.Len(t, got, len(src))
		for b := 0; b < len(src)/BlockSize; b++ {
			var amax float32
			for _, v := range src[b*32 : b*32+32] {
				amax = max(amax, abs32(v))
			}
			step := amax / c.steps
			for j := b * 32; j < b*32+32; j++ {
				assert.InDelta(t, src[j], got[j], float64(c.bound*step+amax*1e-3), "%v value %d", c.t, j)
			}
		}
	}
}

func TestQuantizeLayouts(t *testing.T) {
	x := make([]float32, 32)
	for j := range x {
		x[j] = float32(j) - 16 // −16 … 15
	}
	q8 := Quantize(Q8_0, x)
	require.Len(t, q8, Q8_0BlockBytes)
	assert.Equal(t, Float32FromF16(F16FromFloat32(16.0/127)), Float32FromF16(getF16(q8)), "d = max|x|/127, as float16")
	assert.Equal(t, int8(-127), int8(q8[2]), "x[0] = −16 is −127 steps")
	assert.Equal(t, int8(0), int8(q8[2+16]))

	q4 := Quantize(Q4_0, x)
	require.Len(t, q4, Q4_0BlockBytes)
	assert.Equal(t, float32(2), Float32FromF16(getF16(q4)), "d = m/−8 with m = −16")
	assert.Equal(t, byte(0), q4[2]&15, "x[0] = −16 = d·(0 − 8)")
	assert.Equal(t, byte(8), q4[2]>>4, "x[16] = 0 is the high nibble of byte 0")
	w := Dequantize(Q4_0, q4)
	assert.Equal(t, float32(-16), w[0])
	assert.Equal(t, float32(0), w[16])
}

func TestZeroBlocksStayZero(t *testing.T) {
	for _, ty := range []Type{Q8_0, Q4_0} {
		got := Dequantize(ty, Quantize(ty, make([]float32, 64)))
		for _, v := range got {
			require.Zero(t, v, "%v", ty)
		}
	}
}

func TestParseTypeAndNames(t *testing.T) {
	ty, err := ParseType("q4_0")
	require.NoError(t, err)
	assert.Equal(t, Q4_0, ty)
	_, err = ParseType("q5_1")
	assert.ErrorContains(t, err, `"q5_1"`)
	assert.Equal(t, "Q6_K", Q6_K.String())
	assert.Equal(t, "type 99", Type(99).String())
	assert.True(t, Quantizable(768))
	assert.False(t, Quantizable(48))
}
