//go:build !goexperiment.simd || !amd64

package fused

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// matVec: out[i] = Σ_j W[i·ld + j] · x[j] for i < len(out), j < len(x),
// learning's matVec over a block of W's rows and columns (row stride ld),
// on gonum's float32 BLAS.
func matVec(out, w []float32, ld int, x []float32) { gemv(out, w, ld, x, 0) }

// matVecAdd: out[i] += Σ_j W[i·ld + j] · x[j], learning's matVec and
// addResidual in one pass.
func matVecAdd(out, w []float32, ld int, x []float32) { gemv(out, w, ld, x, 1) }

// gemv: out = W·x + beta·out.
func gemv(out, w []float32, ld int, x []float32, beta float32) {
	if len(out) == 0 {
		return
	}
	if len(x) == 0 {
		for i := range out {
			out[i] *= beta
		}
		return
	}
	gonum.Implementation{}.Sgemv(blas.NoTrans, len(out), len(x), 1, w, ld, x, 1, beta, out, 1)
}

// scanSkipGate: see scanSkipGateGeneric.
func scanSkipGate(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	scanSkipGateGeneric(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// biasSoftplus: see biasSoftplusGeneric.
func biasSoftplus(x, b []float32) { biasSoftplusGeneric(x, b) }

// clearUpper does nothing: this build has no AVX code (see kernels_simd.go).
func clearUpper() {}

// headScanSkipGate: see headScanSkipGateGeneric.
func headScanSkipGate(y, ssmState, x, dt, A, B, C, D, z []float32, p, perGroup int, gate bool, hlo, hhi int) {
	headScanSkipGateGeneric(y, ssmState, x, dt, A, B, C, D, z, p, perGroup, gate, hlo, hhi)
}
