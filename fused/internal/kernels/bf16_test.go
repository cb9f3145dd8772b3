package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// The bfloat16 products of every kernel set against the float64 loop of
// kernels_test.go on the widened weights, and against the same set's
// float32 products on those widened values.

var (
	bf16Rows = []int{1, 3, 4, 5, 7, 13}
	bf16Cols = []int{768, 1536, 16, 24, 8, 7, 1, 0, 40, 48}
)

// randBF16 returns n random bfloat16 weights in (-1, 1) and their exact
// float32 values. A few are awkward on purpose: negative zero, the
// smallest normal, a subnormal, and values whose lower float32 bits would
// matter if the widening shifted wrongly.
func randBF16(rng *rand.Rand, n int) ([]uint16, []float32) {
	b := model.ToBF16(randVec(rng, n))
	for i := 0; i < n; i += 97 {
		b[i] = [...]uint16{0x8000, 0x0080, 0x0001, 0x3f81, 0xbf7f}[i%5]
	}
	f := make([]float32, n)
	for i, v := range b {
		f[i] = model.Float32FromBF16(v)
	}
	return b, f
}

func TestSetMatVecBF16(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) { checkMatVecBF16(t, k.matVecBF16) })
}

// checkMatVecBF16 tests one bfloat16 matVec kernel against the float64 loop.
func checkMatVecBF16(t *testing.T, matVecBF16 func(out []float32, w []uint16, ld int, x []float32, add bool)) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, rows := range bf16Rows {
		for _, cols := range bf16Cols {
			ld := cols + 3
			// W ends at its last row's last column: any read past it
			// is out of bounds.
			w16, w := randBF16(rng, (rows-1)*ld+cols)
			x := randVec(rng, cols)
			ref, bound := refMatVec(w, ld, x, rows)
			for _, add := range []bool{false, true} {
				out := randVec(rng, rows+1)
				before := append([]float32(nil), out...)
				matVecBF16(out[:rows], w16, ld, x, add)
				for i := range ref {
					want := ref[i]
					if add {
						want += float64(before[i])
					}
					require.InDelta(t, want, float64(out[i]), bound[i]+1e-6, "rows %d cols %d add %v row %d", rows, cols, add, i)
				}
				assert.Equal(t, before[rows], out[rows], "wrote past out")
			}
		}
	}
}

func TestSetMatMatBF16(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rng := rand.New(rand.NewPCG(33, 34))
		for _, rows := range append(bf16Rows, 8) {
			for _, cols := range bf16Cols {
				for tokens := 1; tokens <= 7; tokens++ {
					ldw, ldx, ldo := cols+1, cols+5, rows+2
					w16, w := randBF16(rng, (rows-1)*ldw+cols)
					x := randVec(rng, tokens*ldx)
					for _, add := range []bool{false, true} {
						out := randVec(rng, tokens*ldo)
						before := append([]float32(nil), out...)
						k.matMatBF16(out, ldo, w16, ldw, x, ldx, rows, cols, tokens, add)
						for tk := range tokens {
							ref, bound := refMatVec(w, ldw, x[tk*ldx:tk*ldx+cols], rows)
							for i := range ref {
								want := ref[i]
								if add {
									want += float64(before[tk*ldo+i])
								}
								require.InDelta(t, want, float64(out[tk*ldo+i]), bound[i]+1e-6, "rows %d cols %d tokens %d add %v", rows, cols, tokens, add)
							}
							for i := rows; i < ldo; i++ {
								require.Equal(t, before[tk*ldo+i], out[tk*ldo+i], "wrote outside the rows")
							}
						}
					}
					// As for float32 weights (TestSetMatMat).
					requireBlockIndependent(t, k.matMatBF16, w16, ldw, x, ldx, ldo, rows, cols, tokens)
				}
			}
		}
	})
}

// TestBF16MatchesFloat32Kernels: the bfloat16 products equal the same
// set's float32 products on the widened weights, up to the float32 sums'
// rounding (the two may add in different orders): widening loses nothing.
func TestBF16MatchesFloat32Kernels(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rng := rand.New(rand.NewPCG(35, 36))
		for _, rows := range []int{5, 64} {
			for _, cols := range []int{768, 1536, 24} {
				w16, w := randBF16(rng, rows*cols)
				x := randVec(rng, 3*cols)
				_, bound := refMatVec(w, cols, x[:cols], rows)
				got, want := make([]float32, rows), make([]float32, rows)
				k.matVecBF16(got, w16, cols, x[:cols], false)
				k.matVec(want, w, cols, x[:cols], false)
				for i := range want {
					require.InDelta(t, want[i], got[i], bound[i], "matVec rows %d cols %d row %d", rows, cols, i)
				}
				got, want = make([]float32, 3*rows), make([]float32, 3*rows)
				k.matMatBF16(got, rows, w16, cols, x, cols, rows, cols, 3, false)
				k.matMat(want, rows, w, cols, x, cols, rows, cols, 3, false)
				for i := range want {
					_, bound := refMatVec(w[i%rows*cols:], cols, x[i/rows*cols:i/rows*cols+cols], 1)
					require.InDelta(t, want[i], got[i], bound[0], "matMat rows %d cols %d out %d", rows, cols, i)
				}
			}
		}
	})
}

// TestBF16BoundsChecked: a slice one short of the last value the product
// reads panics in every set, before the assembly could read past it. (The
// short slices have no spare capacity: Go's slicing checks against that.)
func TestBF16BoundsChecked(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rows, cols, ld := 5, 32, 40
		n := (rows-1)*ld + cols
		w16 := make([]uint16, n)
		x, out := make([]float32, 2*cols), make([]float32, 2*rows)
		assert.NotPanics(t, func() { k.matVecBF16(out[:rows], w16, ld, x[:cols], false) })
		assert.Panics(t, func() { k.matVecBF16(out[:rows], w16[:n-1:n-1], ld, x[:cols], false) })
		assert.NotPanics(t, func() { k.matMatBF16(out, rows, w16, ld, x, cols, rows, cols, 2, false) })
		assert.Panics(t, func() { k.matMatBF16(out, rows, w16[:n-1:n-1], ld, x, cols, rows, cols, 2, false) })
		assert.Panics(t, func() { k.matMatBF16(out, rows, w16, ld, x[:2*cols-1:2*cols-1], cols, rows, cols, 2, false) })
	})
}
