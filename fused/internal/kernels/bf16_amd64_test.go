//go:build amd64 && !purego

package kernels

import "testing"

// The AVX-512 bfloat16 matVec, which no set uses on the CPU measured
// (kernels_amd64.go), tested as the sets' are.
func TestMatVecBF16AVX512(t *testing.T) {
	if !cpuAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	checkMatVecBF16(t, matVecBF16AVX512Slices)
}
