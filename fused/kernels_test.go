package fused

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/fused/internal/kernels"
)

// Property tests: each phase function against a plain float64 loop
// written from the learning formulas, on random data of awkward sizes.

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
					xProj(xDBC, kernels.F32(w), x, lo, hi)
					outProj(h, kernels.F32(w), x, lo, hi)
					rmsNorm(normed, x, g)
					head(logits, normed, kernels.F32(w), lo, hi)
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
					inProjConv(xz, u, normed, kernels.F32(inProj), convState, convW, convB, 1, lo, hi)
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
			dtProjSoftplus(dt, kernels.F32(dtW), dtLow, bias, 0, di)
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
