//go:build amd64 && !purego

#include "textflag.h"

// The Mamba-2 head scan, AVX2+FMA (8 lanes) and AVX-512 (16 lanes), for
// kernels2_amd64.go's wrappers, which check the slices and pass whole
// groups of four channels. Nothing here allocates, calls, or touches
// memory outside the ranges they give.
//
// For four channels i at a time, with d_i = Δ·x[i] broadcast:
//
//	state[i][s] = dA·state[i][s] + d_i·B[s]    one FMA on d_i·B[s], rounded
//	y[i] = Σ_s C[s]·state[i][s]                one FMA into lane s mod L
//
// headScanGeneric (scan.go) rounds both products before the add (Go
// fuses no multiply-add on amd64 below GOAMD64=v3) and sums s in order;
// here the update rounds once less, and each sum is L lane sums, lane l
// holding s ≡ l mod L in order, reduced as ((l0+l1)+(l2+l3)) +
// ((l4+l5)+(l6+l7)) (16 lanes: the upper eight added to the lower first).
// So the results may differ from the Go loop's in the last bits; from one
// run to the next, and between worker counts, they do not.

// HSUM4(a, b, c, d, ax, tx): ax = [Σa, Σb, Σc, Σd] of four 8-lane
// vectors (kernels_avx2_amd64.s's REDUCE4). b, c and tx are clobbered.
#define HSUM4(a, b, c, d, ax, tx) \
	VHADDPS b, a, a; \
	VHADDPS d, c, c; \
	VHADDPS c, a, a; \
	VEXTRACTF128 $1, a, tx; \
	VADDPS tx, ax, ax

// HALF(z, y, tmp): y = z's upper 8 lanes added to its lower 8.
#define HALF(z, y, tmp) \
	VEXTRACTF64X4 $1, z, tmp; \
	VADDPS tmp, y, y

// func headScan4AVX2(y, state, x, B, C *float32, dA, dt float32, channels, n int)
//
// channels a multiple of 4, n a multiple of 8. Registers: Y0–Y3 the four
// sums, Y4–Y7 the four d_i, Y8 B, Y9 C, Y10–Y13 the new states, Y15 dA.
TEXT ·headScan4AVX2(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ state+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ B+24(FP), BX
	MOVQ C+32(FP), R8
	VBROADCASTSS dA+40(FP), Y15
	VMOVSS dt+44(FP), X14
	MOVQ channels+48(FP), R12
	MOVQ n+56(FP), CX
	MOVQ CX, R13
	SHLQ $2, R13 // one channel's states, bytes

hs8Group:
	TESTQ R12, R12
	JZ hs8Done
	LEAQ (SI)(R13*1), R9
	LEAQ (R9)(R13*1), R10
	LEAQ (R10)(R13*1), R11
	VMULSS 0(DX), X14, X4
	VBROADCASTSS X4, Y4
	VMULSS 4(DX), X14, X5
	VBROADCASTSS X5, Y5
	VMULSS 8(DX), X14, X6
	VBROADCASTSS X6, Y6
	VMULSS 12(DX), X14, X7
	VBROADCASTSS X7, Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

hs8Loop:
	VMOVUPS (BX)(AX*4), Y8
	VMOVUPS (R8)(AX*4), Y9
	VMULPS Y8, Y4, Y10
	VFMADD231PS (SI)(AX*4), Y15, Y10
	VMOVUPS Y10, (SI)(AX*4)
	VFMADD231PS Y10, Y9, Y0
	VMULPS Y8, Y5, Y11
	VFMADD231PS (R9)(AX*4), Y15, Y11
	VMOVUPS Y11, (R9)(AX*4)
	VFMADD231PS Y11, Y9, Y1
	VMULPS Y8, Y6, Y12
	VFMADD231PS (R10)(AX*4), Y15, Y12
	VMOVUPS Y12, (R10)(AX*4)
	VFMADD231PS Y12, Y9, Y2
	VMULPS Y8, Y7, Y13
	VFMADD231PS (R11)(AX*4), Y15, Y13
	VMOVUPS Y13, (R11)(AX*4)
	VFMADD231PS Y13, Y9, Y3
	ADDQ $8, AX
	CMPQ AX, CX
	JLT hs8Loop

	HSUM4(Y0, Y1, Y2, Y3, X0, X12)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	ADDQ $16, DX
	LEAQ (R11)(R13*1), SI
	SUBQ $4, R12
	JMP hs8Group

hs8Done:
	VZEROUPPER
	RET

// func headScan4AVX512(y, state, x, B, C *float32, dA, dt float32, channels, n int)
//
// headScan4AVX2 on 16 lanes: n a multiple of 16, Z registers as the AVX2
// kernel's Y registers.
TEXT ·headScan4AVX512(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ state+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ B+24(FP), BX
	MOVQ C+32(FP), R8
	VBROADCASTSS dA+40(FP), Z15
	VMOVSS dt+44(FP), X14
	MOVQ channels+48(FP), R12
	MOVQ n+56(FP), CX
	MOVQ CX, R13
	SHLQ $2, R13 // one channel's states, bytes

hs16Group:
	TESTQ R12, R12
	JZ hs16Done
	LEAQ (SI)(R13*1), R9
	LEAQ (R9)(R13*1), R10
	LEAQ (R10)(R13*1), R11
	VMULSS 0(DX), X14, X4
	VBROADCASTSS X4, Z4
	VMULSS 4(DX), X14, X5
	VBROADCASTSS X5, Z5
	VMULSS 8(DX), X14, X6
	VBROADCASTSS X6, Z6
	VMULSS 12(DX), X14, X7
	VBROADCASTSS X7, Z7
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	XORQ AX, AX

hs16Loop:
	VMOVUPS (BX)(AX*4), Z8
	VMOVUPS (R8)(AX*4), Z9
	VMULPS Z8, Z4, Z10
	VFMADD231PS (SI)(AX*4), Z15, Z10
	VMOVUPS Z10, (SI)(AX*4)
	VFMADD231PS Z10, Z9, Z0
	VMULPS Z8, Z5, Z11
	VFMADD231PS (R9)(AX*4), Z15, Z11
	VMOVUPS Z11, (R9)(AX*4)
	VFMADD231PS Z11, Z9, Z1
	VMULPS Z8, Z6, Z12
	VFMADD231PS (R10)(AX*4), Z15, Z12
	VMOVUPS Z12, (R10)(AX*4)
	VFMADD231PS Z12, Z9, Z2
	VMULPS Z8, Z7, Z13
	VFMADD231PS (R11)(AX*4), Z15, Z13
	VMOVUPS Z13, (R11)(AX*4)
	VFMADD231PS Z13, Z9, Z3
	ADDQ $16, AX
	CMPQ AX, CX
	JLT hs16Loop

	HALF(Z0, Y0, Y20)
	HALF(Z1, Y1, Y20)
	HALF(Z2, Y2, Y20)
	HALF(Z3, Y3, Y20)
	HSUM4(Y0, Y1, Y2, Y3, X0, X12)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	ADDQ $16, DX
	LEAQ (R11)(R13*1), SI
	SUBQ $4, R12
	JMP hs16Group

hs16Done:
	VZEROUPPER
	RET
