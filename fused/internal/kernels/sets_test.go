package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every kernel set this build and CPU can run (assembly and Go) against
// the float64 loops of kernels_test.go, on awkward sizes.

func TestKernelSetsAvailable(t *testing.T) {
	sets := availableKernels()
	require.NotEmpty(t, sets)
	assert.Equal(t, "go", sets[len(sets)-1].name, "the Go kernels are always there, last")
	if want := os.Getenv("MAMBA_FUSED_KERNELS"); want != "" {
		assert.Equal(t, want, kern.name, "the set asked for is chosen")
	} else {
		assert.Equal(t, sets[0].name, kern.name, "the fastest set is chosen")
	}
	// MAMBA_FUSED_EXPECT_BEST names the set this CPU must offer first
	// (make test-avx2: an emulated AVX2 CPU without AVX-512 offers avx2).
	if want := os.Getenv("MAMBA_FUSED_EXPECT_BEST"); want != "" {
		assert.Equal(t, want, sets[0].name, "the best set this CPU offers")
	}
	_, err := chooseKernels("no-such-set")
	assert.ErrorContains(t, err, "MAMBA_FUSED_KERNELS=no-such-set")
	t.Logf("kernels: %s", Name())
}

func forEachSet(t *testing.T, f func(t *testing.T, k kernelSet)) {
	for _, k := range availableKernels() {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

func TestSetMatVec(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, rows := range oddRows {
			for _, cols := range append(oddCols, 32, 63, 64, 65, 1536) {
				ld := cols + 3
				w, x := randVec(rng, rows*ld), randVec(rng, cols)
				acc := randVec(rng, rows+1)
				before := append([]float32(nil), acc...)
				ref, bound := refMatVec(w, ld, x, rows)
				k.matVec(acc[:rows], w, ld, x, true)
				out := make([]float32, rows+1)
				out[rows] = 42
				k.matVec(out[:rows], w, ld, x, false)
				for i := range ref {
					require.InDelta(t, ref[i], float64(out[i]), bound[i], "rows %d cols %d row %d", rows, cols, i)
					require.InDelta(t, float64(before[i])+ref[i], float64(acc[i]), bound[i]+1e-6, "add: rows %d cols %d", rows, cols)
				}
				assert.Equal(t, float32(42), out[rows], "wrote past out")
				assert.Equal(t, before[rows], acc[rows], "wrote past out")
			}
		}
	})
}

// requireBlockIndependent: a (row, token) sum of matMat does not depend on
// the block that computed it: token by token, and rows from a multiple of
// 4, give the same bits as all at once.
func requireBlockIndependent[W float32 | uint16](t *testing.T,
	matMat func(out []float32, ldo int, w []W, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool),
	w []W, ldw int, x []float32, ldx, ldo, rows, cols, tokens int) {
	t.Helper()
	one := make([]float32, tokens*ldo)
	all := make([]float32, tokens*ldo)
	matMat(all, ldo, w, ldw, x, ldx, rows, cols, tokens, false)
	for tk := range tokens {
		matMat(one[tk*ldo:], ldo, w, ldw, x[tk*ldx:], ldx, rows, cols, 1, false)
	}
	if r := rows &^ 3; r > 0 && r < rows {
		matMat(one[r:], ldo, w[r*ldw:], ldw, x, ldx, rows-r, cols, tokens, false)
	}
	require.Equal(t, all, one, "rows %d cols %d tokens %d", rows, cols, tokens)
}

func TestSetMatMat(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, rows := range []int{1, 3, 4, 5, 8, 13} {
			for _, cols := range []int{1, 7, 8, 16, 24, 40, 769, 768} {
				for _, tokens := range []int{1, 2, 3, 4, 5, 7} {
					ldw, ldx, ldo := cols+1, cols+5, rows+2
					w, x := randVec(rng, rows*ldw), randVec(rng, tokens*ldx)
					out := randVec(rng, tokens*ldo)
					before := append([]float32(nil), out...)
					k.matMat(out, ldo, w, ldw, x, ldx, rows, cols, tokens, true)
					for tk := range tokens {
						ref, bound := refMatVec(w, ldw, x[tk*ldx:tk*ldx+cols], rows)
						for i := range ref {
							require.InDelta(t, float64(before[tk*ldo+i])+ref[i], float64(out[tk*ldo+i]), bound[i]+1e-6, "rows %d cols %d tokens %d", rows, cols, tokens)
						}
						for i := rows; i < ldo; i++ {
							require.Equal(t, before[tk*ldo+i], out[tk*ldo+i], "wrote outside the rows")
						}
					}
					requireBlockIndependent(t, k.matMat, w, ldw, x, ldx, ldo, rows, cols, tokens)
				}
			}
		}
	})
}

func TestSetScan(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range []int{3, 16, 17} {
			for _, di := range []int{1, 7, 8, 16, 33, 64} {
				for _, lo := range []int{0, 8} {
					if lo >= di {
						continue
					}
					ssm := randVec(rng, di*n)
					ref := make([]float64, len(ssm))
					for i, v := range ssm {
						ref[i] = float64(v)
					}
					u, dt, D, z := randVec(rng, di), randVec(rng, di), randVec(rng, di), randVec(rng, di)
					A, B, C := randVec(rng, di*n), randVec(rng, n), randVec(rng, n)
					for i := range dt {
						dt[i] = float32(math.Abs(float64(dt[i])))
						z[i] *= 40 // SiLU far into both tails
					}
					for i := range A {
						A[i] = -float32(i%n+1) * float32(1+rng.Float64())
					}
					A[lo*n] = -200 // exp underflows to 0
					dt[lo] = 1
					y := make([]float32, di+1)
					y[di] = 42
					for step := range 3 {
						k.scan(y[:di], ssm, u, dt, A, B, C, D, z, lo, di)
						for c := lo; c < di; c++ {
							want := refScanGate(ref, u, dt, A, B, C, D, z, c)
							require.InDelta(t, want, float64(y[c]), 1e-5*(1+math.Abs(want)), "n %d di %d c %d step %d", n, di, c, step)
						}
						for i := lo * n; i < di*n; i++ {
							require.InDelta(t, ref[i], float64(ssm[i]), 1e-5*(1+math.Abs(ref[i])), "state n %d di %d", n, di)
						}
					}
					for c := range lo {
						require.Zero(t, y[c], "channel %d below lo written", c)
					}
					require.Equal(t, float32(42), y[di])
				}
			}
		}
	})
}

func TestSetSoftplus(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		var xs []float32
		for x := float32(-120); x < 60; x += 0.00731 {
			xs = append(xs, x)
		}
		for _, n := range []int{1, 7, 8, 9, 17, 33, len(xs)} {
			got := append(append([]float32(nil), xs[:n]...), 42)
			bias := make([]float32, n)
			for i := range bias {
				bias[i] = 0.5
			}
			k.softplus(got[:n], bias)
			for i, x := range xs[:n] {
				v := float64(x) + 0.5
				want := v
				if v <= 20 {
					want = math.Log1p(math.Exp(v))
				}
				require.InDelta(t, want, float64(got[i]), 3e-7*math.Abs(want)+1e-30, "softplus(%g)", v)
			}
			require.Equal(t, float32(42), got[n])
		}
	})
}
