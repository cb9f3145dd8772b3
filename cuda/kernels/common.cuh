// common.cuh: the small device helpers that every kernel shares.
//
// Conventions of every kernel in this folder:
//   - matrices are row-major float32, [rows][cols], each tensor starting on a
//     256-byte boundary (the host allocates them so), so a row is 16-byte
//     aligned whenever cols % 4 == 0 and may then be read as float4;
//   - blocks are a whole number of 32-lane warps (the host launches 256
//     threads), and a kernel's blocks never wait for one another: anything
//     that needs a whole vector finished is the next kernel's job (one
//     exception: head's last block, which finds the argmax over the other
//     blocks' results after they have all counted themselves done).
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

// step_control: what changes from one token to the next, in device memory
// so that the step's launches (and the CUDA graph captured from them) never
// change. The host writes it (16 bytes) before a step when it must; the
// head's argmax and the sampler write the next token into it, so greedy and
// sampled decoding feed their own choice back without the host.
struct step_control {
    int token;          // the token this step embeds; the chosen next token afterwards
    float coin;         // the sampler's uniform draw in [0, 1) for this step
    float temperature;  // sampling temperature (> 0 when sample runs)
    float top_p;        // nucleus mass; ≥ 1 or ≤ 0: no nucleus
};
