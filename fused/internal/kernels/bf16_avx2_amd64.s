//go:build amd64 && !purego

#include "textflag.h"
#include "matvec_amd64.h"

// AVX2+FMA products with bfloat16 weights, 8 float32 lanes
// (bf16_amd64.go has their Go declarations). They are the float32
// kernels of kernels_avx2_amd64.s with each weight vector widened as it is
// loaded:
//
//	VPMOVZXWD  8 bfloat16 (16 bytes) → 8 dwords, b in the low 16 bits
//	VPSLLD $16 b<<16: the float32 the bfloat16 is, exactly
//
// and then multiplied as before. The Go wrappers check the slices and pass
// cols a multiple of 8; nothing here allocates, calls, or touches memory
// outside the ranges they give.

// WIDEN8(m, y): y = the 8 bfloat16 at m as float32.
#define WIDEN8(m, y) \
	VPMOVZXWD m, y; \
	VPSLLD $16, y, y

// REDUCE4(a, b, c, d, ax): a = [Σa, Σb, Σc, Σd] in its low 128 bits, as
// kernels_avx2_amd64.s's (macros are local to a file). b and X15 are
// clobbered.
#define REDUCE4(a, b, c, d, ax) \
	VHADDPS b, a, a; \
	VHADDPS d, c, c; \
	VHADDPS c, a, a; \
	VEXTRACTF128 $1, a, X15; \
	VADDPS X15, ax, ax

// func matVecBF16AVX2(out *float32, w *uint16, ld int, x *float32, rows, cols int, add bool)
//
// out[i] (+)= Σ_j w[i·ld + j]·x[j], cols a multiple of 8: matVecAVX2's
// loop, one row at a time read front to back with four 8-lane
// accumulators (32 columns a step), then 8 at a time. (Four rows at a time,
// as matMat4x1BF16AVX2 goes, loads x once for four rows but streamed a
// matrix from memory several times slower: the rows are four streams.)
TEXT ·matVecBF16AVX2(SB), NOSPLIT, $0-49
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $1, R8
	MOVQ x+24(FP), DX
	MOVQ rows+32(FP), BX
	MOVQ cols+40(FP), CX
	MOVQ CX, R12
	ANDQ $-32, R12
	MOVBQZX add+48(FP), R13

bvRow:
	TESTQ BX, BX
	JZ bvDone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

bvBody:
	CMPQ AX, R12
	JGE bvEight
	WIDEN8((SI)(AX*2), Y4)
	WIDEN8(16(SI)(AX*2), Y5)
	WIDEN8(32(SI)(AX*2), Y6)
	WIDEN8(48(SI)(AX*2), Y7)
	VFMADD231PS (DX)(AX*4), Y4, Y0
	VFMADD231PS 32(DX)(AX*4), Y5, Y1
	VFMADD231PS 64(DX)(AX*4), Y6, Y2
	VFMADD231PS 96(DX)(AX*4), Y7, Y3
	ADDQ $32, AX
	JMP bvBody

bvEight:
	CMPQ AX, CX
	JGE bvReduce
	WIDEN8((SI)(AX*2), Y4)
	VFMADD231PS (DX)(AX*4), Y4, Y0
	ADDQ $8, AX
	JMP bvEight

bvReduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	TESTQ R13, R13
	JZ bvPut
	VADDSS (DI), X0, X0

bvPut:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, SI
	DECQ BX
	JMP bvRow

bvDone:
	VZEROUPPER
	RET

// func matMat4x3BF16AVX2(out *float32, ldo int, w *uint16, ldw int, x *float32, ldx int, cols int, add bool)
//
// matMat4x3AVX2 with bfloat16 weights: out[t·ldo + r] (+)= Σ_j
// w[r·ldw + j]·x[t·ldx + j] for 4 rows r and 3 tokens t, cols a multiple
// of 8; each weight vector widened once for the three tokens.
TEXT ·matMat4x3BF16AVX2(SB), NOSPLIT, $0-57
	MOVQ w+16(FP), SI
	MOVQ ldw+24(FP), R8
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	MOVQ x+32(FP), DX
	MOVQ ldx+40(FP), R8
	SHLQ $2, R8
	LEAQ (DX)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	MOVQ cols+48(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX

bm43Loop:
	CMPQ AX, CX
	JGE bm43Reduce
	VMOVUPS (DX)(AX*4), Y12
	VMOVUPS (R12)(AX*4), Y13
	VMOVUPS (R13)(AX*4), Y14
	WIDEN8((SI)(AX*2), Y15)
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y8
	WIDEN8((R9)(AX*2), Y15)
	VFMADD231PS Y15, Y12, Y1
	VFMADD231PS Y15, Y13, Y5
	VFMADD231PS Y15, Y14, Y9
	WIDEN8((R10)(AX*2), Y15)
	VFMADD231PS Y15, Y12, Y2
	VFMADD231PS Y15, Y13, Y6
	VFMADD231PS Y15, Y14, Y10
	WIDEN8((R11)(AX*2), Y15)
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y11
	ADDQ $8, AX
	JMP bm43Loop

bm43Reduce:
	// Token t's four row sums are Y(4t)..Y(4t+3); they go to out[t·ldo : t·ldo+4].
	REDUCE4(Y0, Y1, Y2, Y3, X0)
	REDUCE4(Y4, Y5, Y6, Y7, X4)
	REDUCE4(Y8, Y9, Y10, Y11, X8)
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	MOVBQZX add+56(FP), R11
	TESTQ R11, R11
	JZ bm43Put
	VADDPS (DI), X0, X0
	VADDPS (R9), X4, X4
	VADDPS (R10), X8, X8

bm43Put:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (R9)
	VMOVUPS X8, (R10)
	VZEROUPPER
	RET

// func matMat4x1BF16AVX2(out *float32, w *uint16, ldw int, x *float32, cols int, add bool)
//
// matMat4x3BF16AVX2 for one token: out[r] (+)= Σ_j w[r·ldw + j]·x[j],
// r < 4, the same sums in the same order.
TEXT ·matMat4x1BF16AVX2(SB), NOSPLIT, $0-41
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	MOVQ x+24(FP), DX
	MOVQ cols+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

bm41Loop:
	CMPQ AX, CX
	JGE bm41Reduce
	VMOVUPS (DX)(AX*4), Y12
	WIDEN8((SI)(AX*2), Y4)
	VFMADD231PS Y4, Y12, Y0
	WIDEN8((R9)(AX*2), Y5)
	VFMADD231PS Y5, Y12, Y1
	WIDEN8((R10)(AX*2), Y6)
	VFMADD231PS Y6, Y12, Y2
	WIDEN8((R11)(AX*2), Y7)
	VFMADD231PS Y7, Y12, Y3
	ADDQ $8, AX
	JMP bm41Loop

bm41Reduce:
	REDUCE4(Y0, Y1, Y2, Y3, X0)
	MOVQ out+0(FP), DI
	MOVBQZX add+40(FP), R11
	TESTQ R11, R11
	JZ bm41Put
	VADDPS (DI), X0, X0

bm41Put:
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET
