// Package fused is the fast CPU implementation of Mamba's recurrent step:
// the same math as package learning, rearranged so that a token costs
// little more than reading the weights once. docs/fused.md sets each fused
// function beside the learning functions it stands for.
//
// A recurrent step does about two flops per weight and reads every weight
// once, so it is bound by memory bandwidth: the work is to stream the
// weights at full speed on every core, to read as few bytes per weight as
// the format allows, and to keep everything else (the scan, the barriers)
// small.
//
// What lives where (the math first):
//
//   - mamba.go: type Mamba (model.Mamba), New, Forward, and worker, the
//     program every worker runs for one token: four phases per layer,
//     separated by barriers.
//   - kernels.go: the phase functions (inProjConv, xProj, dtScanGate,
//     outProj, head) and the small loops they are made of, each naming
//     the learning functions it replaces.
//   - falcon.go: Falcon-Mamba's RMS norm of Δ, B and C.
//   - mamba2.go, kernels2.go: Mamba-2's step and its phase functions.
//   - prefill.go, prefill2.go: ForwardPrompt (model.PromptForwarder), the
//     prompt in chunks of tokens, the projections as matrix × matrix
//     products.
//   - claim.go: how a phase's rows or channels are shared between workers;
//     pool.go: the persistent worker pool and its spin-then-block barrier
//     (osyield_*.go: giving the core away while spinning).
//   - hugepages.go, memory.go, tensors.go: the weights copied into 2 MB
//     pages (over common/memory), the memory check before any copy, and
//     the weights' tensors as bytes.
//
// Behind one door, internal/kernels: the weights of the products in every
// format (float32, packed float32, bfloat16) and the products, the scan
// and the fast exp, SiLU and softplus, as Go loops and as AVX2 and AVX-512
// assembly, the set chosen for the CPU when the program starts
// (MAMBA_FUSED_KERNELS=go|avx2|avx512 asks for one). This package calls
// kernels.MatVec, MatMat, Row, Scan, Softplus and HeadScan and never asks
// which format or instruction set is behind them.
//
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// V = padded vocabulary, P = number of workers.
package fused
