// argmax.cuh: the greedy choice, the first j where x[j] is largest, as
// sample.Argmax picks it, reduced over the threads of a block.
//
// A pair (value, index) beats another if its value is larger, or equal
// with a smaller index: the first maximum. NaNs never win (nothing compares
// greater than or equal to them), and an index of n means "nothing yet".
// sample.Argmax starts from index 0 and only moves on a strictly larger
// value, so a row of −∞ gives 0, and so does a NaN at index 0 (nothing
// compares greater than it): the callers map "nothing" and NaN x[0] to 0.
#pragma once
#include "common.cuh"

// better: does (v, i) beat (bv, bi)?
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

// warp_best: the best pair of the warp, to every lane (xor shuffles).
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

// block_best: the best pair of the block, to every thread: each warp finds
// its best, parks it in shared memory, warp 0 merges the parked pairs.
// Every thread of the block must call it.
__device__ void block_best(float* v, int* i) {
    __shared__ float park_v[WARP];
    __shared__ int park_i[WARP];
    __shared__ float best_v;
    __shared__ int best_i;
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    const int nwarps = (blockDim.x + WARP - 1) / WARP;
    warp_best(v, i);
    if (lane == 0) {
        park_v[warp] = *v;
        park_i[warp] = *i;
    }
    __syncthreads();
    if (warp == 0) {
        float bv = lane < nwarps ? park_v[lane] : -INFINITY;
        int bi = lane < nwarps ? park_i[lane] : 0x7fffffff;
        warp_best(&bv, &bi);
        if (lane == 0) {
            best_v = bv;
            best_i = bi;
        }
    }
    __syncthreads();
    *v = best_v;
    *i = best_i;
}
