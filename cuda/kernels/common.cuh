// common.cuh: the small device helpers that every kernel shares.
//
// Conventions of every kernel in this folder:
//   - matrices are row-major float32, [rows][cols], each tensor starting on a
//     256-byte boundary (the host allocates them so), so a row is 16-byte
//     aligned whenever cols % 4 == 0 and may then be read as float4;
//   - blocks are a whole number of 32-lane warps (the host launches 256
//     threads), and a kernel's blocks never wait for one another: anything
//     that needs a whole vector finished is the next kernel's job.
#pragma once

#define WARP 32

// silu(x) = x · σ(x) = x / (1 + e^−x)
__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

// softplus(x) = log(1 + eˣ), and x itself above 20 as PyTorch does.
__device__ __forceinline__ float softplus(float x) { return x <= 20.0f ? log1pf(expf(x)) : x; }

// warp_sum: Σ v over the 32 lanes of the warp, returned to every lane
// (butterfly of xor shuffles: after step s each lane holds a sum of 2^s lanes).
__device__ __forceinline__ float warp_sum(float v) {
    for (int off = WARP / 2; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// block_sum: Σ v over every thread of the block, returned to every thread.
// Each warp sums itself, lane 0 parks the warp's sum in shared memory, warp 0
// sums the parked sums. Every thread of the block must call it.
__device__ float block_sum(float v) {
    __shared__ float parked[WARP];
    __shared__ float total;
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    const int nwarps = (blockDim.x + WARP - 1) / WARP;
    v = warp_sum(v);
    if (lane == 0) parked[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float s = lane < nwarps ? parked[lane] : 0.0f;
        s = warp_sum(s);
        if (lane == 0) total = s;
    }
    __syncthreads();
    return total;
}

__device__ __forceinline__ float dot4(float4 a, float4 b) {
    return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
}

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

// rmsnorm_to_shared: xs[j] = h[j] · s · w[j], s = 1 / sqrt(mean(h²) + eps),
// the RMSNorm of the residual stream h [d], written to shared memory for
// the matrix–vector product that follows. Each block computes it for itself
// (h is small and sits in L2); the sum of squares is a block reduction.
// Every thread of the block must call it.
__device__ void rmsnorm_to_shared(float* xs, const float* __restrict__ h, const float* __restrict__ w, int d,
                                  float eps) {
    float ss = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) ss += h[j] * h[j];
    ss = block_sum(ss);
    const float s = 1.0f / sqrtf(ss / (float)d + eps);
    for (int j = threadIdx.x; j < d; j += blockDim.x) xs[j] = h[j] * s * w[j];
    __syncthreads();
}
