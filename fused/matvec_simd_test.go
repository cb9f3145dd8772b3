//go:build goexperiment.simd && amd64

package fused

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each vector kernel by name, whatever the dispatch picks on this CPU.
func TestVectorMatVecKernels(t *testing.T) {
	kernels := map[string]func(out, w []float32, ld int, x []float32, add bool){}
	if hasAVX512 {
		kernels["avx512"] = matVec16
	}
	if hasAVX2 {
		kernels["avx2"] = matVec8
	}
	if len(kernels) == 0 {
		t.Skip("this CPU has neither AVX-512 nor AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for name, mv := range kernels {
		for _, rows := range oddRows {
			for _, cols := range oddCols {
				ld := cols + 3
				w := randVec(rng, rows*ld)
				x := randVec(rng, cols)
				out := make([]float32, rows+5)
				for i := rows; i < len(out); i++ {
					out[i] = 42
				}
				mv(out[:rows], w, ld, x, false)
				ref, bound := refMatVec(w, ld, x, rows)
				for i := range ref {
					require.InDelta(t, ref[i], float64(out[i]), bound[i], "%s rows %d cols %d row %d", name, rows, cols, i)
				}
				mv(out[:rows], w, ld, x, true) // accumulate: now twice the product
				for i := range ref {
					require.InDelta(t, 2*ref[i], float64(out[i]), 2*bound[i], "%s add, rows %d cols %d row %d", name, rows, cols, i)
				}
				for i := rows; i < len(out); i++ {
					require.Equal(t, float32(42), out[i], "%s wrote past out", name)
				}
			}
		}
	}
}

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
