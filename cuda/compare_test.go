package cuda

import "math"

// Helpers for emu_test.go, which compares the CPU emulator's logits with
// learning's (gpu_test.go has common/model/modeltest's).

// maxAbs is the largest |x|.
func maxAbs(xs []float32) float64 {
	var m float64
	for _, x := range xs {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// maxAbsDiff is the largest |a[i] − b[i]|.
func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
