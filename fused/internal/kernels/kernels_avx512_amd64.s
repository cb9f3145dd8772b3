//go:build amd64 && !purego

#include "textflag.h"
#include "kernels_amd64.h"

// AVX-512 kernels, 16 float32 lanes: the AVX2 kernels'
// (kernels_avx2_amd64.s) loops with ZMM registers. The constants are in
// kernels_amd64.h, read with embedded broadcast (.BCST).

// EXP16(x, k, p, t): x = eˣ on 16 lanes, exp32's method: x = k·ln2 + r,
// eˣ = 2ᵏ·p(r), 2ᵏ applied by VSCALEFPS; lanes below expMin give 0
// (mask K2). k, p, t, K2 are clobbered.
#define EXP16(x, k, p, t) \
	VCMPPS.BCST $0x0d, expMin8<>(SB), x, K2; \
	VMAXPS.BCST expMin8<>(SB), x, x; \
	VMINPS.BCST expMax8<>(SB), x, x; \
	VMULPS.BCST log2e8<>(SB), x, k; \
	VRNDSCALEPS $0, k, k; \
	VFNMADD231PS.BCST ln2Hi8<>(SB), k, x; \
	VFNMADD231PS.BCST ln2Lo8<>(SB), k, x; \
	VBROADCASTSS exp0<>(SB), p; \
	VFMADD213PS.BCST exp1<>(SB), x, p; \
	VFMADD213PS.BCST exp2<>(SB), x, p; \
	VFMADD213PS.BCST exp3<>(SB), x, p; \
	VFMADD213PS.BCST exp4<>(SB), x, p; \
	VFMADD213PS.BCST exp5<>(SB), x, p; \
	VMULPS x, x, t; \
	VFMADD213PS x, t, p; \
	VADDPS.BCST one8<>(SB), p, p; \
	VSCALEFPS.Z k, p, K2, x

// HALF(z, y): y = z's upper 8 lanes added to its lower 8.
#define HALF(z, y, tmp) \
	VEXTRACTF64X4 $1, z, tmp; \
	VADDPS tmp, y, y

// REDUCE4Y(a, b, c, d, ax): as the AVX2 file's REDUCE4.
#define REDUCE4Y(a, b, c, d, ax) \
	VHADDPS b, a, a; \
	VHADDPS d, c, c; \
	VHADDPS c, a, a; \
	VEXTRACTF128 $1, a, X15; \
	VADDPS X15, ax, ax

// func matMat4x3AVX512(out *float32, ldo int, w *float32, ldw int, x *float32, ldx int, cols int, add bool)
//
// matMat4x3AVX2 with 16-lane accumulators, cols a multiple of 16: each
// (row, token) sum is one 16-lane accumulator, halved to 8 lanes, then
// reduced as in the AVX2 kernels.
TEXT ·matMat4x3AVX512(SB), NOSPLIT, $0-57
	MOVQ w+16(FP), SI
	MOVQ ldw+24(FP), R8
	SHLQ $2, R8
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

m543Loop:
	CMPQ AX, CX
	JGE m543Reduce
	VMOVUPS (DX)(AX*4), Z12
	VMOVUPS (R12)(AX*4), Z13
	VMOVUPS (R13)(AX*4), Z14
	VMOVUPS (SI)(AX*4), Z15
	VMOVUPS (R9)(AX*4), Z16
	VMOVUPS (R10)(AX*4), Z17
	VMOVUPS (R11)(AX*4), Z18
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
	JMP m543Loop

m543Reduce:
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
	JZ m543Put
	VADDPS (DI), X0, X0
	VADDPS (R9), X4, X4
	VADDPS (R10), X8, X8

m543Put:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (R9)
	VMOVUPS X8, (R10)
	VZEROUPPER
	RET

// func matMat4x1AVX512(out *float32, w *float32, ldw int, x *float32, cols int, add bool)
//
// matMat4x3AVX512 for one token, the same sums in the same order.
TEXT ·matMat4x1AVX512(SB), NOSPLIT, $0-41
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	SHLQ $2, R8
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

m541Loop:
	CMPQ AX, CX
	JGE m541Reduce
	VMOVUPS (DX)(AX*4), Z12
	VFMADD231PS (SI)(AX*4), Z12, Z0
	VFMADD231PS (R9)(AX*4), Z12, Z1
	VFMADD231PS (R10)(AX*4), Z12, Z2
	VFMADD231PS (R11)(AX*4), Z12, Z3
	ADDQ $16, AX
	JMP m541Loop

m541Reduce:
	HALF(Z0, Y0, Y20)
	HALF(Z1, Y1, Y20)
	HALF(Z2, Y2, Y20)
	HALF(Z3, Y3, Y20)
	REDUCE4Y(Y0, Y1, Y2, Y3, X0)
	MOVQ out+0(FP), DI
	MOVBQZX add+40(FP), R11
	TESTQ R11, R11
	JZ m541Put
	VADDPS (DI), X0, X0

m541Put:
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func scan16AVX512(y, ssm, u, dt, A, B, C, D, z *float32, channels int)
//
// scan16AVX2 with a channel's 16 states in one vector: eight channels a
// group, their C·h vectors halved to 8 lanes and summed by the same
// transpose, the skip and gate on the group as 8-lane vectors.
// Frame: 0(SP) the eight halved C·h vectors, 256(SP) the eight Δ·u.
TEXT ·scan16AVX512(SB), NOSPLIT, $288-80
	MOVQ y+0(FP), DI
	MOVQ ssm+8(FP), R8
	MOVQ u+16(FP), R9
	MOVQ dt+24(FP), R10
	MOVQ A+32(FP), R11
	MOVQ B+40(FP), R12
	MOVQ C+48(FP), R13
	MOVQ D+56(FP), R14
	MOVQ channels+72(FP), BX
	VMOVUPS (R12), Z12
	VMOVUPS (R13), Z14
	MOVQ z+64(FP), R12

s5Group:
	CMPQ BX, $8
	JLT s5Done
	VMOVUPS (R10), Y0
	VMULPS (R9), Y0, Y0
	VMOVUPS Y0, 256(SP)
	XORQ CX, CX

s5Channel:
	VBROADCASTSS (R10)(CX*4), Z0  // Δ
	VBROADCASTSS 256(SP)(CX*4), Z1 // Δ·u
	VMULPS (R11), Z0, Z2          // Δ·A
	EXP16(Z2, Z3, Z4, Z7)
	VMULPS (R8), Z2, Z2           // exp(Δ·A)·h
	VFMADD231PS Z12, Z1, Z2       // + Δu·B
	VMOVUPS Z2, (R8)
	VMULPS Z14, Z2, Z6            // C·h
	VEXTRACTF64X4 $1, Z6, Y7
	VADDPS Y7, Y6, Y6
	MOVQ CX, AX
	SHLQ $5, AX
	VMOVUPS Y6, (SP)(AX*1)
	ADDQ $64, R11
	ADDQ $64, R8
	INCQ CX
	CMPQ CX, $8
	JLT s5Channel

	VMOVUPS (SP), Y0
	VHADDPS 32(SP), Y0, Y0
	VMOVUPS 64(SP), Y1
	VHADDPS 96(SP), Y1, Y1
	VHADDPS Y1, Y0, Y0
	VMOVUPS 128(SP), Y2
	VHADDPS 160(SP), Y2, Y2
	VMOVUPS 192(SP), Y3
	VHADDPS 224(SP), Y3, Y3
	VHADDPS Y3, Y2, Y2
	VPERM2F128 $0x20, Y2, Y0, Y1
	VPERM2F128 $0x31, Y2, Y0, Y3
	VADDPS Y3, Y1, Y1             // y
	VMOVUPS (R14), Y0
	VFMADD231PS (R9), Y0, Y1      // y += D·u
	VMOVUPS (R12), Y6             // z
	VXORPS signMask8<>(SB), Y6, Y2
	EXP16(Z2, Z3, Z4, Z7)         // e^−z (lanes 8–15 unused)
	VADDPS one8<>(SB), Y2, Y2
	VDIVPS Y2, Y6, Y6             // SiLU(z)
	VMULPS Y6, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R14
	ADDQ $32, R12
	SUBQ $8, BX
	JMP s5Group

s5Done:
	VZEROUPPER
	RET

// func softplusAVX512(x, b *float32, n int)
//
// softplusAVX2 on 16 lanes, n a multiple of 16.
TEXT ·softplusAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Z8, Z8, Z8

sp5Loop:
	CMPQ CX, $16
	JLT sp5Done
	VMOVUPS (DI), Z0
	VADDPS (SI), Z0, Z0           // v
	VXORPS.BCST signMask8<>(SB), Z0, Z1
	VMINPS Z1, Z0, Z1             // −|v|
	EXP16(Z1, Z2, Z3, Z5)         // t = e^−|v|
	VADDPS.BCST two8<>(SB), Z1, Z2
	VDIVPS Z2, Z1, Z1             // s = t / (2 + t)
	VMULPS Z1, Z1, Z2             // s²
	VBROADCASTSS inv13<>(SB), Z3
	VFMADD213PS.BCST inv11<>(SB), Z2, Z3
	VFMADD213PS.BCST inv9<>(SB), Z2, Z3
	VFMADD213PS.BCST inv7<>(SB), Z2, Z3
	VFMADD213PS.BCST inv5<>(SB), Z2, Z3
	VFMADD213PS.BCST inv3<>(SB), Z2, Z3
	VMULPS Z3, Z2, Z3             // s²·p
	VADDPS Z1, Z1, Z1             // 2s
	VFMADD231PS Z3, Z1, Z1        // 2s·(1 + s²·p)
	VMAXPS Z8, Z0, Z0
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP sp5Loop

sp5Done:
	VZEROUPPER
	RET
