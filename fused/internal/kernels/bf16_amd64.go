//go:build amd64 && !purego

package kernels

// The bfloat16 products in assembly (bf16_avx2_amd64.s,
// bf16_avx512_amd64.s) and the Go wrappers that check their
// slices: each has the signature of its generic kernel (bf16.go)
// and computes the same formula.

//go:noescape
func matVecBF16AVX2(out *float32, w *uint16, ld int, x *float32, rows, cols int, add bool)

//go:noescape
func matMat4x3BF16AVX2(out *float32, ldo int, w *uint16, ldw int, x *float32, ldx int, cols int, add bool)

//go:noescape
func matMat4x1BF16AVX2(out *float32, w *uint16, ldw int, x *float32, cols int, add bool)

//go:noescape
func matMat4x3BF16AVX512(out *float32, ldo int, w *uint16, ldw int, x *float32, ldx int, cols int, add bool)

//go:noescape
func matMat4x1BF16AVX512(out *float32, w *uint16, ldw int, x *float32, cols int, add bool)

// matVecBF16AVX2Slices: out[i] (+)= Σ_j W[i·ld + j]·x[j], as
// matVecBF16Generic, for columns a multiple of 8 (every Mamba's widths);
// other column counts go to matVecBF16Generic.
func matVecBF16AVX2Slices(out []float32, w []uint16, ld int, x []float32, add bool) {
	rows, cols := len(out), len(x)
	if rows == 0 || cols == 0 || cols%8 != 0 {
		matVecBF16Generic(out, w, ld, x, add)
		return
	}
	_ = w[(rows-1)*ld+cols-1] // the last weight read: the bounds check the assembly skips
	matVecBF16AVX2(&out[0], &w[0], ld, &x[0], rows, cols, add)
}

// matMatBF16AVX2Slices is matMatBF16Generic in AVX2 blocks (matMatBlocks,
// the float32 kernels' blocking), for columns a multiple of 8.
func matMatBF16AVX2Slices(out []float32, ldo int, w []uint16, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	matMatBlocks(8, matMat4x3BF16AVX2, matMat4x1BF16AVX2, matMatBF16Generic, out, ldo, w, ldw, x, ldx, rows, cols, tokens, add)
}

// matMatBF16AVX512Slices: matMatBF16AVX2Slices on 16 lanes, for columns a
// multiple of 16 (others take the AVX2 kernels, whole).
func matMatBF16AVX512Slices(out []float32, ldo int, w []uint16, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	matMatBlocks(16, matMat4x3BF16AVX512, matMat4x1BF16AVX512, matMatBF16AVX2Slices, out, ldo, w, ldw, x, ldx, rows, cols, tokens, add)
}
