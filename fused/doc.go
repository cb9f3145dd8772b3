// Package fused is the fast CPU implementation of Mamba's recurrent step:
// the same math as package learning, rearranged so that a token costs as
// little more than reading the weights once as this machine allows.
// docs/fused.md sets each fused function beside the learning functions it
// stands for, with measurements.
//
// A recurrent step does about two flops per weight and reads every weight
// once, so it is bound by memory bandwidth: the work is to stream the
// weights at full speed on every core, to read as few bytes as the exact
// weights allow (packed.go), and to keep everything else (the scan, the
// barriers) small.
//
// What lives where:
//
//   - mamba.go: type Mamba (model.Mamba), New, Forward, and worker, the
//     program every worker runs for one token: four phases per layer,
//     separated by barriers.
//   - prefill.go: ForwardPrompt (model.PromptForwarder), the prompt in
//     chunks of tokens, the projections as matrix × matrix products;
//     prefill2.go: the same for Mamba-2.
//   - kernels.go: the fused kernels, each working on one worker's share of
//     channels or rows, each naming the learning functions it replaces.
//   - fastmath.go: float32 exp, SiLU and softplus (learning goes through
//     float64 math.Exp, which would cost more than the weights' stream).
//   - claim.go: how a phase's rows or channels are shared between workers.
//   - pool.go: the persistent worker pool and its spin-then-block barrier.
//   - kernels_select.go: the kernel sets (Go, AVX2+FMA, AVX-512) and the
//     choice of one at start-up; kernels_default.go: the products and the
//     scan of the default build, through the chosen set.
//   - kernels_amd64.go, kernels_avx2_amd64.s, kernels_avx512_amd64.s,
//     cpu_amd64.s: the assembly kernels and the CPU feature check;
//     kernels_amd64.h their constants, matvec_amd64.h the end of a row
//     that every matVec kernel shares.
//   - packed.go: float32 weights packed into 3.5 bytes each, without loss
//     (a 4-bit code for each weight's top byte), and their generic kernels;
//     packweights.go: packing a model's products when New sets it up;
//     kernels_packed_amd64.go and kernels_packed_*_amd64.s: their assembly.
//   - matrix.go: a product's weights, float32, packed or bfloat16, and the
//     products that take any of them.
//   - hugepages.go: the weights copied into 2 MB pages (unpacked), over
//     common/memory (mapping, 2 MB pages, dropping file pages);
//     tensors.go: the weights' tensors as bytes, for both copies.
//   - kernels_simd.go (GOEXPERIMENT=simd on amd64): an earlier experiment,
//     the products and the scan in AVX-512 vectors with Go's simd/archsimd.
//
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// V = padded vocabulary, P = number of workers.
package fused
