// in_proj_conv: the first half of a Mamba block for one token, in one launch:
// RMSNorm, in_proj, and the causal depthwise conv with its SiLU.
//
//   normed   = h ⊙ norm_w / sqrt(mean(h²) + eps)                    [d]
//   x, z     = in_proj · normed: rows [0, di) are x, rows [di, 2di) are z
//   window_c = conv[c][1:] ++ [x[c]]        (channel c's conv state moves one step on)
//   u[c]     = SiLU(Σ_j window_c[j] · conv_w[c][j] + conv_b[c])
//
// The product is matvec.cuh's, with RMSNorm folded in (h ⊙ norm_w staged,
// 1/rms applied to each row's dot product). The conv needs only row c of
// in_proj, so the thread that finishes row c (c < di) does channel c's conv
// right there: no other thread touches that channel's state, so it is
// shifted in place.
//
// in_proj [2di][d], conv [di][k] (the layer's state), conv_w [di][k],
// conv_b [di], norm_w [d], h [d]; out: u [di], z [di].
// Layer 0 passes the embedding: it reads h straight from row ctl->token of
// it, and its block 0 also copies that row into h, the residual stream. The
// other layers pass a null embedding and read h.
// Grid: the blocks that fit on the GPU at once (or one per row group), 256
// threads, d floats of dynamic shared memory.
#include "matvec.cuh"

// Replaces learning's rmsNorm, matVec (in_proj), shiftAndAppend, depthwiseConv
// and silu; in layer 0 also embedding.
extern "C" __global__ void in_proj_conv(float* __restrict__ u, float* __restrict__ z, float* __restrict__ conv,
                                        const float* __restrict__ in_proj, const float* __restrict__ conv_w,
                                        const float* __restrict__ conv_b, const float* __restrict__ norm_w,
                                        float* __restrict__ h, const float* __restrict__ embedding,
                                        const step_control* __restrict__ ctl, int d, int di, int k, int wpr,
                                        float eps) {
    extern __shared__ float4 shared4[];
    float* xs = reinterpret_cast<float*>(shared4);  // [d]
    const float* src = h;
    if (embedding != nullptr) {
        src = embedding + (size_t)ctl->token * d;
        if (blockIdx.x == 0)
            for (int j = threadIdx.x; j < d; j += blockDim.x) h[j] = src[j];
    }
    matvec_stream(in_proj, src, norm_w, eps, 2 * di, d, wpr, xs, [&](int row, float x) {
        if (row >= di) {
            z[row - di] = x;
            return;
        }
        float* window = conv + (size_t)row * k;
        const float* w = conv_w + (size_t)row * k;
        float sum = conv_b[row];
        for (int j = 0; j < k - 1; j++) {
            window[j] = window[j + 1];
            sum += window[j] * w[j];
        }
        window[k - 1] = x;
        sum += x * w[k - 1];
        u[row] = silu(sum);
    });
}
