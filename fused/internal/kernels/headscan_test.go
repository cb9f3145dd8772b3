package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"mamba.go/fused/internal/testvec"
)

// The Mamba-2 head scan of every kernel set this build and CPU can run,
// against a float64 loop and against the Go kernel, on the real shape
// (d_state 128, head_dim 64) and awkward ones (d_state not a multiple of
// 8, head_dim not a multiple of 4).

var headScanShapes = testvec.HeadScanShapes

// refHeadScan is headScanGeneric's formula in float64 from the same
// float32 inputs, with the bounds on the rounding error of a float32
// kernel: eps·(|dA·state| + |d·B|) for each state, eps·Σ|C·state| for y.
func refHeadScan(state, x, B, C []float32, dA, dt float32) (st, stBound, y, yBound []float64) {
	n := len(B)
	for i := range x {
		d := float64(dt * x[i]) // Δ·x is a float32 in every kernel
		var s, a float64
		for k := range n {
			prev := float64(dA) * float64(state[i*n+k])
			inp := d * float64(B[k])
			v := prev + inp
			st = append(st, v)
			stBound = append(stBound, math.Abs(prev)+math.Abs(inp))
			s += float64(C[k]) * v
			a += math.Abs(float64(C[k]) * v)
		}
		y = append(y, s)
		yBound = append(yBound, a)
	}
	return st, stBound, y, yBound
}

func TestSetHeadScan(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		rng := rand.New(rand.NewPCG(27, 28))
		for _, sh := range headScanShapes {
			n, p := sh.N, sh.P
			state := randVec(rng, p*n)
			B, C := randVec(rng, n), randVec(rng, n)
			for step := range 3 {
				x := randVec(rng, p)
				dA := float32(math.Exp(-3 * rng.Float64())) // exp(Δ·A), A < 0
				dt := float32(0.01 + rng.Float64())
				if step == 2 {
					dA = 0 // the state forgotten: exp underflowed
				}
				wantSt, stBound, wantY, yBound := refHeadScan(state, x, B, C, dA, dt)
				genSt := append([]float32(nil), state...)
				genY := make([]float32, p)
				headScanGeneric(genY, genSt, x, B, C, dA, dt)

				y := make([]float32, p+1)
				y[p] = 42
				k.headScan(y[:p], state, x, B, C, dA, dt)
				where := fmt.Sprintf("n %d p %d step %d", n, p, step)
				for i := range state {
					require.InDelta(t, wantSt[i], float64(state[i]), 1e-6*stBound[i]+1e-30, "state %d, %s", i, where)
					require.InDelta(t, float64(genSt[i]), float64(state[i]), 1e-6*stBound[i]+1e-30, "state %d against Go, %s", i, where)
				}
				for i := range p {
					require.InDelta(t, wantY[i], float64(y[i]), 1e-6*yBound[i]+1e-30, "y %d, %s", i, where)
					require.InDelta(t, float64(genY[i]), float64(y[i]), 1e-6*yBound[i]+1e-30, "y %d against Go, %s", i, where)
				}
				require.Equal(t, float32(42), y[p], "wrote past y, %s", where)
				copy(state, genSt) // the next step starts from the same state for both
			}
		}
	})
}
