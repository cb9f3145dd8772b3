// dt_scan_gate: dt_proj with softplus, the selective scan, the D skip and the
// SiLU gate, for one token: one warp per channel c.
//
//   Δ       = softplus(dt_w[c] · Δ_low + dt_b[c])                   Δ_low = xDBC[0:r]
//   h[c][s] = exp(Δ · A[c][s]) · h[c][s] + Δ · B[s] · u[c]           B = xDBC[r:r+n]
//   y[c]    = (Σ_s C[s] · h[c][s] + D[c] · u[c]) · SiLU(z[c])         C = xDBC[r+n:r+2n]
//
// The lanes split the r-long dot product of Δ and the n states of h, and
// warp sums put the pieces together. Channels are independent: no two
// warps touch the same h[c].
// ssm [di][n] (the layer's state), u, z [di], xDBC [r+2n], dt_w [di][r],
// dt_b, D [di], A [di][n]; out: y [di].
// Grid: ceil(di / 8), 256 threads (8 warps, 8 channels per block).
#include "common.cuh"

// Replaces learning's matVec (dt_proj), addBias, softplus, selectiveScan, skipD
// and gate.
extern "C" __global__ void dt_scan_gate(float* __restrict__ y, float* __restrict__ ssm, const float* __restrict__ u,
                                        const float* __restrict__ z, const float* __restrict__ xDBC,
                                        const float* __restrict__ dt_w, const float* __restrict__ dt_b,
                                        const float* __restrict__ A, const float* __restrict__ D, int di, int r,
                                        int n) {
    const int lane = threadIdx.x % WARP;
    const int c = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (c >= di) return;  // c is the same for all 32 lanes: whole warps leave

    float dot = 0.0f;
    for (int j = lane; j < r; j += WARP) dot += dt_w[(size_t)c * r + j] * xDBC[j];
    const float dt = softplus(warp_sum(dot) + dt_b[c]);

    const float uc = u[c];
    const float* B = xDBC + r;
    const float* C = xDBC + r + n;
    float* hc = ssm + (size_t)c * n;
    const float* a = A + (size_t)c * n;
    float yc = 0.0f;
    for (int s = lane; s < n; s += WARP) {
        const float hs = expf(dt * a[s]) * hc[s] + dt * B[s] * uc;
        hc[s] = hs;
        yc += C[s] * hs;
    }
    yc = warp_sum(yc);
    if (lane == 0) y[c] = (yc + D[c] * uc) * silu(z[c]);
}
