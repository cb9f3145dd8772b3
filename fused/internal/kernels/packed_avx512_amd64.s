//go:build amd64 && !purego

#include "textflag.h"
#include "matvec_amd64.h"

// The AVX-512 product for packed float32 weights (packed.go has the
// format): two groups, 16 weights in 56 bytes, become 16 float32 in one
// 64-byte load and five instructions,
//
//	VPERMB      each weight's 3 low bytes into its lane's bytes 0..2, the
//	            byte holding its code into byte 3 (AVX512_VBMI: across the
//	            whole register)
//	VPSRLVD     by 0 or 4: the code into byte 3's low nibble
//	VPANDD      0x0F000000: the code alone
//	VPSHUFB     the table of top bytes (top[0] = 0: bytes 0..2 stay 0)
//	VPTERNLOGD  low 3 bytes | top byte<<24
//
// against seven for 8 weights in the AVX2 kernel. The loads read 8 bytes
// past the last group: the Go wrapper (packed_amd64.go) checks them
// and passes cols a multiple of 32.

DATA packedSpread16<>+0(SB)/8, $0x1805040318020100
DATA packedSpread16<>+8(SB)/8, $0x190b0a0919080706
DATA packedSpread16<>+16(SB)/8, $0x1a11100f1a0e0d0c
DATA packedSpread16<>+24(SB)/8, $0x1b1716151b141312
DATA packedSpread16<>+32(SB)/8, $0x3421201f341e1d1c
DATA packedSpread16<>+40(SB)/8, $0x3527262535242322
DATA packedSpread16<>+48(SB)/8, $0x362d2c2b362a2928
DATA packedSpread16<>+56(SB)/8, $0x3733323137302f2e
GLOBL packedSpread16<>(SB), RODATA|NOPTR, $64

DATA packedShift16<>+0(SB)/8, $0x0000000400000000
DATA packedShift16<>+8(SB)/8, $0x0000000400000000
DATA packedShift16<>+16(SB)/8, $0x0000000400000000
DATA packedShift16<>+24(SB)/8, $0x0000000400000000
DATA packedShift16<>+32(SB)/8, $0x0000000400000000
DATA packedShift16<>+40(SB)/8, $0x0000000400000000
DATA packedShift16<>+48(SB)/8, $0x0000000400000000
DATA packedShift16<>+56(SB)/8, $0x0000000400000000
GLOBL packedShift16<>(SB), RODATA|NOPTR, $64

DATA packedNibble16<>+0(SB)/4, $0x0f000000
GLOBL packedNibble16<>(SB), RODATA|NOPTR, $4

DATA packedLow316<>+0(SB)/4, $0x00ffffff
GLOBL packedLow316<>(SB), RODATA|NOPTR, $4

// UNPACK16(m, z, t): z = the 16 weights of the two groups at m; t is
// clobbered.
#define UNPACK16(m, z, t) \
	VPERMB m, Z8, z; \
	VPSRLVD Z10, z, t; \
	VPANDD Z11, t, t; \
	VPSHUFB t, Z12, t; \
	VPTERNLOGD $0xea, t, Z13, z

// func matVecPackedAVX512(out *float32, w *byte, top *[16]byte, x *float32, rows, cols int, add bool)
//
// out[i] (+)= Σ_j W[i][j]·x[j] for packed rows, cols a multiple of 32: the
// sums of matVecAVX2 (and matVecPackedAVX2) bit for bit. Z0 holds their
// first two 8-lane accumulators side by side, Z1 the other two, and the
// reduction adds the halves in their order.
TEXT ·matVecPackedAVX512(SB), NOSPLIT, $0-49
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ top+16(FP), R8
	MOVQ x+24(FP), DX
	MOVQ rows+32(FP), R9
	MOVQ cols+40(FP), R10
	MOVBQZX add+48(FP), R11
	VMOVDQU64 packedSpread16<>(SB), Z8
	VMOVDQU64 packedShift16<>(SB), Z10
	VPBROADCASTD packedNibble16<>(SB), Z11
	VBROADCASTI32X4 (R8), Z12
	VPBROADCASTD packedLow316<>(SB), Z13

pzRow:
	TESTQ R9, R9
	JZ pzDone
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ AX, AX

pzBody:
	CMPQ AX, R10
	JGE pzReduce
	UNPACK16((SI), Z4, Z5)
	UNPACK16(56(SI), Z6, Z7)
	VFMADD231PS (DX)(AX*4), Z4, Z0
	VFMADD231PS 64(DX)(AX*4), Z6, Z1
	ADDQ $112, SI
	ADDQ $32, AX
	JMP pzBody

pzReduce:
	VEXTRACTF64X4 $1, Z0, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y3
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	HSUM8
	TESTQ R11, R11
	JZ pzPut
	VADDSS (DI), X0, X0

pzPut:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ R9
	JMP pzRow

pzDone:
	VZEROUPPER
	RET
