package fused

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// Property tests: every fused kernel against a plain float64 loop written
// from the learning formulas, on random data of awkward sizes (not
// multiples of the vector width, rows and columns of 1).

var (
	oddRows = []int{1, 2, 3, 4, 5, 7, 16, 33}
	oddCols = []int{1, 3, 15, 16, 17, 31, 48, 769}
)

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*rng.Float64() - 1)
	}
	return v
}

// refMatVec is the plain loop, in float64, with the bound on its rounding
// error in float32: |Σ w·x| is known to about eps·Σ|w·x|.
func refMatVec(w []float32, ld int, x []float32, rows int) (out, bound []float64) {
	for i := 0; i < rows; i++ {
		var s, a float64
		for j := range x {
			p := float64(w[i*ld+j]) * float64(x[j])
			s += p
			a += math.Abs(p)
		}
		out = append(out, s)
		bound = append(bound, 4e-7*float64(len(x)+4)*a+1e-30)
	}
	return out, bound
}

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
				matVec(out[:rows], matrix{f32: w}, ld, x)
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
	matVec(out, matrix{}, 0, nil)
	assert.Equal(t, []float32{0, 0}, out, "a product over no columns is zero")
	matVec(nil, matrix{f32: []float32{1}}, 1, []float32{1}) // no rows: nothing to do, no panic
}

func TestMatVecAddAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rows := range oddRows {
		for _, cols := range oddCols {
			w := randVec(rng, rows*cols)
			x := randVec(rng, cols)
			acc := randVec(rng, rows)
			before := append([]float32(nil), acc...)
			matVecAdd(acc, matrix{f32: w}, cols, x)
			ref, bound := refMatVec(w, cols, x, rows)
			for i := range ref {
				require.InDelta(t, float64(before[i])+ref[i], float64(acc[i]), bound[i]+1e-6, "rows %d cols %d", rows, cols)
			}
		}
	}
}

// rmsNorm64 is RMSNorm(x)·g in float64, rounded to float32.
func rmsNorm64(x, g []float32) []float32 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := 1 / math.Sqrt(ss/float64(len(x))+model.RMSEps)
	out := make([]float32, len(x))
	for j := range x {
		out[j] = float32(float64(x[j]) * scale * float64(g[j]))
	}
	return out
}

// The products split by rows between P workers give the whole product.
func TestRowSplitProducts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, rows := range oddRows {
		for _, cols := range oddCols {
			for _, p := range []int{1, 2, 3, 7} {
				w := randVec(rng, rows*cols)
				x := randVec(rng, cols)
				g := randVec(rng, cols)
				ref, bound := refMatVec(w, cols, x, rows)
				refHead, boundHead := refMatVec(w, cols, rmsNorm64(x, g), rows)

				xDBC := make([]float32, rows)
				h := randVec(rng, rows)
				h0 := append([]float32(nil), h...)
				logits := make([]float32, rows)
				normed := make([]float32, cols)
				for wk := range p {
					lo, hi := split(rows, p, wk)
					xProj(xDBC, matrix{f32: w}, x, lo, hi)
					outProj(h, matrix{f32: w}, x, lo, hi)
					rmsNorm(normed, x, g)
					head(logits, normed, matrix{f32: w}, lo, hi)
				}
				for i := range ref {
					require.InDelta(t, ref[i], float64(xDBC[i]), bound[i], "x_proj rows %d cols %d P %d", rows, cols, p)
					require.InDelta(t, float64(h0[i])+ref[i], float64(h[i]), bound[i]+1e-6, "out_proj rows %d cols %d P %d", rows, cols, p)
					require.InDelta(t, refHead[i], float64(logits[i]), 2*boundHead[i]+1e-6, "head rows %d cols %d P %d", rows, cols, p)
				}
			}
		}
	}
}

// inProjConv on RMSNorm(h): the x and z rows of each worker's channels,
// and u = SiLU(x) through a conv of width 1 with weight 1 and no bias.
func TestInProjConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, d := range oddCols {
		for _, di := range []int{1, 7, 33} {
			h, g := randVec(rng, d), randVec(rng, d)
			inProj := randVec(rng, 2*di*d)
			ref, bound := refMatVec(inProj, d, rmsNorm64(h, g), 2*di)
			xz, u, normed := make([]float32, 2*di), make([]float32, di), make([]float32, d)
			convState, convW, convB := make([]float32, di), make([]float32, di), make([]float32, di)
			for i := range convW {
				convW[i] = 1
			}
			for _, p := range []int{1, 2, 3} {
				clear(xz)
				for wk := range p {
					lo, hi := split(di, p, wk)
					rmsNorm(normed, h, g)
					inProjConv(xz, u, normed, matrix{f32: inProj}, convState, convW, convB, 1, lo, hi)
				}
				for c := range di {
					require.InDelta(t, ref[c], float64(xz[c]), 2*bound[c]+1e-6, "x d %d di %d P %d", d, di, p)
					require.InDelta(t, ref[di+c], float64(xz[di+c]), 2*bound[di+c]+1e-6, "z d %d di %d P %d", d, di, p)
					x := float64(xz[c])
					require.InDelta(t, x/(1+math.Exp(-x)), float64(u[c]), 1e-6, "u d %d di %d P %d", d, di, p)
				}
			}
		}
	}
}

func TestSplitCoversExactly(t *testing.T) {
	for _, n := range []int{0, 1, 7, 33, 1536, 50280} {
		for _, p := range []int{1, 2, 3, 5, 8} {
			next := 0
			for w := range p {
				lo, hi := split(n, p, w)
				require.Equal(t, next, lo, "n %d p %d w %d", n, p, w)
				require.LessOrEqual(t, lo, hi)
				require.LessOrEqual(t, hi-lo, n/p+1, "shares are nearly equal")
				next = hi
			}
			require.Equal(t, n, next)
		}
	}
}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, d := range oddCols {
		h := randVec(rng, d)
		g := randVec(rng, d)
		var ss float64
		for _, v := range h {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(d)+model.RMSEps)
		normed := make([]float32, d)
		rmsNorm(normed, h, g)
		for i := range h {
			want := float64(h[i]) * scale * float64(g[i])
			require.InDelta(t, want, float64(normed[i]), 1e-5*(1+math.Abs(want)), "d %d", d)
		}
	}
}

func TestConvSiLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{1, 2, 4, 5} {
		for _, di := range []int{1, 7, 33} {
			conv := randVec(rng, di*k)
			orig := append([]float32(nil), conv...)
			x, w, bias := randVec(rng, di), randVec(rng, di*k), randVec(rng, di)
			u := make([]float32, di)
			lo, hi := di/3, di // a share that does not start at 0
			convSiLU(u, conv, x, w, bias, k, lo, hi)
			for c := 0; c < di; c++ {
				if c < lo {
					assert.Equal(t, orig[c*k:(c+1)*k], conv[c*k:(c+1)*k], "channel %d outside the share changed", c)
					assert.Zero(t, u[c])
					continue
				}
				win := append(append([]float32(nil), orig[c*k+1:(c+1)*k]...), x[c])
				require.Equal(t, win, conv[c*k:(c+1)*k], "shifted window, k %d", k)
				s := float64(bias[c])
				for j := range k {
					s += float64(win[j]) * float64(w[c*k+j])
				}
				want := s / (1 + math.Exp(-s))
				require.InDelta(t, want, float64(u[c]), 1e-6, "k %d di %d c %d", k, di, c)
			}
		}
	}
}

func TestDtSoftplus(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, r := range []int{1, 3, 17, 48} {
		for _, di := range []int{1, 7, 33} {
			dtW, dtLow, bias := randVec(rng, di*r), randVec(rng, r), randVec(rng, di)
			for i := range bias {
				bias[i] = 10 * bias[i] // reach both sides of softplus' threshold... almost
			}
			bias[0] = 25
			dt := make([]float32, di)
			dtProjSoftplus(dt, matrix{f32: dtW}, dtLow, bias, 0, di)
			ref, bound := refMatVec(dtW, r, dtLow, di)
			for c := range dt {
				v := ref[c] + float64(bias[c])
				want := v
				if v <= 20 {
					want = math.Log1p(math.Exp(v))
				}
				require.InDelta(t, want, float64(dt[c]), bound[c]+2e-6*math.Abs(want)+1e-7, "r %d c %d v %g", r, c, v)
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
		"generic": scanSkipGateGeneric, "build": scanSkipGate,
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
	scanSkipGate(y, ssm, u, dt, A, B, C, D, z, 3, 5)
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
		worst = max(worst, ulpDiff(exp32(x), want))
	}
	assert.LessOrEqual(t, worst, int64(2), "exp32 within 2 ulp")
	assert.LessOrEqual(t, ulpDiff(exp32(88.5), float32(math.Exp(88.5))), int64(2), "finite just below the overflow")
	assert.Equal(t, float32(1), exp32(0))
	assert.Zero(t, exp32(-100))
	assert.Zero(t, exp32(float32(math.Inf(-1))))
	assert.True(t, math.IsInf(float64(exp32(100)), 1))
}

// biasSoftplus (vector in the simd build) over a range of arguments, in
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
		biasSoftplus(got, bias)
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
		require.InDelta(t, s, float64(silu32(x)), 3e-7*math.Abs(s)+1e-30, "silu(%g)", x)
		sp := xf
		if xf <= 20 {
			sp = math.Log1p(math.Exp(xf))
		}
		require.InDelta(t, sp, float64(softplus32(x)), 3e-7*math.Abs(sp)+1e-30, "softplus(%g)", x)
	}
}
