// Package cuda is the GPU implementation of Mamba's recurrent step: the
// same math as package learning, one token at a time, with the weights and
// the recurrent state living on an NVIDIA GPU, each layer done in four
// kernels (five for Falcon-Mamba), and a token's whole step replayed as one
// CUDA graph.
//
// The kernels are CUDA C in kernels/*.cu, one small file each with its
// formula on top; `make ptx` compiles them to PTX with nvcc, and the PTX is
// committed and embedded, so building this package needs a Go compiler and
// cuda.h, not nvcc. At start-up the driver compiles the PTX for the GPU it
// finds (JIT). The host code drives them through the CUDA driver API
// (gorgonia.org/cu): one context, weights copied to the device once, the
// state kept there, and per token only the logits, or with ForwardArgmax
// and ForwardSample only the chosen token id, copied back.
//
// One step, for token t (d = d_model, di = d_inner, r = dt_rank, n = d_state,
// k = d_conv, V = padded vocabulary):
//
//	in_proj_conv   u, z = conv+SiLU(in_proj · RMSNorm(h))      [d] → [di], [di]   (layer 0 reads h = embedding[t])
//	matvec_v2      Δ_low, B, C = x_proj · u                    [di] → [r+2n]
//	bcdt_norm      (Falcon-Mamba only) Δ_low, B, C each / sqrt(mean(·²) + ε), in place   [r+2n]
//	dt_scan_gate   y = (scan(softplus(dt_proj·Δ_low+b), B, C, u) + D·u) · SiLU(z)   [di]
//	matvec_v2      h += out_proj · y                           [di] → [d]
//	...for each layer, then (not for a prompt token before the last)
//	head           logits = lm_head · RMSNorm(h)               [d] → [V], and for greedy decoding the argmax
//	sample         (sampled decoding only) the next token, drawn on the GPU
//
// The token t is read from device memory (step_control), where the head's
// argmax and the sampler also write the next one, so the launches are the
// same for every token and are captured once as a CUDA graph.
//
// docs/cuda.md walks through each kernel beside the CPU code.
//
// Everything that touches the GPU is behind the `cuda` build tag: without
// it this package holds only the pure-Go parts (the embedded PTX and the
// kernel table, launch geometry, device memory layout) and their tests, so
// that CPU-only builds and CI never load the CUDA driver.
package cuda
