//go:build amd64 && !purego

package fused

import (
	"testing"
	"time"
)

// BenchmarkForwardPackedWidths: whole steps of the packed model with the
// AVX2 and the AVX-512 packed product in turn, token by token, to choose
// the avx512 set's (kernels_amd64.go): the kernel alone streams slower
// from memory in AVX-512 and runs faster from cache, and a step does both.
func BenchmarkForwardPackedWidths(b *testing.B) {
	if !cpuAVX512VBMI {
		b.Skip("no AVX-512 VBMI on this CPU")
	}
	m, _ := packedAndFloat32(b)
	saved := kern
	defer func() { kern = saved }()
	kernels := []func(out []float32, w []byte, top *[16]byte, x []float32, add bool){matVecPackedAVX2Slices, matVecPackedAVX512Slices}
	var took [2]time.Duration
	tok := 0
	for b.Loop() {
		for i, k := range kernels {
			kern.matVecPacked = k
			start := time.Now()
			if _, err := m.Forward(tok); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
		}
		tok = (tok + 1) % 1000
	}
	b.ReportMetric(float64(b.N)/took[0].Seconds(), "avx2-tok/s")
	b.ReportMetric(float64(b.N)/took[1].Seconds(), "avx512-tok/s")
}
