package fused

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"mamba.go/fused/internal/kernels"
	"mamba.go/fused/internal/testvec"
)

// headScanSkipGate, the Mamba-2 scan phase, with each kernel set's head
// scan against the Go set's, on the real shape (d_state 128, head_dim 64)
// and awkward ones.

// headScanSkipGate with each set's kernel against the Go kernel's: heads
// in groups (n_groups 1 and 2), a worker's range of heads, the gate on and
// off.
func TestSetHeadScanSkipGate(t *testing.T) {
	for _, set := range kernels.Sets() {
		t.Run(set, func(t *testing.T) { headScanSkipGateAgrees(t, set) })
	}
}

func headScanSkipGateAgrees(t *testing.T, set string) {
	rng := rand.New(rand.NewPCG(29, 30))
	const h = 6
	for _, sh := range testvec.HeadScanShapes {
		for _, g := range []int{1, 2} {
			for _, gate := range []bool{true, false} {
				n, p := sh.N, sh.P
				di := h * p
				state := randVec(rng, di*n)
				x, z, D := randVec(rng, di), randVec(rng, di), randVec(rng, h)
				B, C := randVec(rng, g*n), randVec(rng, g*n)
				dt, A := make([]float32, h), make([]float32, h)
				for hd := range h {
					dt[hd] = float32(0.01 + rng.Float64())
					A[hd] = -float32(1 + 8*rng.Float64())
				}
				for i := range z {
					z[i] *= 10 // SiLU into its tails
				}
				hlo, hhi := 1, h-1 // one worker's heads
				run := func(set string) (y, st []float32) {
					restore, err := kernels.Use(set)
					require.NoError(t, err)
					defer restore()
					y, st = make([]float32, di), append([]float32(nil), state...)
					headScanSkipGate(y, st, x, dt, A, B, C, D, z, p, h/g, gate, hlo, hhi)
					return y, st
				}
				wantY, wantSt := run("go")
				y, st := run(set)
				where := fmt.Sprintf("n %d p %d g %d gate %v", n, p, g, gate)
				for i := range state {
					if i < hlo*p*n || i >= hhi*p*n {
						require.Equal(t, state[i], st[i], "state %d of another worker's head, %s", i, where)
						continue
					}
					require.InDelta(t, wantSt[i], st[i], 1e-6*(1+math.Abs(float64(wantSt[i]))), "state %d, %s", i, where)
				}
				for i := range di {
					hd := i / p
					if hd < hlo || hd >= hhi {
						require.Zero(t, y[i], "y %d of another worker's head, %s", i, where)
						continue
					}
					// y's error bound: eps·(Σ|C·state| + |D·x|)·|SiLU(z)|
					gr := hd / (h / g)
					bound := math.Abs(float64(D[hd] * x[i]))
					for s := range n {
						bound += math.Abs(float64(C[gr*n+s] * st[i*n+s]))
					}
					if gate {
						bound *= math.Abs(float64(kernels.SiLU32(z[i])))
					}
					require.InDelta(t, wantY[i], y[i], 1e-6*bound+1e-30, "y %d, %s", i, where)
				}
			}
		}
	}
}
