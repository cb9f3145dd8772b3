//go:build amd64 && !purego

#include "textflag.h"
#include "matvec_amd64.h"

// AVX2 kernels for packed float32 weights (packed.go has the format): a
// group of 8 weights, 28 bytes, becomes 8 float32 in one 32-byte load and
// seven instructions,
//
//	VPERMD   dwords [0,1,2,6, 3,4,5,6]: weights 0..3's low bytes and the
//	         codes in the lower 128 bits, weights 4..7's and the codes in the
//	         upper (VPSHUFB does not cross them)
//	VPSHUFB  each weight's 3 low bytes into its lane's bytes 0..2, the
//	         byte holding its code into byte 3
//	VPSRLVD  by 0 or 4: the code into byte 3's low nibble
//	VPAND    0x0F000000: the code alone, the lane's bytes 0..2 zero
//	VPSHUFB  the table of top bytes (top[0] = 0, so bytes 0..2 stay 0)
//	VPAND/VPOR  low 3 bytes | top byte<<24
//
// The Go wrappers (packed_amd64.go) check the slices, their
// packedSlack bytes past the last group included, and pass cols a
// multiple of 8.

DATA packedPerm<>+0(SB)/4, $0
DATA packedPerm<>+4(SB)/4, $1
DATA packedPerm<>+8(SB)/4, $2
DATA packedPerm<>+12(SB)/4, $6
DATA packedPerm<>+16(SB)/4, $3
DATA packedPerm<>+20(SB)/4, $4
DATA packedPerm<>+24(SB)/4, $5
DATA packedPerm<>+28(SB)/4, $6
GLOBL packedPerm<>(SB), RODATA|NOPTR, $32

// lower lane: weights 0..3, codes in bytes 12 (weights 0, 1) and 13 (2, 3);
// upper lane: weights 4..7, codes in bytes 14 (4, 5) and 15 (6, 7)
DATA packedSpread<>+0(SB)/8, $0x0c0504030c020100
DATA packedSpread<>+8(SB)/8, $0x0d0b0a090d080706
DATA packedSpread<>+16(SB)/8, $0x0e0504030e020100
DATA packedSpread<>+24(SB)/8, $0x0f0b0a090f080706
GLOBL packedSpread<>(SB), RODATA|NOPTR, $32

DATA packedShift<>+0(SB)/8, $0x0000000400000000
DATA packedShift<>+8(SB)/8, $0x0000000400000000
DATA packedShift<>+16(SB)/8, $0x0000000400000000
DATA packedShift<>+24(SB)/8, $0x0000000400000000
GLOBL packedShift<>(SB), RODATA|NOPTR, $32

DATA packedNibble<>+0(SB)/8, $0x0f0000000f000000
DATA packedNibble<>+8(SB)/8, $0x0f0000000f000000
DATA packedNibble<>+16(SB)/8, $0x0f0000000f000000
DATA packedNibble<>+24(SB)/8, $0x0f0000000f000000
GLOBL packedNibble<>(SB), RODATA|NOPTR, $32

DATA packedLow3<>+0(SB)/8, $0x00ffffff00ffffff
DATA packedLow3<>+8(SB)/8, $0x00ffffff00ffffff
DATA packedLow3<>+16(SB)/8, $0x00ffffff00ffffff
DATA packedLow3<>+24(SB)/8, $0x00ffffff00ffffff
GLOBL packedLow3<>(SB), RODATA|NOPTR, $32

// CONSTANTS(top): Y8..Y13 hold what UNPACK8 needs; top points at the 16
// top bytes, Y12 gets them in both lanes.
#define CONSTANTS(top) \
	VMOVDQU packedPerm<>(SB), Y8; \
	VMOVDQU packedSpread<>(SB), Y9; \
	VMOVDQU packedShift<>(SB), Y10; \
	VMOVDQU packedNibble<>(SB), Y11; \
	VBROADCASTI128 (top), Y12; \
	VMOVDQU packedLow3<>(SB), Y13

// UNPACK8(m, y, t): y = the 8 weights of the group at m; t is clobbered.
#define UNPACK8(m, y, t) \
	VPERMD m, Y8, y; \
	VPSHUFB Y9, y, y; \
	VPSRLVD Y10, y, t; \
	VPAND Y11, t, t; \
	VPSHUFB t, Y12, t; \
	VPAND Y13, y, y; \
	VPOR t, y, y

// func matVecPackedAVX2(out *float32, w *byte, top *[16]byte, x *float32, rows, cols int, add bool)
//
// out[i] (+)= Σ_j W[i][j]·x[j] for packed rows, matVecAVX2's loop: one row
// at a time, four 8-lane accumulators (32 weights, 4 groups a step), then
// 8 at a time into the first, reduced as matVecAVX2 reduces.
TEXT ·matVecPackedAVX2(SB), NOSPLIT, $0-49
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ top+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ rows+32(FP), R9
	MOVQ cols+40(FP), R10
	MOVBQZX add+48(FP), R11
	MOVQ R10, R12
	ANDQ $-32, R12
	CONSTANTS(R8)

pvRow:
	TESTQ R9, R9
	JZ pvDone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

pvBody:
	CMPQ AX, R12
	JGE pvEight
	UNPACK8((SI), Y4, Y5)
	UNPACK8(28(SI), Y6, Y7)
	UNPACK8(56(SI), Y14, Y15)
	VFMADD231PS (DX)(AX*4), Y4, Y0
	VFMADD231PS 32(DX)(AX*4), Y6, Y1
	UNPACK8(84(SI), Y4, Y5)
	VFMADD231PS 64(DX)(AX*4), Y14, Y2
	VFMADD231PS 96(DX)(AX*4), Y4, Y3
	ADDQ $112, SI
	ADDQ $32, AX
	JMP pvBody

pvEight:
	CMPQ AX, R10
	JGE pvReduce
	UNPACK8((SI), Y4, Y5)
	VFMADD231PS (DX)(AX*4), Y4, Y0
	ADDQ $28, SI
	ADDQ $8, AX
	JMP pvEight

pvReduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	TESTQ R11, R11
	JZ pvPut
	VADDSS (DI), X0, X0

pvPut:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ R9
	JMP pvRow

pvDone:
	VZEROUPPER
	RET

// func unpackAVX2(dst *float32, w *byte, top *[16]byte, groups int)
//
// dst = the weights of the groups at w, 8 a group.
TEXT ·unpackAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ top+16(FP), R8
	MOVQ groups+24(FP), CX
	CONSTANTS(R8)

upLoop:
	TESTQ CX, CX
	JZ upDone
	UNPACK8((SI), Y4, Y5)
	VMOVUPS Y4, (DI)
	ADDQ $28, SI
	ADDQ $32, DI
	DECQ CX
	JMP upLoop

upDone:
	VZEROUPPER
	RET
