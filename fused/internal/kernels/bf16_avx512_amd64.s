//go:build amd64 && !purego

#include "textflag.h"
#include "matvec_amd64.h"

// AVX-512 products with bfloat16 weights, 16 float32 lanes: the loops of
// bf16_avx2_amd64.s with ZMM registers, each weight vector widened
// as it is loaded:
//
//	VPMOVZXWD  16 bfloat16 (32 bytes) → 16 dwords, b in the low 16 bits
//	VPSLLD $16 b<<16: the float32 the bfloat16 is, exactly
//
// (both AVX-512F). The Go wrappers (bf16_amd64.go) check the slices
// and pass cols a multiple of 16.

// WIDEN16(m, z): z = the 16 bfloat16 at m as float32.
#define WIDEN16(m, z) \
	VPMOVZXWD m, z; \
	VPSLLD $16, z, z

// HALF(z, y): y = z's upper 8 lanes added to its lower 8 (y is z's lower
// half), as kernels_avx512_amd64.s's.
#define HALF(z, y, tmp) \
	VEXTRACTF64X4 $1, z, tmp; \
	VADDPS tmp, y, y

// REDUCE4Y(a, b, c, d, ax): a = [Σa, Σb, Σc, Σd] in its low 128 bits, as
// the AVX2 files' REDUCE4.
#define REDUCE4Y(a, b, c, d, ax) \
	VHADDPS b, a, a; \
	VHADDPS d, c, c; \
	VHADDPS c, a, a; \
	VEXTRACTF128 $1, a, X15; \
	VADDPS X15, ax, ax

// func matMat4x3BF16AVX512(out *float32, ldo int, w *uint16, ldw int, x *float32, ldx int, cols int, add bool)
//
// matMat4x3AVX512 with bfloat16 weights, cols a multiple of 16: each
// (row, token) sum is one 16-lane accumulator, halved to 8 lanes, then
// reduced as in the AVX2 kernels.
TEXT ·matMat4x3BF16AVX512(SB), NOSPLIT, $0-57
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
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	XORQ AX, AX

zm43Loop:
	CMPQ AX, CX
	JGE zm43Reduce
	VMOVUPS (DX)(AX*4), Z12
	VMOVUPS (R12)(AX*4), Z13
	VMOVUPS (R13)(AX*4), Z14
	WIDEN16((SI)(AX*2), Z15)
	WIDEN16((R9)(AX*2), Z16)
	WIDEN16((R10)(AX*2), Z17)
	WIDEN16((R11)(AX*2), Z18)
	VFMADD231PS Z15, Z12, Z0
	VFMADD231PS Z15, Z13, Z4
	VFMADD231PS Z15, Z14, Z8
	VFMADD231PS Z16, Z12, Z1
	VFMADD231PS Z16, Z13, Z5
	VFMADD231PS Z16, Z14, Z9
	VFMADD231PS Z17, Z12, Z2
	VFMADD231PS Z17, Z13, Z6
	VFMADD231PS Z17, Z14, Z10
	VFMADD231PS Z18, Z12, Z3
	VFMADD231PS Z18, Z13, Z7
	VFMADD231PS Z18, Z14, Z11
	ADDQ $16, AX
	JMP zm43Loop

zm43Reduce:
	HALF(Z0, Y0, Y20)
	HALF(Z1, Y1, Y20)
	HALF(Z2, Y2, Y20)
	HALF(Z3, Y3, Y20)
	HALF(Z4, Y4, Y20)
	HALF(Z5, Y5, Y20)
	HALF(Z6, Y6, Y20)
	HALF(Z7, Y7, Y20)
	HALF(Z8, Y8, Y20)
	HALF(Z9, Y9, Y20)
	HALF(Z10, Y10, Y20)
	HALF(Z11, Y11, Y20)
	REDUCE4Y(Y0, Y1, Y2, Y3, X0)
	REDUCE4Y(Y4, Y5, Y6, Y7, X4)
	REDUCE4Y(Y8, Y9, Y10, Y11, X8)
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	MOVBQZX add+56(FP), R11
	TESTQ R11, R11
	JZ zm43Put
	VADDPS (DI), X0, X0
	VADDPS (R9), X4, X4
	VADDPS (R10), X8, X8

zm43Put:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (R9)
	VMOVUPS X8, (R10)
	VZEROUPPER
	RET

// func matMat4x1BF16AVX512(out *float32, w *uint16, ldw int, x *float32, cols int, add bool)
//
// matMat4x3BF16AVX512 for one token, the same sums in the same order.
TEXT ·matMat4x1BF16AVX512(SB), NOSPLIT, $0-41
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	SHLQ $1, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	MOVQ x+24(FP), DX
	MOVQ cols+32(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	XORQ AX, AX

zm41Loop:
	CMPQ AX, CX
	JGE zm41Reduce
	VMOVUPS (DX)(AX*4), Z12
	WIDEN16((SI)(AX*2), Z15)
	WIDEN16((R9)(AX*2), Z16)
	WIDEN16((R10)(AX*2), Z17)
	WIDEN16((R11)(AX*2), Z18)
	VFMADD231PS Z15, Z12, Z0
	VFMADD231PS Z16, Z12, Z1
	VFMADD231PS Z17, Z12, Z2
	VFMADD231PS Z18, Z12, Z3
	ADDQ $16, AX
	JMP zm41Loop

zm41Reduce:
	HALF(Z0, Y0, Y20)
	HALF(Z1, Y1, Y20)
	HALF(Z2, Y2, Y20)
	HALF(Z3, Y3, Y20)
	REDUCE4Y(Y0, Y1, Y2, Y3, X0)
	MOVQ out+0(FP), DI
	MOVBQZX add+40(FP), R11
	TESTQ R11, R11
	JZ zm41Put
	VADDPS (DI), X0, X0

zm41Put:
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET
