// Package kernels is fused's door to its weight formats and CPU-specific
// code: everything a product, a scan or a softplus depends on besides the
// math.
//
// The door, what fused calls:
//
//   - Matrix: a product's weights in one of the formats (matrix.go), and
//     Of / PackWeights, which make them from a model's weights;
//   - MatVec, MatMat, Row: the product, the batched prompt's product, an
//     embedding row, for any format;
//   - Scan, Softplus, HeadScan: the selective-scan step with its skip and
//     gate, the step sizes' softplus, Mamba-2's head scan;
//   - Exp32, SiLU32, Softplus32: the fast float32 functions (fastmath.go),
//     which the Go kernels here use too;
//   - Name, Sets, Use, Err: which kernel set runs.
//
// Behind it, by format:
//
//   - float32.go: float32 weights, the Go products;
//   - packed.go: float32 packed into 3.5 bytes a weight without loss, and
//     its Go products; packweights.go: packing a model's products;
//   - bf16.go: bfloat16 weights, widened to float32 as they are read;
//   - scan.go: the scans and softplus in Go.
//
// And by instruction set: select.go holds the kernel sets and the choice
// of one at start-up; kernels_amd64.go, packed_amd64.go, bf16_amd64.go and
// headscan_amd64.go are the Go wrappers that check the slices the assembly
// (*_amd64.s) is handed; cpu_amd64.go reads the CPU's features;
// noasm.go, race_*.go: builds without the assembly (other CPUs, -tags
// purego, the race detector) run the Go set. Go assembly has no generics or macros across
// files beyond #include, so the AVX2 and AVX-512 files repeat each loop's
// shape for their register widths; kernels_amd64.h and matvec_amd64.h hold
// what they share.
//
// Adding a weight format (a quantized one, say) means a Matrix field,
// its cases in MatVec, MatMat and Row, and its kernels in each set; fused
// itself does not change.
package kernels
