//go:build amd64 && !purego

package kernels

// What this CPU and its operating system support, read once with CPUID
// and XGETBV: the AVX2+FMA kernels need the YMM registers' state saved by
// the OS, the AVX-512 ones the ZMM and mask registers' too.

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

var cpuAVX2FMA, cpuAVX512, cpuAVX512VBMI = detectCPU()

// detectCPU: avx512 is AVX-512 F and DQ, vbmi that and BW and VBMI (byte
// shuffles across the whole register: the packed weights' AVX-512 kernel).
func detectCPU() (avx2fma, avx512, vbmi bool) {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false, false, false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	fma, osxsave, avx := ecx1&(1<<12) != 0, ecx1&(1<<27) != 0, ecx1&(1<<28) != 0
	if !osxsave || !avx {
		return false, false, false
	}
	xcr0, _ := xgetbv()
	ymmOS := xcr0&0x6 == 0x6   // SSE and AVX state
	zmmOS := xcr0&0xe6 == 0xe6 // and opmask, ZMM_Hi256, Hi16_ZMM state
	_, ebx7, ecx7, _ := cpuid(7, 0)
	avx2 := ebx7&(1<<5) != 0
	avx512f, avx512dq := ebx7&(1<<16) != 0, ebx7&(1<<17) != 0
	avx2fma = ymmOS && avx2 && fma
	avx512 = avx2fma && zmmOS && avx512f && avx512dq
	vbmi = avx512 && ebx7&(1<<30) != 0 && ecx7&(1<<1) != 0
	return avx2fma, avx512, vbmi
}
