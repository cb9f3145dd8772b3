package fused

import (
	"math/rand/v2"
	"testing"

	"mamba.go/common/model"
)

// BenchmarkHeadScan: the Mamba-2 scan step of one layer of the 130m shape
// (24 heads, head_dim 64, d_state 128: 786 KB of SSM state, read and
// written once), headScanSkipGate with each kernel set, one core:
//
//   - in-cache: the same layer again and again (it fits in L2);
//   - from-memory: layer after layer of a state 4 times the L3 of the
//     machine the docs were measured on (128 MB), as a step meets it
//     after the weights have streamed through the caches.
//
// ns/op is one layer; MB/s counts the state read and written.
func BenchmarkHeadScan(b *testing.B) {
	c := model.Shapes2["130m"]
	h, p, n := c.NHeads, c.HeadDim, c.DState
	di, layer := h*p, h*p*n
	rng := rand.New(rand.NewPCG(3, 3))
	x, z := randVec(rng, di), randVec(rng, di)
	B, C, D := randVec(rng, n), randVec(rng, n), randVec(rng, h)
	dt, A := make([]float32, h), make([]float32, h)
	for hd := range h {
		dt[hd], A[hd] = 0.05, -float32(hd+1)
	}
	y := make([]float32, di)
	const layers = 128 << 20 / 4 / (24 * 64 * 128) // 170 layers: 128 MB
	state := randVec(rng, layers*layer)
	for _, v := range []struct {
		name   string
		layers int
	}{{"in-cache", 1}, {"from-memory", layers}} {
		b.Run(v.name, func(b *testing.B) {
			forEachKernelSet(b, func(b *testing.B) {
				b.SetBytes(2 * 4 * int64(layer))
				l := 0
				for b.Loop() {
					headScanSkipGate(y, state[l*layer:(l+1)*layer], x, dt, A, B, C, D, z, p, h, true, 0, h)
					l = (l + 1) % v.layers
				}
			})
		})
	}
}
