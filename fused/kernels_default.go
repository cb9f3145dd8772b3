//go:build !goexperiment.simd || !amd64

package fused

// The kernels of the default build: the set chosen at start-up
// (kernels_select.go), assembly where the CPU has AVX2+FMA or AVX-512.

// matVecF32 is matVec (matrix.go) on float32 weights:
// out[i] = Σ_j W[i·ld + j] · x[j] for i < len(out), j < len(x),
// learning's matVec over a block of W's rows and columns (row stride ld).
func matVecF32(out, w []float32, ld int, x []float32) { kern.matVec(out, w, ld, x, false) }

// matVecAddF32 is matVecAdd on float32 weights:
// out[i] += Σ_j W[i·ld + j] · x[j], learning's matVec and
// addResidual in one pass.
func matVecAddF32(out, w []float32, ld int, x []float32) { kern.matVec(out, w, ld, x, true) }

// scanSkipGate: see scanSkipGateGeneric.
func scanSkipGate(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	kern.scan(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// biasSoftplus: see biasSoftplusGeneric.
func biasSoftplus(x, b []float32) { kern.softplus(x, b) }

// clearUpper does nothing: the assembly kernels end with VZEROUPPER
// themselves (see kernels_simd.go for why that matters).
func clearUpper() {}

func kernelsName() string { return kern.name }
