// bcdt_norm: Falcon-Mamba's one addition to the step (docs/mamba-step.md,
// "Falcon-Mamba"): Δ_low, B and C, each divided by its own root mean square,
// with no weight, in place in xDBC, between x_proj and dt_scan_gate.
//
//   Δ_low = xDBC[0:r]      Δ_low = Δ_low / sqrt(mean(Δ_low²) + eps)
//   B     = xDBC[r:r+n]    B     = B / sqrt(mean(B²) + eps)
//   C     = xDBC[r+n:]     C     = C / sqrt(mean(C²) + eps)
//
// A kernel of its own rather than a prologue of dt_scan_gate: every warp
// there would need all three norms, so each of its di warps would reduce
// all r+2n values again; here one block does it once, and the tracer sees
// the normalised xDBC (op bcdt_norm), as in learning. The vectors are short
// (r+2n = 288 in falcon-mamba-7b): one block, each thread scaling what it
// summed. xDBC [r+2n], in and out.
// Grid: 1 block, 256 threads.
#include "common.cuh"

// rms_normalise: x /= sqrt(mean(x²) + eps), by the whole block.
__device__ void rms_normalise(float* __restrict__ x, int len, float eps) {
    float ss = 0.0f;
    for (int i = threadIdx.x; i < len; i += blockDim.x) ss += x[i] * x[i];
    const float scale = 1.0f / sqrtf(block_sum(ss) / (float)len + eps);
    for (int i = threadIdx.x; i < len; i += blockDim.x) x[i] *= scale;
}

// Replaces learning's bcdtNorm.
extern "C" __global__ void bcdt_norm(float* __restrict__ xDBC, int r, int n, float eps) {
    rms_normalise(xDBC, r, eps);          // Δ_low
    rms_normalise(xDBC + r, n, eps);      // B
    rms_normalise(xDBC + r + n, n, eps);  // C
}
