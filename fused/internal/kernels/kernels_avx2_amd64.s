//go:build amd64 && !purego

#include "textflag.h"
#include "matvec_amd64.h"

// AVX2+FMA kernels, 8 float32 lanes (kernels_amd64.go has their Go
// declarations and says what each computes). Pointers and counts come from
// the Go wrappers, which check the slices' lengths; nothing here allocates,
// calls, or touches memory outside the ranges they give.

#include "kernels_amd64.h"

// EXP8(x, k, p, m, t): x = eˣ on 8 lanes, exp32's method (fastmath.go):
// x = k·ln2 + r, eˣ = 2ᵏ·p(r); lanes below expMin give 0. k, p, m, t are
// clobbered.
#define EXP8(x, k, p, m, t) \
	VCMPPS $0x0d, expMin8<>(SB), x, m; \
	VMAXPS expMin8<>(SB), x, x; \
	VMINPS expMax8<>(SB), x, x; \
	VMULPS log2e8<>(SB), x, k; \
	VROUNDPS $0, k, k; \
	VFNMADD231PS ln2Hi8<>(SB), k, x; \
	VFNMADD231PS ln2Lo8<>(SB), k, x; \
	VMOVUPS exp0<>(SB), p; \
	VFMADD213PS exp1<>(SB), x, p; \
	VFMADD213PS exp2<>(SB), x, p; \
	VFMADD213PS exp3<>(SB), x, p; \
	VFMADD213PS exp4<>(SB), x, p; \
	VFMADD213PS exp5<>(SB), x, p; \
	VMULPS x, x, t; \
	VFMADD213PS x, t, p; \
	VADDPS one8<>(SB), p, p; \
	VCVTPS2DQ k, k; \
	VPADDD bias127<>(SB), k, k; \
	VPSLLD $23, k, k; \
	VMULPS k, p, p; \
	VANDPS m, p, x

// func matVecAVX2(out, w *float32, ld int, x *float32, rows, cols int, add bool)
//
// out[i] (+)= Σ_j w[i·ld + j]·x[j], one row at a time, read front to back
// with four 8-lane accumulators (32 floats a step), then 8 at a time, then
// the last cols mod 8 one by one.
TEXT ·matVecAVX2(SB), NOSPLIT, $0-49
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ x+24(FP), DX
	MOVQ rows+32(FP), R9
	MOVQ cols+40(FP), R10
	MOVBQZX add+48(FP), R11
	MOVQ R10, R12
	ANDQ $-32, R12
	MOVQ R10, R13
	ANDQ $-8, R13

mvRow:
	TESTQ R9, R9
	JZ mvDone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

mvBody:
	CMPQ AX, R12
	JGE mvEight
	VMOVUPS (DX)(AX*4), Y4
	VMOVUPS 32(DX)(AX*4), Y5
	VMOVUPS 64(DX)(AX*4), Y6
	VMOVUPS 96(DX)(AX*4), Y7
	VFMADD231PS (SI)(AX*4), Y4, Y0
	VFMADD231PS 32(SI)(AX*4), Y5, Y1
	VFMADD231PS 64(SI)(AX*4), Y6, Y2
	VFMADD231PS 96(SI)(AX*4), Y7, Y3
	ADDQ $32, AX
	JMP mvBody

mvEight:
	CMPQ AX, R13
	JGE mvReduce
	VMOVUPS (DX)(AX*4), Y4
	VFMADD231PS (SI)(AX*4), Y4, Y0
	ADDQ $8, AX
	JMP mvEight

mvReduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8

mvTail:
	CMPQ AX, R10
	JGE mvStore
	VMOVSS (DX)(AX*4), X4
	VFMADD231SS (SI)(AX*4), X4, X0
	INCQ AX
	JMP mvTail

mvStore:
	TESTQ R11, R11
	JZ mvPut
	VADDSS (DI), X0, X0

mvPut:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, SI
	DECQ R9
	JMP mvRow

mvDone:
	VZEROUPPER
	RET

// REDUCE4(a, b, c, d): a = [Σa, Σb, Σc, Σd] in its low 128 bits, each sum
// as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)). b is clobbered. Every product
// kernel reduces a (row, token) sum this way, so that it does not depend on
// which kernel computed it.
#define REDUCE4(a, b, c, d, ax) \
	VHADDPS b, a, a; \
	VHADDPS d, c, c; \
	VHADDPS c, a, a; \
	VEXTRACTF128 $1, a, X15; \
	VADDPS X15, ax, ax

// func matMat4x3AVX2(out *float32, ldo int, w *float32, ldw int, x *float32, ldx int, cols int, add bool)
//
// out[t·ldo + r] (+)= Σ_j w[r·ldw + j]·x[t·ldx + j] for 4 rows r and 3
// tokens t, cols a multiple of 8: 12 accumulators, each weight vector
// loaded once for the three tokens.
TEXT ·matMat4x3AVX2(SB), NOSPLIT, $0-57
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

mm43Loop:
	CMPQ AX, CX
	JGE mm43Reduce
	VMOVUPS (DX)(AX*4), Y12
	VMOVUPS (R12)(AX*4), Y13
	VMOVUPS (R13)(AX*4), Y14
	VMOVUPS (SI)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS (R9)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y1
	VFMADD231PS Y15, Y13, Y5
	VFMADD231PS Y15, Y14, Y9
	VMOVUPS (R10)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y2
	VFMADD231PS Y15, Y13, Y6
	VFMADD231PS Y15, Y14, Y10
	VMOVUPS (R11)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y11
	ADDQ $8, AX
	JMP mm43Loop

mm43Reduce:
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
	JZ mm43Put
	VADDPS (DI), X0, X0
	VADDPS (R9), X4, X4
	VADDPS (R10), X8, X8

mm43Put:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (R9)
	VMOVUPS X8, (R10)
	VZEROUPPER
	RET

// func matMat4x1AVX2(out *float32, w *float32, ldw int, x *float32, cols int, add bool)
//
// matMat4x3AVX2 for one token: out[r] (+)= Σ_j w[r·ldw + j]·x[j], r < 4,
// the same sums in the same order.
TEXT ·matMat4x1AVX2(SB), NOSPLIT, $0-41
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	SHLQ $2, R8
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

mm41Loop:
	CMPQ AX, CX
	JGE mm41Reduce
	VMOVUPS (DX)(AX*4), Y12
	VFMADD231PS (SI)(AX*4), Y12, Y0
	VFMADD231PS (R9)(AX*4), Y12, Y1
	VFMADD231PS (R10)(AX*4), Y12, Y2
	VFMADD231PS (R11)(AX*4), Y12, Y3
	ADDQ $8, AX
	JMP mm41Loop

mm41Reduce:
	REDUCE4(Y0, Y1, Y2, Y3, X0)
	MOVQ out+0(FP), DI
	MOVBQZX add+40(FP), R11
	TESTQ R11, R11
	JZ mm41Put
	VADDPS (DI), X0, X0

mm41Put:
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func scan16AVX2(y, ssm, u, dt, A, B, C, D, z *float32, channels int)
//
// scanSkipGateGeneric (scan.go) for channels a multiple of 8, each with
// n = 16 states (two vectors), eight channels a group:
//
//	h[c][s] = exp(Δ·A[c][s])·h[c][s] + (Δ·u)·B[s]
//	y[c]    = (Σ_s C[s]·h[c][s] + D[c]·u[c]) · SiLU(z[c])
//
// Δ·u is computed for the eight channels as one vector and broadcast, the
// eight C·h vectors are summed by one transpose of horizontal adds, and the
// skip and gate run on the group as vectors.
// Frame: 0(SP) the eight C·h vectors, 256(SP) the eight Δ·u.
TEXT ·scan16AVX2(SB), NOSPLIT, $288-80
	MOVQ y+0(FP), DI
	MOVQ ssm+8(FP), R8
	MOVQ u+16(FP), R9
	MOVQ dt+24(FP), R10
	MOVQ A+32(FP), R11
	MOVQ B+40(FP), R12
	MOVQ C+48(FP), R13
	MOVQ D+56(FP), R14
	MOVQ channels+72(FP), BX
	VMOVUPS (R12), Y12
	VMOVUPS 32(R12), Y13
	VMOVUPS (R13), Y14
	VMOVUPS 32(R13), Y15
	MOVQ z+64(FP), R12

scanGroup:
	CMPQ BX, $8
	JLT scanDone
	VMOVUPS (R10), Y0
	VMULPS (R9), Y0, Y0
	VMOVUPS Y0, 256(SP)           // Δ·u of the eight channels
	XORQ CX, CX

scanChannel:
	VBROADCASTSS (R10)(CX*4), Y0  // Δ
	VBROADCASTSS 256(SP)(CX*4), Y1 // Δ·u
	VMULPS (R11), Y0, Y2          // Δ·A, states 0–7
	EXP8(Y2, Y3, Y4, Y5, Y7)
	VMULPS (R8), Y2, Y2           // exp(Δ·A)·h
	VFMADD231PS Y12, Y1, Y2       // + Δu·B
	VMOVUPS Y2, (R8)
	VMULPS Y14, Y2, Y6            // C·h
	VMULPS 32(R11), Y0, Y2        // states 8–15
	EXP8(Y2, Y3, Y4, Y5, Y7)
	VMULPS 32(R8), Y2, Y2
	VFMADD231PS Y13, Y1, Y2
	VMOVUPS Y2, 32(R8)
	VFMADD231PS Y15, Y2, Y6
	MOVQ CX, AX
	SHLQ $5, AX
	VMOVUPS Y6, (SP)(AX*1)
	ADDQ $64, R11
	ADDQ $64, R8
	INCQ CX
	CMPQ CX, $8
	JLT scanChannel

	// y = the eight channels' Σ C·h, by a transpose of horizontal adds.
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
	EXP8(Y2, Y3, Y4, Y5, Y7)      // e^−z
	VADDPS one8<>(SB), Y2, Y2
	VDIVPS Y2, Y6, Y6             // SiLU(z) = z / (1 + e^−z)
	VMULPS Y6, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R14
	ADDQ $32, R12
	SUBQ $8, BX
	JMP scanGroup

scanDone:
	VZEROUPPER
	RET

// func softplusAVX2(x, b *float32, n int)
//
// x[i] = softplus(x[i] + b[i]) for n a multiple of 8, biasSoftplusGeneric's
// formula: max(v, 0) + log1p(e^−|v|), log1p(t) = 2·atanh(s), s = t/(2+t).
TEXT ·softplusAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y8, Y8, Y8

spLoop:
	CMPQ CX, $8
	JLT spDone
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0           // v
	VXORPS signMask8<>(SB), Y0, Y1
	VMINPS Y1, Y0, Y1             // −|v|
	EXP8(Y1, Y2, Y3, Y4, Y5)      // t = e^−|v|
	VADDPS two8<>(SB), Y1, Y2
	VDIVPS Y2, Y1, Y1             // s = t / (2 + t)
	VMULPS Y1, Y1, Y2             // s²
	VMOVUPS inv13<>(SB), Y3
	VFMADD213PS inv11<>(SB), Y2, Y3
	VFMADD213PS inv9<>(SB), Y2, Y3
	VFMADD213PS inv7<>(SB), Y2, Y3
	VFMADD213PS inv5<>(SB), Y2, Y3
	VFMADD213PS inv3<>(SB), Y2, Y3
	VMULPS Y3, Y2, Y3             // s²·p
	VADDPS Y1, Y1, Y1             // 2s
	VFMADD231PS Y3, Y1, Y1        // 2s·(1 + s²·p)
	VMAXPS Y8, Y0, Y0
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP spLoop

spDone:
	VZEROUPPER
	RET
