package fused

import "math"

// Falcon-Mamba's one addition to the step (model/falcon.go): Δ_low, B and
// C, once x_proj has finished all of them, each divided by its own root
// mean square (no weight).
//
// Every worker normalises a private copy, xDBCn[w], right after the x_proj
// barrier, and its dt_scan_gate reads that copy. The norms need all of
// xDBC, which only that barrier guarantees; letting one worker normalise
// in place would need a second barrier per layer (a few microseconds with
// every worker spinning), while the norms are r+2n values (288 in the 7b
// model), well under a microsecond, and every worker computes the same
// bits from the same xDBC. No worker then writes what another reads.

// bcdtNorm is phase x_proj's end in Falcon-Mamba:
//
//	out = [Δ_low, B, C] / sqrt(mean(·²) + eps), each part on its own   (learning: bcdtNorm)
//
// xDBC, out: [r+2n]
func bcdtNorm(out, xDBC []float32, r, n int, eps float32) {
	for _, part := range [][2]int{{0, r}, {r, r + n}, {r + n, r + 2*n}} {
		x, o := xDBC[part[0]:part[1]], out[part[0]:part[1]]
		var ss float32
		for _, v := range x {
			ss += v * v
		}
		scale := 1 / float32(math.Sqrt(float64(ss/float32(len(x))+eps)))
		for i, v := range x {
			o[i] = v * scale
		}
	}
}
