// matvec_v1: out = W · x, or out += W · x when accumulate is nonzero: the
// first, plain version of the matrix–vector product, kept beside matvec_v2
// (which the model uses) to read first and to measure against
// (cuda-check bench-matvec). docs/cuda.md compares the two.
//
//   out[row] = [out[row] +] Σ_j W[row][j] · x[j]      for row in [0, rows)
//
// One warp per row (or wpr warps sharing it), lane l reading float4s
// l, l+32, l+64, … of the row, four loads in flight; x is read from global
// memory (through the cache) beside every weight; one row group per block,
// so the grid is ceil(rows / rows per block) blocks, however many waves
// that makes. W [rows][cols], x [cols], out [rows]; out and x never overlap.
// Grid: ceil(rows / rows per block), 256 threads, no dynamic shared memory.
#include "common.cuh"

// partial_dot: Σ_j w[j] · x[j] over the j this lane owns. The lane owns
// every stride-th element (in float4s when cols % 4 == 0) starting at first,
// so the lanes of one or more warps together read w in coalesced 512-byte
// runs. The float4 loop keeps four independent loads in flight per lane;
// odd sizes (cols % 4 != 0, rows not 16-byte aligned) take the scalar loop.
// w is read once per token (read-only path, __ldg); x is small and reused.
__device__ __forceinline__ float partial_dot(const float* __restrict__ w, const float* __restrict__ x,
                                             int cols, int first, int stride) {
    float sum = 0.0f;
    if ((cols & 3) == 0) {
        const float4* w4 = reinterpret_cast<const float4*>(w);
        const float4* x4 = reinterpret_cast<const float4*>(x);
        const int n4 = cols / 4;
        int j = first;
        for (; j + 3 * stride < n4; j += 4 * stride) {
            float4 a0 = __ldg(w4 + j), a1 = __ldg(w4 + j + stride);
            float4 a2 = __ldg(w4 + j + 2 * stride), a3 = __ldg(w4 + j + 3 * stride);
            sum += dot4(a0, x4[j]) + dot4(a1, x4[j + stride]) + dot4(a2, x4[j + 2 * stride]) +
                   dot4(a3, x4[j + 3 * stride]);
        }
        for (; j < n4; j += stride) sum += dot4(__ldg(w4 + j), x4[j]);
    } else {
        for (int j = first; j < cols; j += stride) sum += __ldg(w + j) * x[j];
    }
    return sum;
}

// row_dot: for the row of W that this warp works on, out = W[row] · x,
// with wpr warps sharing each row (split along the columns) and
// blockDim.x/32/wpr rows per block: block b has rows [b·rpb, (b+1)·rpb).
// Every thread of the block must call it once (it synchronises the block).
// It returns true, with the row and its dot product, to exactly one thread
// per row: lane 0 of the row's first warp.
__device__ bool row_dot(const float* __restrict__ W, const float* __restrict__ x, int rows, int cols,
                        int wpr, int* row_out, float* dot_out) {
    __shared__ float part[WARP];  // one partial sum per warp
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    const int rpb = blockDim.x / WARP / wpr;
    const int row = blockIdx.x * rpb + warp / wpr;  // this warp's row
    const int piece = warp % wpr;                   // which of the row's wpr warps this is
    float s = 0.0f;
    if (row < rows)
        s = partial_dot(W + (size_t)row * cols, x, cols, piece * WARP + lane, wpr * WARP);
    s = warp_sum(s);
    if (lane == 0) part[warp] = s;
    __syncthreads();
    if (row >= rows || piece != 0 || lane != 0) return false;
    float dot = 0.0f;
    for (int q = 0; q < wpr; q++) dot += part[warp + q];
    *row_out = row;
    *dot_out = dot;
    return true;
}

// Replaces learning's matVec, in cuda-check bench-matvec only: the model's
// products are matvec_v2's.
extern "C" __global__ void matvec_v1(float* __restrict__ out, const float* __restrict__ W,
                                     const float* __restrict__ x, int rows, int cols, int wpr, int accumulate) {
    int row;
    float dot;
    if (!row_dot(W, x, rows, cols, wpr, &row, &dot)) return;
    out[row] = accumulate ? out[row] + dot : dot;
}
