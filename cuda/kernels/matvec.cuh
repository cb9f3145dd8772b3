// matvec.cuh: the streaming matrix–vector product that every big kernel of a
// step is built on (matvec_v2, in_proj_conv, head): version 2, built for
// memory bandwidth. A token's step reads every weight once and does two
// flops per 4 bytes read, so the GPU's speed is how fast these loops stream
// the weights; everything here serves that.
//
//   out[row] = scale · Σ_j W[row][j] · xs[j]
//   xs = x, scale = 1                                   (plain)
//   xs = x ⊙ norm_w, scale = 1 / sqrt(mean(x²) + eps)   (RMSNorm(x) folded in)
//
// What it does that matvec_v1 does not (docs/cuda.md measures both):
//   1. x is staged in shared memory once per block, so every global load of
//      the inner loop is a weight (v1 reads x beside every weight float4);
//   2. each lane issues BATCH = 8 float4 loads of its row back to back before
//      it uses any of them (v1: 4), 128 bytes in flight per lane;
//   3. the grid is as many blocks as fit on the GPU at once, and each block
//      walks row groups g, g + gridDim, … (v1: one group per block, so a
//      grid of 1.62 waves leaves most of the GPU idle in its last wave);
//   4. RMSNorm's 1/rms multiplies the dot product at the end, so the first
//      batch of weight loads goes out before x is staged and reduced;
//   5. the tail of a row (fewer than 8 float4s per lane left) is the same
//      unrolled batch with its loads predicated off past the row's end.
#pragma once
#include "common.cuh"

#define BATCH 8  // float4 loads in flight per lane

// stage_x: xs[j] = x[j] · norm_w[j] (or x[j] when norm_w is null), by the
// whole block, into shared memory; returns this thread's part of Σ x².
__device__ __forceinline__ float stage_x(float* xs, const float* __restrict__ x, const float* __restrict__ norm_w,
                                         int cols) {
    float ss = 0.0f;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        const float v = x[j];
        ss += v * v;
        xs[j] = norm_w != nullptr ? v * norm_w[j] : v;
    }
    return ss;
}

// load_batch: a[u] = w4[j + u·stride] for u < BATCH, and 0 past n4: eight
// independent loads issued one after the other (the tail's are predicated).
__device__ __forceinline__ void load_batch(float4 (&a)[BATCH], const float4* __restrict__ w4, int j, int stride,
                                           int n4) {
#pragma unroll
    for (int u = 0; u < BATCH; u++) {
        const int q = j + u * stride;
        a[u] = q < n4 ? __ldg(w4 + q) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
}

// sum_batch: Σ_u a[u] · xs4[j + u·stride] over the u inside the row.
__device__ __forceinline__ float sum_batch(const float4 (&a)[BATCH], const float4* xs4, int j, int stride, int n4) {
    float s = 0.0f;
#pragma unroll
    for (int u = 0; u < BATCH; u++)
        if (j + u * stride < n4) s += dot4(a[u], xs4[j + u * stride]);
    return s;
}

// matvec_stream: for every row of W [rows][cols] in this block's row groups,
// emit(row, scale · W[row] · xs) on exactly one thread (lane 0 of the row's
// first warp). wpr warps share a row (split along the columns: lane l of
// piece p reads float4s p·32 + l, + wpr·32, …), blockDim/32/wpr rows make a
// group, and block b does groups b, b + gridDim, … . xs is the block's
// dynamic shared memory, cols floats. Every thread of the block must call it.
// Rows whose width is not a multiple of 4 (not 16-byte aligned) take a
// scalar loop.
template <class Emit>
__device__ void matvec_stream(const float* __restrict__ W, const float* __restrict__ x,
                              const float* __restrict__ norm_w, float eps, int rows, int cols, int wpr, float* xs,
                              Emit emit) {
    __shared__ float part[WARP];  // a row's partial sums, one per warp, when wpr > 1
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    const int rpb = blockDim.x / WARP / wpr;
    const int groups = (rows + rpb - 1) / rpb;
    const int piece = warp % wpr, stride = wpr * WARP, first = piece * WARP + lane;
    const bool vec = (cols & 3) == 0;
    const int n4 = cols / 4;
    const float4* xs4 = reinterpret_cast<const float4*>(xs);
    const float4* W4 = reinterpret_cast<const float4*>(W);

    // The first batch of this warp's first row goes out now, and streams in
    // while the block stages x and reduces Σ x².
    float4 a[BATCH];
    int row = blockIdx.x * rpb + warp / wpr;
    if (vec && row < rows) load_batch(a, W4 + (size_t)row * n4, first, stride, n4);

    const float ss = stage_x(xs, x, norm_w, cols);
    float scale = 1.0f;
    if (norm_w != nullptr)
        scale = 1.0f / sqrtf(block_sum(ss) / (float)cols + eps);  // block_sum's barriers end the staging too
    else
        __syncthreads();

    for (int g = blockIdx.x; g < groups; g += gridDim.x) {  // the same count for every thread of the block
        row = g * rpb + warp / wpr;
        float s = 0.0f;
        if (row < rows) {
            if (vec) {
                const float4* w4 = W4 + (size_t)row * n4;
                if (g != (int)blockIdx.x) load_batch(a, w4, first, stride, n4);
                s = sum_batch(a, xs4, first, stride, n4);
                for (int j = first + BATCH * stride; j < n4; j += BATCH * stride) {
                    load_batch(a, w4, j, stride, n4);
                    s += sum_batch(a, xs4, j, stride, n4);
                }
            } else {
                const float* w = W + (size_t)row * cols;
                for (int j = first; j < cols; j += stride) s += __ldg(w + j) * xs[j];
            }
        }
        s = warp_sum(s);
        if (wpr > 1) {  // the row's warps meet in shared memory
            if (lane == 0) part[warp] = s;
            __syncthreads();
            if (piece == 0)
                for (int q = 1; q < wpr; q++) s += part[warp + q];
            __syncthreads();  // part is reused by the next group
        }
        if (row < rows && piece == 0 && lane == 0) emit(row, s * scale);
    }
}
