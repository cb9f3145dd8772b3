// Package cuda is the GPU implementation of Mamba's recurrent step: the
// same math as package learning, one token at a time, with the weights and
// the recurrent state living on an NVIDIA GPU and each layer done in four
// kernel launches.
//
// The kernels are CUDA C in kernels/*.cu, one small file each with its
// formula on top; `make ptx` compiles them to PTX with nvcc, and the PTX is
// committed and embedded, so building this package needs a Go compiler and
// cuda.h, not nvcc. At start-up the driver compiles the PTX for the GPU it
// finds (JIT). The host code drives them through the CUDA driver API
// (gorgonia.org/cu): one context, weights copied to the device once, the
// state kept there, and per token only the logits, or with ForwardArgmax
// only the chosen token id, copied back.
//
// One step, for token t (d = d_model, di = d_inner, r = dt_rank, n = d_state,
// k = d_conv, V = padded vocabulary):
//
//	in_proj_conv   u, z = conv+SiLU(in_proj · RMSNorm(h))      [d] → [di], [di]   (layer 0 reads h = embedding[t])
//	matvec         Δ_low, B, C = x_proj · u                    [di] → [r+2n]
//	dt_scan_gate   y = (scan(softplus(dt_proj·Δ_low+b), B, C, u) + D·u) · SiLU(z)   [di]
//	matvec         h += out_proj · y                           [di] → [d]
//	...for each layer, then
//	rmsnorm_matvec logits = lm_head · RMSNorm(h)               [d] → [V]
//	argmax         (greedy decoding only) the id of the largest logit
//
// docs/cuda.md walks through each kernel beside the CPU code.
//
// Everything that touches the GPU is behind the `cuda` build tag: without
// it this package holds only the pure-Go parts (the embedded PTX and the
// kernel table, launch geometry, device memory layout) and their tests, so
// that CPU-only builds and CI never load the CUDA driver.
package cuda
