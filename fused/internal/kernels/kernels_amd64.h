// Constants of the assembly kernels, each repeated over 8 lanes so that
// they serve as memory operands (the AVX-512 kernels read their first lane
// with embedded broadcast). Included by each kernel file: <> symbols are
// local to a file.

// 1
DATA one8<>+0(SB)/4, $0x3f800000
DATA one8<>+4(SB)/4, $0x3f800000
DATA one8<>+8(SB)/4, $0x3f800000
DATA one8<>+12(SB)/4, $0x3f800000
DATA one8<>+16(SB)/4, $0x3f800000
DATA one8<>+20(SB)/4, $0x3f800000
DATA one8<>+24(SB)/4, $0x3f800000
DATA one8<>+28(SB)/4, $0x3f800000
GLOBL one8<>(SB), RODATA|NOPTR, $32
// 2
DATA two8<>+0(SB)/4, $0x40000000
DATA two8<>+4(SB)/4, $0x40000000
DATA two8<>+8(SB)/4, $0x40000000
DATA two8<>+12(SB)/4, $0x40000000
DATA two8<>+16(SB)/4, $0x40000000
DATA two8<>+20(SB)/4, $0x40000000
DATA two8<>+24(SB)/4, $0x40000000
DATA two8<>+28(SB)/4, $0x40000000
GLOBL two8<>(SB), RODATA|NOPTR, $32
// -87.33654: below it eˣ is 0 here
DATA expMin8<>+0(SB)/4, $0xc2aeac4f
DATA expMin8<>+4(SB)/4, $0xc2aeac4f
DATA expMin8<>+8(SB)/4, $0xc2aeac4f
DATA expMin8<>+12(SB)/4, $0xc2aeac4f
DATA expMin8<>+16(SB)/4, $0xc2aeac4f
DATA expMin8<>+20(SB)/4, $0xc2aeac4f
DATA expMin8<>+24(SB)/4, $0xc2aeac4f
DATA expMin8<>+28(SB)/4, $0xc2aeac4f
GLOBL expMin8<>(SB), RODATA|NOPTR, $32
// 88: keeps k ≤ 127
DATA expMax8<>+0(SB)/4, $0x42b00000
DATA expMax8<>+4(SB)/4, $0x42b00000
DATA expMax8<>+8(SB)/4, $0x42b00000
DATA expMax8<>+12(SB)/4, $0x42b00000
DATA expMax8<>+16(SB)/4, $0x42b00000
DATA expMax8<>+20(SB)/4, $0x42b00000
DATA expMax8<>+24(SB)/4, $0x42b00000
DATA expMax8<>+28(SB)/4, $0x42b00000
GLOBL expMax8<>(SB), RODATA|NOPTR, $32
// log2 e
DATA log2e8<>+0(SB)/4, $0x3fb8aa3b
DATA log2e8<>+4(SB)/4, $0x3fb8aa3b
DATA log2e8<>+8(SB)/4, $0x3fb8aa3b
DATA log2e8<>+12(SB)/4, $0x3fb8aa3b
DATA log2e8<>+16(SB)/4, $0x3fb8aa3b
DATA log2e8<>+20(SB)/4, $0x3fb8aa3b
DATA log2e8<>+24(SB)/4, $0x3fb8aa3b
DATA log2e8<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e8<>(SB), RODATA|NOPTR, $32
// 0.693359375
DATA ln2Hi8<>+0(SB)/4, $0x3f318000
DATA ln2Hi8<>+4(SB)/4, $0x3f318000
DATA ln2Hi8<>+8(SB)/4, $0x3f318000
DATA ln2Hi8<>+12(SB)/4, $0x3f318000
DATA ln2Hi8<>+16(SB)/4, $0x3f318000
DATA ln2Hi8<>+20(SB)/4, $0x3f318000
DATA ln2Hi8<>+24(SB)/4, $0x3f318000
DATA ln2Hi8<>+28(SB)/4, $0x3f318000
GLOBL ln2Hi8<>(SB), RODATA|NOPTR, $32
// -2.12194440e-4
DATA ln2Lo8<>+0(SB)/4, $0xb95e8083
DATA ln2Lo8<>+4(SB)/4, $0xb95e8083
DATA ln2Lo8<>+8(SB)/4, $0xb95e8083
DATA ln2Lo8<>+12(SB)/4, $0xb95e8083
DATA ln2Lo8<>+16(SB)/4, $0xb95e8083
DATA ln2Lo8<>+20(SB)/4, $0xb95e8083
DATA ln2Lo8<>+24(SB)/4, $0xb95e8083
DATA ln2Lo8<>+28(SB)/4, $0xb95e8083
GLOBL ln2Lo8<>(SB), RODATA|NOPTR, $32
// 1.9875691500e-4
DATA exp0<>+0(SB)/4, $0x39506967
DATA exp0<>+4(SB)/4, $0x39506967
DATA exp0<>+8(SB)/4, $0x39506967
DATA exp0<>+12(SB)/4, $0x39506967
DATA exp0<>+16(SB)/4, $0x39506967
DATA exp0<>+20(SB)/4, $0x39506967
DATA exp0<>+24(SB)/4, $0x39506967
DATA exp0<>+28(SB)/4, $0x39506967
GLOBL exp0<>(SB), RODATA|NOPTR, $32
// 1.3981999507e-3
DATA exp1<>+0(SB)/4, $0x3ab743ce
DATA exp1<>+4(SB)/4, $0x3ab743ce
DATA exp1<>+8(SB)/4, $0x3ab743ce
DATA exp1<>+12(SB)/4, $0x3ab743ce
DATA exp1<>+16(SB)/4, $0x3ab743ce
DATA exp1<>+20(SB)/4, $0x3ab743ce
DATA exp1<>+24(SB)/4, $0x3ab743ce
DATA exp1<>+28(SB)/4, $0x3ab743ce
GLOBL exp1<>(SB), RODATA|NOPTR, $32
// 8.3334519073e-3
DATA exp2<>+0(SB)/4, $0x3c088908
DATA exp2<>+4(SB)/4, $0x3c088908
DATA exp2<>+8(SB)/4, $0x3c088908
DATA exp2<>+12(SB)/4, $0x3c088908
DATA exp2<>+16(SB)/4, $0x3c088908
DATA exp2<>+20(SB)/4, $0x3c088908
DATA exp2<>+24(SB)/4, $0x3c088908
DATA exp2<>+28(SB)/4, $0x3c088908
GLOBL exp2<>(SB), RODATA|NOPTR, $32
// 4.1665795894e-2
DATA exp3<>+0(SB)/4, $0x3d2aa9c1
DATA exp3<>+4(SB)/4, $0x3d2aa9c1
DATA exp3<>+8(SB)/4, $0x3d2aa9c1
DATA exp3<>+12(SB)/4, $0x3d2aa9c1
DATA exp3<>+16(SB)/4, $0x3d2aa9c1
DATA exp3<>+20(SB)/4, $0x3d2aa9c1
DATA exp3<>+24(SB)/4, $0x3d2aa9c1
DATA exp3<>+28(SB)/4, $0x3d2aa9c1
GLOBL exp3<>(SB), RODATA|NOPTR, $32
// 1.6666665459e-1
DATA exp4<>+0(SB)/4, $0x3e2aaaaa
DATA exp4<>+4(SB)/4, $0x3e2aaaaa
DATA exp4<>+8(SB)/4, $0x3e2aaaaa
DATA exp4<>+12(SB)/4, $0x3e2aaaaa
DATA exp4<>+16(SB)/4, $0x3e2aaaaa
DATA exp4<>+20(SB)/4, $0x3e2aaaaa
DATA exp4<>+24(SB)/4, $0x3e2aaaaa
DATA exp4<>+28(SB)/4, $0x3e2aaaaa
GLOBL exp4<>(SB), RODATA|NOPTR, $32
// 5.0000001201e-1
DATA exp5<>+0(SB)/4, $0x3f000000
DATA exp5<>+4(SB)/4, $0x3f000000
DATA exp5<>+8(SB)/4, $0x3f000000
DATA exp5<>+12(SB)/4, $0x3f000000
DATA exp5<>+16(SB)/4, $0x3f000000
DATA exp5<>+20(SB)/4, $0x3f000000
DATA exp5<>+24(SB)/4, $0x3f000000
DATA exp5<>+28(SB)/4, $0x3f000000
GLOBL exp5<>(SB), RODATA|NOPTR, $32
// float32 exponent bias
DATA bias127<>+0(SB)/4, $0x0000007f
DATA bias127<>+4(SB)/4, $0x0000007f
DATA bias127<>+8(SB)/4, $0x0000007f
DATA bias127<>+12(SB)/4, $0x0000007f
DATA bias127<>+16(SB)/4, $0x0000007f
DATA bias127<>+20(SB)/4, $0x0000007f
DATA bias127<>+24(SB)/4, $0x0000007f
DATA bias127<>+28(SB)/4, $0x0000007f
GLOBL bias127<>(SB), RODATA|NOPTR, $32
DATA signMask8<>+0(SB)/4, $0x80000000
DATA signMask8<>+4(SB)/4, $0x80000000
DATA signMask8<>+8(SB)/4, $0x80000000
DATA signMask8<>+12(SB)/4, $0x80000000
DATA signMask8<>+16(SB)/4, $0x80000000
DATA signMask8<>+20(SB)/4, $0x80000000
DATA signMask8<>+24(SB)/4, $0x80000000
DATA signMask8<>+28(SB)/4, $0x80000000
GLOBL signMask8<>(SB), RODATA|NOPTR, $32
// 1/13
DATA inv13<>+0(SB)/4, $0x3d9d89d9
DATA inv13<>+4(SB)/4, $0x3d9d89d9
DATA inv13<>+8(SB)/4, $0x3d9d89d9
DATA inv13<>+12(SB)/4, $0x3d9d89d9
DATA inv13<>+16(SB)/4, $0x3d9d89d9
DATA inv13<>+20(SB)/4, $0x3d9d89d9
DATA inv13<>+24(SB)/4, $0x3d9d89d9
DATA inv13<>+28(SB)/4, $0x3d9d89d9
GLOBL inv13<>(SB), RODATA|NOPTR, $32
// 1/11
DATA inv11<>+0(SB)/4, $0x3dba2e8c
DATA inv11<>+4(SB)/4, $0x3dba2e8c
DATA inv11<>+8(SB)/4, $0x3dba2e8c
DATA inv11<>+12(SB)/4, $0x3dba2e8c
DATA inv11<>+16(SB)/4, $0x3dba2e8c
DATA inv11<>+20(SB)/4, $0x3dba2e8c
DATA inv11<>+24(SB)/4, $0x3dba2e8c
DATA inv11<>+28(SB)/4, $0x3dba2e8c
GLOBL inv11<>(SB), RODATA|NOPTR, $32
// 1/9
DATA inv9<>+0(SB)/4, $0x3de38e39
DATA inv9<>+4(SB)/4, $0x3de38e39
DATA inv9<>+8(SB)/4, $0x3de38e39
DATA inv9<>+12(SB)/4, $0x3de38e39
DATA inv9<>+16(SB)/4, $0x3de38e39
DATA inv9<>+20(SB)/4, $0x3de38e39
DATA inv9<>+24(SB)/4, $0x3de38e39
DATA inv9<>+28(SB)/4, $0x3de38e39
GLOBL inv9<>(SB), RODATA|NOPTR, $32
// 1/7
DATA inv7<>+0(SB)/4, $0x3e124925
DATA inv7<>+4(SB)/4, $0x3e124925
DATA inv7<>+8(SB)/4, $0x3e124925
DATA inv7<>+12(SB)/4, $0x3e124925
DATA inv7<>+16(SB)/4, $0x3e124925
DATA inv7<>+20(SB)/4, $0x3e124925
DATA inv7<>+24(SB)/4, $0x3e124925
DATA inv7<>+28(SB)/4, $0x3e124925
GLOBL inv7<>(SB), RODATA|NOPTR, $32
// 1/5
DATA inv5<>+0(SB)/4, $0x3e4ccccd
DATA inv5<>+4(SB)/4, $0x3e4ccccd
DATA inv5<>+8(SB)/4, $0x3e4ccccd
DATA inv5<>+12(SB)/4, $0x3e4ccccd
DATA inv5<>+16(SB)/4, $0x3e4ccccd
DATA inv5<>+20(SB)/4, $0x3e4ccccd
DATA inv5<>+24(SB)/4, $0x3e4ccccd
DATA inv5<>+28(SB)/4, $0x3e4ccccd
GLOBL inv5<>(SB), RODATA|NOPTR, $32
// 1/3
DATA inv3<>+0(SB)/4, $0x3eaaaaab
DATA inv3<>+4(SB)/4, $0x3eaaaaab
DATA inv3<>+8(SB)/4, $0x3eaaaaab
DATA inv3<>+12(SB)/4, $0x3eaaaaab
DATA inv3<>+16(SB)/4, $0x3eaaaaab
DATA inv3<>+20(SB)/4, $0x3eaaaaab
DATA inv3<>+24(SB)/4, $0x3eaaaaab
DATA inv3<>+28(SB)/4, $0x3eaaaaab
GLOBL inv3<>(SB), RODATA|NOPTR, $32

