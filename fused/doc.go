// Package fused is the fast CPU implementation of Mamba's recurrent step:
// the same math as package learning, rearranged so that a token costs as
// little more than reading the weights once as this machine allows.
// docs/fused.md sets each fused function beside the learning functions it
// stands for, with measurements.
//
// A recurrent step does about two flops per weight and reads every weight
// once, so it is bound by memory bandwidth: the work is to stream the
// weights straight from the memory-mapped model.bin at full speed on every
// core, and to keep everything else (the scan, the barriers) small.
//
// What lives where:
//
//   - mamba.go: type Mamba (model.Mamba), New, Forward, and worker, the
//     program every worker runs for one token: four phases per layer,
//     separated by barriers.
//   - kernels.go: the fused kernels, each working on one worker's share of
//     channels or rows, each naming the learning functions it replaces.
//   - fastmath.go: float32 exp, SiLU and softplus (learning goes through
//     float64 math.Exp, which would cost more than the weights' stream).
//   - pool.go: the persistent worker pool and its spin-then-block barrier.
//   - kernels_default.go (default build): the matrix–vector products on
//     gonum's float32 BLAS (SSE assembly on amd64, Go elsewhere), and the
//     scalar scan.
//   - kernels_simd.go (GOEXPERIMENT=simd on amd64): the products and the
//     scan in AVX-512 vectors with Go's simd/archsimd, falling back to the
//     default kernels on CPUs without AVX-512.
//
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// V = padded vocabulary, P = number of workers.
package fused
