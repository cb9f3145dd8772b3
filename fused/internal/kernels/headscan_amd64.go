//go:build amd64 && !purego

package kernels

// The Mamba-2 head scan in assembly (kernels2_amd64.s), beside the Mamba-1
// kernels of kernels_amd64.go: the Go wrappers check the slices and hand
// the assembly whole groups of four channels; it only loops.

//go:noescape
func headScan4AVX2(y, state, x, B, C *float32, dA, dt float32, channels, n int)

//go:noescape
func headScan4AVX512(y, state, x, B, C *float32, dA, dt float32, channels, n int)

// headScanAVX2Slices is headScanGeneric for n a multiple of 8, four
// channels at a time with 8-lane vectors; the last p mod 4 channels, and
// other n, go to headScanGeneric.
func headScanAVX2Slices(y, state, x, B, C []float32, dA, dt float32) {
	headScanGroups(8, headScan4AVX2, headScanGeneric, y, state, x, B, C, dA, dt)
}

// headScanAVX512Slices: headScanAVX2Slices with 16-lane vectors, for n a
// multiple of 16 (other n take the AVX2 kernel, or the Go loop).
func headScanAVX512Slices(y, state, x, B, C []float32, dA, dt float32) {
	headScanGroups(16, headScan4AVX512, headScanAVX2Slices, y, state, x, B, C, dA, dt)
}

// headScanGroups runs one set's kernel on the whole groups of four
// channels of a head whose n is a multiple of lanes; narrower gets other
// n whole, and headScanGeneric the channels past the last group. A
// channel is always computed by the same code, whichever worker owns it.
func headScanGroups(lanes int,
	kernel func(y, state, x, B, C *float32, dA, dt float32, channels, n int),
	narrower func(y, state, x, B, C []float32, dA, dt float32),
	y, state, x, B, C []float32, dA, dt float32) {
	n, p := len(B), len(y)
	if n == 0 || n%lanes != 0 {
		narrower(y, state, x, B, C, dA, dt)
		return
	}
	g := p &^ 3
	if g > 0 {
		_, _, _, _ = state[g*n-1], x[g-1], C[n-1], y[g-1] // the assembly's bounds checks
		kernel(&y[0], &state[0], &x[0], &B[0], &C[0], dA, dt, g, n)
	}
	if g < p {
		headScanGeneric(y[g:], state[g*n:p*n], x[g:p], B, C, dA, dt)
	}
}
