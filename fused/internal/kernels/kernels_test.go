package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Property tests: the products, the scan and the fast functions against
// plain float64 loops written from the learning formulas, on random data
// of awkward sizes (not multiples of the vector width, rows and columns
// of 1). sets_test.go runs every kernel set the same way.

func TestMatVecOddShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range oddRows {
		for _, cols := range oddCols {
			for _, pad := range []int{0, 5} {
				ld := cols + pad
				w := randVec(rng, rows*ld)
				x := randVec(rng, cols)
				out := make([]float32, rows+1)
				out[rows] = 42 // a sentinel past the end: must stay
				MatVec(out[:rows], F32(w), ld, x, false)
				ref, bound := refMatVec(w, ld, x, rows)
				for i := range ref {
					require.InDelta(t, ref[i], float64(out[i]), bound[i], "rows %d cols %d ld %d row %d", rows, cols, ld, i)
				}
				assert.Equal(t, float32(42), out[rows], "wrote past out")
			}
		}
	}
}

func TestMatVecEmpty(t *testing.T) {
	out := []float32{7, 7}
	MatVec(out, Matrix{}, 0, nil, false)
	assert.Equal(t, []float32{0, 0}, out, "a product over no columns is zero")
	MatVec(nil, F32([]float32{1}), 1, []float32{1}, false) // no rows: nothing to do, no panic
}

func TestMatVecAddAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rows := range oddRows {
		for _, cols := range oddCols {
			w := randVec(rng, rows*cols)
			x := randVec(rng, cols)
			acc := randVec(rng, rows)
			before := append([]float32(nil), acc...)
			MatVec(acc, F32(w), cols, x, true)
			ref, bound := refMatVec(w, cols, x, rows)
			for i := range ref {
				require.InDelta(t, float64(before[i])+ref[i], float64(acc[i]), bound[i]+1e-6, "rows %d cols %d", rows, cols)
			}
		}
	}
}

// refScanGate is learning's selectiveScan, skipD and gate in float64.
func refScanGate(ssm []float64, u, dt, A, B, C, D, z []float32, c int) float64 {
	n := len(B)
	var sum float64
	for s := range n {
		dA := math.Exp(float64(dt[c]) * float64(A[c*n+s]))
		ssm[c*n+s] = dA*ssm[c*n+s] + float64(dt[c])*float64(B[s])*float64(u[c])
		sum += float64(C[s]) * ssm[c*n+s]
	}
	y := sum + float64(D[c])*float64(u[c])
	zc := float64(z[c])
	return y * zc / (1 + math.Exp(-zc))
}

func TestScanGate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	impls := map[string]func(y, ssm, u, dt, A, B, C, D, z []float32, lo, hi int){
		"generic": scanSkipGateGeneric, "in use": Scan,
	}
	for name, scan := range impls {
		for _, n := range []int{1, 3, 8, 16, 17, 33} {
			for _, di := range []int{1, 7, 33} {
				ssm := randVec(rng, di*n)
				ref := make([]float64, len(ssm))
				for i, v := range ssm {
					ref[i] = float64(v)
				}
				u, dt, D, z := randVec(rng, di), randVec(rng, di), randVec(rng, di), randVec(rng, di)
				A, B, C := randVec(rng, di*n), randVec(rng, n), randVec(rng, n)
				for i := range dt {
					dt[i] = float32(math.Abs(float64(dt[i]))) // Δ > 0 after softplus
				}
				for i := range A {
					A[i] = -float32(i%n+1) * float32(1+rng.Float64()) // A < 0
				}
				A[0] = -200 // exp underflows to 0 for large steps
				dt[0] = 1
				y := make([]float32, di)
				for step := range 3 { // the state carries from step to step
					scan(y, ssm, u, dt, A, B, C, D, z, 0, di)
					for c := range di {
						want := refScanGate(ref, u, dt, A, B, C, D, z, c)
						require.InDelta(t, want, float64(y[c]), 1e-5*(1+math.Abs(want)), "%s n %d di %d c %d step %d", name, n, di, c, step)
					}
					for i := range ssm {
						require.InDelta(t, ref[i], float64(ssm[i]), 1e-5*(1+math.Abs(ref[i])), "%s state n %d", name, n)
					}
				}
			}
		}
	}
}

func TestScanGateOnlyTouchesItsChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	n, di := 16, 9
	ssm := randVec(rng, di*n)
	before := append([]float32(nil), ssm...)
	u, dt, D, z := randVec(rng, di), randVec(rng, di), randVec(rng, di), randVec(rng, di)
	A, B, C := randVec(rng, di*n), randVec(rng, n), randVec(rng, n)
	y := make([]float32, di)
	Scan(y, ssm, u, dt, A, B, C, D, z, 3, 5)
	for c := range di {
		inside := c >= 3 && c < 5
		assert.Equal(t, !inside, fmt.Sprint(ssm[c*n:(c+1)*n]) == fmt.Sprint(before[c*n:(c+1)*n]), "channel %d", c)
		assert.Equal(t, !inside, y[c] == 0, "channel %d", c)
	}
}

func ulpDiff(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}

func TestExp32(t *testing.T) {
	worst := int64(0)
	for x := float32(-87); x <= expMax; x += 0.0137 {
		want := float32(math.Exp(float64(x)))
		worst = max(worst, ulpDiff(Exp32(x), want))
	}
	assert.LessOrEqual(t, worst, int64(2), "Exp32 within 2 ulp")
	assert.LessOrEqual(t, ulpDiff(Exp32(88.5), float32(math.Exp(88.5))), int64(2), "finite just below the overflow")
	assert.Equal(t, float32(1), Exp32(0))
	assert.Zero(t, Exp32(-100))
	assert.Zero(t, Exp32(float32(math.Inf(-1))))
	assert.True(t, math.IsInf(float64(Exp32(100)), 1))
}

// Softplus (by the kernel set in use) over a range of arguments, in
// slices whose lengths are not multiples of 16.
func TestBiasSoftplus(t *testing.T) {
	var xs []float32
	for x := float32(-30); x < 40; x += 0.00731 {
		xs = append(xs, x)
	}
	for _, n := range []int{1, 15, 17, 33, len(xs)} {
		got := append([]float32(nil), xs[:n]...)
		bias := make([]float32, n)
		for i := range bias {
			bias[i] = 0.5
		}
		Softplus(got, bias)
		for i, x := range xs[:n] {
			v := float64(x) + 0.5
			want := v
			if v <= 20 {
				want = math.Log1p(math.Exp(v))
			}
			require.InDelta(t, want, float64(got[i]), 3e-7*math.Abs(want)+1e-30, "softplus(%g)", v)
		}
	}
}

func TestSiLUAndSoftplus32(t *testing.T) {
	for x := float32(-30); x < 30; x += 0.00731 {
		xf := float64(x)
		s := xf / (1 + math.Exp(-xf))
		require.InDelta(t, s, float64(SiLU32(x)), 3e-7*math.Abs(s)+1e-30, "silu(%g)", x)
		sp := xf
		if xf <= 20 {
			sp = math.Log1p(math.Exp(xf))
		}
		require.InDelta(t, sp, float64(Softplus32(x)), 3e-7*math.Abs(sp)+1e-30, "softplus(%g)", x)
	}
}
