// argmax: out[0] = the first j in [0, n) where x[j] is largest: greedy
// decoding over the unpadded vocabulary, so that only 4 bytes go back to
// the host.
//
// One block. Each thread scans a strided slice keeping its best (value,
// index); pairs are then merged, first within each warp by xor shuffles,
// then across warps through shared memory. A pair wins if its value is
// larger, or equal with a smaller index: the first maximum, as
// sample.Argmax. NaNs never win; if nothing beats −∞ the answer is 0, as
// sample.Argmax gives for a row of −∞. And as sample.Argmax, whose running
// best never leaves a NaN at index 0 (nothing compares greater), a NaN
// x[0] gives 0.
// Grid: 1 block of up to 1024 threads.
#include "common.cuh"

// better: does (v, i) beat (bv, bi)?
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

__device__ __forceinline__ void warp_best(float* v, int* i) {
    for (int off = WARP / 2; off > 0; off >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, *v, off);
        const int oi = __shfl_xor_sync(0xffffffffu, *i, off);
        if (better(ov, oi, *v, *i)) {
            *v = ov;
            *i = oi;
        }
    }
}

extern "C" __global__ void argmax(int* __restrict__ out, const float* __restrict__ x, int n) {
    __shared__ float park_v[WARP];
    __shared__ int park_i[WARP];
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    const int nwarps = (blockDim.x + WARP - 1) / WARP;

    float best = -INFINITY;
    int idx = n;  // n means "nothing yet"
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const float v = x[j];
        if (v > best) {  // strictly: the first of equals stays
            best = v;
            idx = j;
        }
    }
    warp_best(&best, &idx);
    if (lane == 0) {
        park_v[warp] = best;
        park_i[warp] = idx;
    }
    __syncthreads();
    if (warp != 0) return;
    best = lane < nwarps ? park_v[lane] : -INFINITY;
    idx = lane < nwarps ? park_i[lane] : n;
    warp_best(&best, &idx);
    if (lane == 0) out[0] = idx < n && !isnan(x[0]) ? idx : 0;
}
