package kernels

import (
	"fmt"
	"os"
	"strings"
)

// Kernel selection. The products of every weight format, the scan,
// softplus and the head scan exist as Go (the portable path, what the
// pure-Go build `-tags purego` and the race detector's build run) and as
// assembly for AVX2+FMA and AVX-512 (kernels_amd64.go). The fastest set
// the CPU supports is chosen once, when the package starts; the
// environment variable MAMBA_FUSED_KERNELS=go|avx2|avx512 asks for another
// (to compare them, or to test one).

// kernelSet is one implementation of the kernels that have several.
type kernelSet struct {
	name string
	// matVec: out[i] (+)= Σ_j W[i·ld + j]·x[j], i < len(out), j < len(x).
	matVec func(out, w []float32, ld int, x []float32, add bool)
	// matMat: out[t·ldo + i] (+)= Σ_j W[i·ldw + j]·x[t·ldx + j] for rows i,
	// tokens t and cols j: one matVec per token, the weights read once.
	matMat func(out []float32, ldo int, w []float32, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool)
	// matVecBF16: matVec with bfloat16 weights (their bits), widened to
	// float32 as they are loaded (bf16.go).
	matVecBF16 func(out []float32, w []uint16, ld int, x []float32, add bool)
	// matMatBF16: matMat with bfloat16 weights.
	matMatBF16 func(out []float32, ldo int, w []uint16, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool)
	// scan: scanSkipGateGeneric's formula for channels [lo, hi).
	scan func(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int)
	// softplus: x[i] = softplus(x[i] + b[i]).
	softplus func(x, b []float32)
	// headScan: headScanGeneric's formula for one Mamba-2 head.
	headScan func(y, state, x, B, C []float32, dA, dt float32)
	// matVecPacked: matVec with packed float32 weights, whole rows of
	// len(x), escapes as 0 (packed.go).
	matVecPacked func(out []float32, w []byte, top *[16]byte, x []float32, add bool)
	// unpack: packed weights to float32, escapes as 0.
	unpack func(dst []float32, w []byte, top *[16]byte)
}

var genericKernels = kernelSet{
	name:     "go",
	matVec:   matVecGeneric,
	matMat:   matMatGeneric,
	scan:     scanSkipGateGeneric,
	softplus: biasSoftplusGeneric,
	headScan: headScanGeneric,
	// bfloat16 weights
	matVecBF16: matVecBF16Generic,
	matMatBF16: matMatBF16Generic,
	// packed float32 weights
	matVecPacked: matVecPackedGeneric,
	unpack:       unpackGeneric,
}

// kern is the kernel set in use; Err says why MAMBA_FUSED_KERNELS could
// not be honoured (fused's New returns it).
var kern, Err = chooseKernels(os.Getenv("MAMBA_FUSED_KERNELS"))

// chooseKernels returns the set called want, or the fastest available
// when want is "". The race detector's build always runs the Go kernels:
// it cannot see the memory accesses of assembly.
func chooseKernels(want string) (kernelSet, error) {
	sets := availableKernels()
	if want == "" {
		return sets[0], nil
	}
	var names []string
	for _, s := range sets {
		if s.name == want {
			return s, nil
		}
		names = append(names, s.name)
	}
	return sets[len(sets)-1], fmt.Errorf("MAMBA_FUSED_KERNELS=%s: not available in this build on this CPU (available: %s)", want, strings.Join(names, ", "))
}

// availableKernels: the sets this build and CPU can run, fastest first.
func availableKernels() []kernelSet {
	if raceEnabled {
		return []kernelSet{genericKernels}
	}
	return append(asmKernels(), genericKernels)
}

// Name names the kernel set in use: "avx512", "avx2" or "go".
func Name() string { return kern.name }

// Sets names the kernel sets this build and CPU can run, fastest first.
func Sets() []string {
	var names []string
	for _, s := range availableKernels() {
		names = append(names, s.name)
	}
	return names
}

// Use puts the set called name in use, for tests and benchmarks that
// compare the sets, and returns what puts the set before it back. Not for
// use while a model runs.
func Use(name string) (restore func(), err error) {
	saved := kern
	k, err := chooseKernels(name)
	if err != nil {
		return func() {}, err
	}
	kern = k
	return func() { kern = saved }, nil
}
