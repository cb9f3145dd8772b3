//go:build goexperiment.simd && amd64

package fused

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func TestExp16(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	var in, got [16]float32
	worst := int64(0)
	for x0 := float32(-87); x0 < 88; x0 += 16 * 0.0137 {
		for i := range in {
			in[i] = x0 + float32(i)*0.0137
		}
		exp16(archsimd.LoadFloat32x16(&in)).Store(&got)
		for i := range in {
			worst = max(worst, ulpDiff(got[i], float32(math.Exp(float64(in[i])))))
		}
	}
	assert.LessOrEqual(t, worst, int64(2), "exp16 within 2 ulp")
	in = [16]float32{-200, -104, -90, 0, 100, float32(math.Inf(-1))}
	exp16(archsimd.LoadFloat32x16(&in)).Store(&got)
	assert.Zero(t, got[0])
	assert.Zero(t, got[1])
	assert.InDelta(t, math.Exp(-90), float64(got[2]), 1e-40, "subnormal results stay close")
	assert.Equal(t, float32(1), got[3])
	assert.True(t, math.IsInf(float64(got[4]), 1) || got[4] > 1e38, "large x saturates")
	assert.Zero(t, got[5])
}

func TestMatVec16Row(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for _, rows := range oddRows {
		for _, cols := range append(oddCols, 64, 65, 127, 128, 129) {
			ld := cols + 2
			w := randVec(rng, rows*ld)
			x := randVec(rng, cols)
			out := make([]float32, rows+1)
			out[rows] = 42
			matVec16Row(out[:rows], w, ld, x, false)
			ref, bound := refMatVec(w, ld, x, rows)
			for i := range ref {
				require.InDelta(t, ref[i], float64(out[i]), bound[i], "rows %d cols %d", rows, cols)
			}
			matVec16Row(out[:rows], w, ld, x, true)
			for i := range ref {
				require.InDelta(t, 2*ref[i], float64(out[i]), 2*bound[i], "add, rows %d cols %d", rows, cols)
			}
			require.Equal(t, float32(42), out[rows])
		}
	}
}

// BenchmarkKernels compares the vector kernels with gonum's on a matrix
// that streams from memory (the head, 154 MB) and one that sits in L3.
func BenchmarkKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct {
		name       string
		rows, cols int
	}{{"head-dram", bV, bD}, {"in_proj-cached", 2 * bDi, bD}} {
		w := randVec(rng, sz.rows*sz.cols)
		x := randVec(rng, sz.cols)
		out := make([]float32, sz.rows)
		for name, k := range map[string]func(out, w []float32, ld int, x []float32, add bool){
			"avx512-1row": matVec16Row,
			"gonum": func(out, w []float32, ld int, x []float32, add bool) {
				gonum.Implementation{}.Sgemv(blas.NoTrans, len(out), len(x), 1, w, ld, x, 1, 0, out, 1)
			},
		} {
			b.Run(sz.name+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(4 * len(w)))
				for b.Loop() {
					k(out, w, sz.cols, x, false)
				}
			})
		}
	}
}
