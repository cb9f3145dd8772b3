//go:build goexperiment.simd && amd64

package fused

// kernelsName in the GOEXPERIMENT=simd build: its products and scan are the
// archsimd kernels of kernels_simd.go (AVX-512, else gonum and Go); the
// batched prompt's products use the chosen set.
func kernelsName() string {
	if hasAVX512 {
		return "archsimd-avx512+" + kern.name
	}
	return "archsimd-fallback+" + kern.name
}
