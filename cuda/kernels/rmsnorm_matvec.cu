// rmsnorm_matvec: the output head, logits = W · RMSNorm(h).
//
//   normed   = h ⊙ norm_w / sqrt(mean(h²) + eps)      [d]
//   out[row] = W[row] · normed                            for row in [0, rows)
//
// W [rows][d] (lm_head, rows = the padded vocabulary), norm_w [d], h [d];
// out [rows]. Every block normalises h for itself (a block reduction).
// Grid: ceil(rows / rows per block), 256 threads, d floats of shared memory.
#include "common.cuh"

extern "C" __global__ void rmsnorm_matvec(float* __restrict__ out, const float* __restrict__ W,
                                          const float* __restrict__ norm_w, const float* __restrict__ h,
                                          int rows, int d, int wpr, float eps) {
    extern __shared__ float4 shared4[];
    float* normed = reinterpret_cast<float*>(shared4);  // [d]
    rmsnorm_to_shared(normed, h, norm_w, d, eps);
    int row;
    float dot;
    if (row_dot(W, normed, rows, d, wpr, &row, &dot)) out[row] = dot;
}
