//go:build amd64 && !purego

package kernels

// The packed float32 products in assembly (packed_avx2_amd64.s,
// packed_avx512_amd64.s)
// and the Go wrappers that check their slices: each has the signature of
// its generic kernel (packed.go) and computes the same formula.

//go:noescape
func matVecPackedAVX2(out *float32, w *byte, top *[16]byte, x *float32, rows, cols int, add bool)

//go:noescape
func matVecPackedAVX512(out *float32, w *byte, top *[16]byte, x *float32, rows, cols int, add bool)

//go:noescape
func unpackAVX2(dst *float32, w *byte, top *[16]byte, groups int)

// matVecPackedAVX2Slices: matVecPackedGeneric in AVX2, for w holding
// packedSlack bytes past its last row (packMatrix's matrices do); others go
// to matVecPackedGeneric.
func matVecPackedAVX2Slices(out []float32, w []byte, top *[16]byte, x []float32, add bool) {
	rows, cols := len(out), len(x)
	n := rows * packedRowBytes(cols)
	if rows == 0 || cols == 0 || cols%packedGroup != 0 || cap(w) < n+packedSlack {
		matVecPackedGeneric(out, w, top, x, add)
		return
	}
	_ = w[:n+packedSlack] // the bytes the assembly reads: the bounds check it skips
	matVecPackedAVX2(&out[0], &w[0], top, &x[0], rows, cols, add)
}

// matVecPackedAVX512Slices: matVecPackedAVX2Slices on 16 lanes, for
// columns a multiple of 32 (others take the AVX2 kernel) and w holding
// packedSlack bytes past its last row.
func matVecPackedAVX512Slices(out []float32, w []byte, top *[16]byte, x []float32, add bool) {
	rows, cols := len(out), len(x)
	n := rows * packedRowBytes(cols)
	if rows == 0 || cols == 0 || cols%32 != 0 || cap(w) < n+packedSlack {
		matVecPackedAVX2Slices(out, w, top, x, add)
		return
	}
	_ = w[:n+packedSlack]
	matVecPackedAVX512(&out[0], &w[0], top, &x[0], rows, cols, add)
}

// unpackAVX2Slices: unpackGeneric in AVX2, for w holding packedSlack bytes
// past the groups that dst takes.
func unpackAVX2Slices(dst []float32, w []byte, top *[16]byte) {
	groups := len(dst) / packedGroup
	n := groups * packedGroupBytes
	if groups == 0 || len(dst)%packedGroup != 0 || cap(w) < n+packedSlack {
		unpackGeneric(dst, w, top)
		return
	}
	_ = w[:n+packedSlack]
	unpackAVX2(&dst[0], &w[0], top, groups)
}
