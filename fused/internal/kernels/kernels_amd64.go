//go:build amd64 && !purego

package kernels

// The assembly kernels (kernels_avx2_amd64.s, kernels_avx512_amd64.s) and
// the Go wrappers that check their slices: each wrapper has the signature
// of the Go kernel it replaces (float32.go, scan.go) and computes the same
// formula; the assembly only loops. Why assembly: the products need
// pointer-based loops with several accumulators and no bounds checks, and
// the scan an exponential inlined into the vector loop, which the compiler
// does not give.

//go:noescape
func matVecAVX2(out, w *float32, ld int, x *float32, rows, cols int, add bool)

//go:noescape
func matMat4x3AVX2(out *float32, ldo int, w *float32, ldw int, x *float32, ldx int, cols int, add bool)

//go:noescape
func matMat4x1AVX2(out *float32, w *float32, ldw int, x *float32, cols int, add bool)

//go:noescape
func scan16AVX2(y, ssm, u, dt, A, B, C, D, z *float32, channels int)

//go:noescape
func softplusAVX2(x, b *float32, n int)

//go:noescape
func matMat4x3AVX512(out *float32, ldo int, w *float32, ldw int, x *float32, ldx int, cols int, add bool)

//go:noescape
func matMat4x1AVX512(out *float32, w *float32, ldw int, x *float32, cols int, add bool)

//go:noescape
func scan16AVX512(y, ssm, u, dt, A, B, C, D, z *float32, channels int)

//go:noescape
func softplusAVX512(x, b *float32, n int)

// asmKernels are the kernel sets this CPU can run, fastest first: AVX-512
// before AVX2.
func asmKernels() []kernelSet {
	var sets []kernelSet
	if cpuAVX512 {
		k := avx512Kernels
		if cpuAVX512VBMI {
			// The AVX-512 packed product (its byte shuffle needs VBMI)
			// is faster from cache and slower streaming from memory;
			// whole steps, which do both, run as fast or faster.
			k.matVecPacked = matVecPackedAVX512Slices
		}
		sets = append(sets, k)
	}
	if cpuAVX2FMA {
		sets = append(sets, avx2Kernels)
	}
	return sets
}

var avx512Kernels = kernelSet{
	name: "avx512",
	// The product streams weights from memory, where the AVX2 kernel is
	// the faster: the set keeps it.
	matVec:   matVecAVX2Slices,
	matMat:   matMatAVX512Slices,
	scan:     scanAVX512Slices,
	softplus: softplusAVX512Slices,
	headScan: headScanAVX512Slices,
	// bfloat16 weights. The product is the AVX2 one here too, for the
	// same reason.
	matVecBF16: matVecBF16AVX2Slices,
	matMatBF16: matMatBF16AVX512Slices,
	// packed float32 weights: the AVX2 kernels here, and the AVX-512
	// product where the CPU has VBMI (asmKernels). Both sum as the float32
	// product does.
	matVecPacked: matVecPackedAVX2Slices,
	unpack:       unpackAVX2Slices,
}

var avx2Kernels = kernelSet{
	name:     "avx2",
	matVec:   matVecAVX2Slices,
	matMat:   matMatAVX2Slices,
	scan:     scanAVX2Slices,
	softplus: softplusAVX2Slices,
	headScan: headScanAVX2Slices,
	// bfloat16 weights
	matVecBF16: matVecBF16AVX2Slices,
	matMatBF16: matMatBF16AVX2Slices,
	// packed float32 weights
	matVecPacked: matVecPackedAVX2Slices,
	unpack:       unpackAVX2Slices,
}

// matVecAVX2Slices: out[i] (+)= Σ_j W[i·ld + j]·x[j], as matVecGeneric.
func matVecAVX2Slices(out, w []float32, ld int, x []float32, add bool) {
	rows, cols := len(out), len(x)
	if rows == 0 || cols == 0 {
		matVecGeneric(out, w, ld, x, add)
		return
	}
	_ = w[(rows-1)*ld+cols-1] // the last weight read: the bounds check the assembly skips
	matVecAVX2(&out[0], &w[0], ld, &x[0], rows, cols, add)
}

// matMatAVX2Slices is matMatGeneric in AVX2 blocks (matMatBlocks), for
// columns a multiple of 8; other shapes go to matMatGeneric.
func matMatAVX2Slices(out []float32, ldo int, w []float32, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	matMatBlocks(8, matMat4x3AVX2, matMat4x1AVX2, matMatGeneric, out, ldo, w, ldw, x, ldx, rows, cols, tokens, add)
}

// matMatBlocks is matMatGeneric by one set's kernels: blocks of 4 rows × 3
// tokens (k4x3), then 4 rows × 1 token (k4x1), for columns a multiple of
// lanes; other column counts go to narrower, whole, and so do the rows past
// the last multiple of 4 (fewer than 4 rows: every narrower set hands them
// on to the generic loop). The sums of a (row, token) are the same
// whichever block computed them. W is the weights' type: float32, or
// uint16 for bfloat16 (bf16_amd64.go).
func matMatBlocks[W float32 | uint16](lanes int,
	k4x3 func(out *float32, ldo int, w *W, ldw int, x *float32, ldx int, cols int, add bool),
	k4x1 func(out *float32, w *W, ldw int, x *float32, cols int, add bool),
	narrower func(out []float32, ldo int, w []W, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool),
	out []float32, ldo int, w []W, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	if rows == 0 || tokens == 0 {
		return
	}
	if cols == 0 || cols%lanes != 0 {
		narrower(out, ldo, w, ldw, x, ldx, rows, cols, tokens, add)
		return
	}
	_ = out[(tokens-1)*ldo+rows-1] // the last values the assembly touches: its bounds checks
	_ = w[(rows-1)*ldw+cols-1]
	_ = x[(tokens-1)*ldx+cols-1]
	r4 := rows &^ 3
	for r := 0; r < r4; r += 4 {
		t := 0
		for ; t+3 <= tokens; t += 3 {
			k4x3(&out[t*ldo+r], ldo, &w[r*ldw], ldw, &x[t*ldx], ldx, cols, add)
		}
		for ; t < tokens; t++ {
			k4x1(&out[t*ldo+r], &w[r*ldw], ldw, &x[t*ldx], cols, add)
		}
	}
	if r4 < rows {
		narrower(out[r4:], ldo, w[r4*ldw:], ldw, x, ldx, rows-r4, cols, tokens, add)
	}
}

// scanAVX2Slices is scanSkipGateGeneric for n = 16 (every real Mamba),
// eight channels a group from lo (scanGroups).
func scanAVX2Slices(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	scanGroups(scan16AVX2, y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// scanGroups runs one set's n = 16 scan kernel on the whole groups of
// eight channels from lo; the channels past the last whole group, and
// other n, go to the generic loop. Callers start shares at multiples of 8
// channels, so a channel is always computed by the same code.
func scanGroups(kernel func(y, ssm, u, dt, A, B, C, D, z *float32, channels int),
	y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	n := len(B)
	g := (hi - lo) &^ 7
	if n != 16 || g == 0 {
		scanSkipGateGeneric(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
		return
	}
	e := lo + g
	_, _, _, _, _, _ = y[e-1], ssmState[e*n-1], u[e-1], dt[e-1], A[e*n-1], D[e-1]
	_, _, _ = z[e-1], B[15], C[15]
	kernel(&y[lo], &ssmState[lo*n], &u[lo], &dt[lo], &A[lo*n], &B[0], &C[0], &D[lo], &z[lo], g)
	if e < hi {
		scanSkipGateGeneric(y, ssmState, u, dt, A, B, C, D, z, e, hi)
	}
}

// softplusAVX2Slices is biasSoftplusGeneric, 8 lanes at a time.
func softplusAVX2Slices(x, b []float32) {
	g := len(x) &^ 7
	if g > 0 {
		_ = b[g-1]
		softplusAVX2(&x[0], &b[0], g)
	}
	if g < len(x) {
		biasSoftplusGeneric(x[g:], b[g:len(x)])
	}
}

// matMatAVX512Slices: matMatAVX2Slices on 16 lanes, for columns a multiple
// of 16 (others take the AVX2 kernels, whole).
func matMatAVX512Slices(out []float32, ldo int, w []float32, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
	matMatBlocks(16, matMat4x3AVX512, matMat4x1AVX512, matMatAVX2Slices, out, ldo, w, ldw, x, ldx, rows, cols, tokens, add)
}

// scanAVX512Slices: scanAVX2Slices with a channel's 16 states in one vector.
func scanAVX512Slices(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	scanGroups(scan16AVX512, y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// softplusAVX512Slices: biasSoftplusGeneric, 16 lanes at a time, then 8.
func softplusAVX512Slices(x, b []float32) {
	g := len(x) &^ 15
	if g > 0 {
		_ = b[g-1]
		softplusAVX512(&x[0], &b[0], g)
	}
	if g < len(x) {
		softplusAVX2Slices(x[g:], b[g:len(x)])
	}
}
