// argmax.cuh: the greedy choice, the first j where x[j] is largest, as
// sample.Argmax picks it, reduced over the threads of a block; and the
// refusal of a non-finite x[j], as sample.Sampler refuses it.
//
// A pair (value, index) beats another if its value is larger, or equal
// with a smaller index: the first maximum. An index of n means "nothing
// yet". The callers compare choice_key(x[j]), not x[j]: a NaN or ±∞ counts
// as +∞, larger than every finite value, so the pair that wins is the first
// non-finite x[j] if there is one, and choice writes it as the token
// −1 − j: the host reports it (sample.NonFiniteError) instead of a token.
// sample.Argmax itself would map a NaN at index 0 to 0, the stop token,
// and a NaN elsewhere to whatever precedes it: a silent wrong answer.
#pragma once
#include "common.cuh"

// better: does (v, i) beat (bv, bi)?
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

// choice_key: what the argmax compares for x: x itself if finite, +∞ for a
// NaN or ±∞, so that a non-finite value wins and ties by the first index.
__device__ __forceinline__ float choice_key(float x) { return isfinite(x) ? x : INFINITY; }

// choice: the token that a reduction of choice_key pairs (bv, bi) chooses:
// bi, or −1 − bi when x[bi] is not finite (bv is +∞ only then).
__device__ __forceinline__ int choice(float bv, int bi) { return bv == INFINITY ? -1 - bi : bi; }

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
