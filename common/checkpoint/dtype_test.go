package checkpoint

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// log1to16 are A_log = float32(log(1..16)), how A_log is initialised.
var log1to16 = []float32{0.0, 0.6931471824645996, 1.0986123085021973, 1.3862943649291992, 1.6094379425048828,
	1.7917594909667969, 1.945910096168518, 2.079441547393799, 2.1972246170043945, 2.3025851249694824,
	2.397895336151123, 2.4849066734313965, 2.5649492740631104, 2.6390573978424072, 2.70805025100708, 2.7725887298583984}

// TestNegExp pins A = -exp(A_log) to what -torch.exp(A_log) gives (torch
// 1.13, AVX2: SLEEF's expf_u10) for A_log = log(1..16).
func TestNegExp(t *testing.T) {
	want := []float32{-1, -2, -3, -4, -5, -6, -6.999999523162842, -8, -9, -10, -11.000000953674316, -12,
		-12.999999046325684, -14.000000953674316, -15.000000953674316, -16}
	for i, a := range log1to16 {
		assert.Equal(t, math.Float32bits(want[i]), math.Float32bits(NegExp(a)), "A_log %v", a)
	}
	checkExp(t, NegExp, 1.01)
}

// TestNegExpNumPy pins the NumPy rounding to the reference model.bin files
// of ../shared, which differ from torch's at log 5, 10, 14 and 15.
func TestNegExpNumPy(t *testing.T) {
	want := []float32{-1.0, -2.0, -3.0, -4.0, -5.000000476837158, -6.0, -6.999999523162842, -8.0, -9.0,
		-10.000000953674316, -11.000000953674316, -12.0, -12.999999046325684, -14.0, -15.000001907348633, -16.0}
	for i, a := range log1to16 {
		assert.Equal(t, math.Float32bits(want[i]), math.Float32bits(NegExpNumPy(a)), "A_log %v", a)
	}
	checkExp(t, NegExpNumPy, 2.52)
}

// checkExp checks the edges and that negExp is within maxULP of the truth.
func checkExp(t *testing.T, negExp func(float32) float32, maxULP float64) {
	t.Helper()
	assert.Equal(t, float32(math.Inf(-1)), negExp(100))
	assert.Equal(t, float32(0), -negExp(-200))
	assert.True(t, math.IsNaN(float64(negExp(float32(math.NaN())))))
	for x := float32(-80); x < 80; x += 0.0037 {
		got, exact := -float64(negExp(x)), math.Exp(float64(x))
		ulp := float64(math.Nextafter32(float32(exact), float32(math.Inf(1)))) - float64(float32(exact))
		require.LessOrEqual(t, math.Abs(got-exact)/ulp, maxULP, "exp(%v)", x)
	}
}

func TestFMA32(t *testing.T) {
	// a·b = 2^-24 - 2^-70, so a·b + c = 1 + 3·2^-24 - 2^-70: just below the
	// midpoint between 1+2^-23 and 1+2^-22. The float64 sum rounds it onto
	// the midpoint, which float32 rounding would send up to the even 1+2^-22;
	// a fused op rounds once, down to 1+2^-23.
	a := float32(1.0 / (1 << 24) * (1 + 1.0/(1<<23)))
	b := float32(1 - 1.0/(1<<23))
	c := float32(1 + 1.0/(1<<23))
	assert.Equal(t, float32(1+1.0/(1<<22)), float32(float64(a)*float64(b)+float64(c)), "the naive way double-rounds")
	assert.Equal(t, c, fma32(a, b, c))
	assert.Equal(t, float32(7), fma32(2, 3, 1))
}
