// shim.h: just enough of CUDA C to compile cuda/kernels/*.cu with g++ and run
// them on the CPU, one block at a time, each CUDA thread a ucontext fiber
// (see README.md). Barriers (__syncthreads, and the two halves of every
// __shfl_*_sync) are the only points where a fiber yields, so a block runs
// deterministically; the scheduler (emu.cpp) stops with a message on what
// would be undefined behaviour on a GPU: a shuffle whose mask is not the
// whole warp or that some lane of the warp does not reach (it exited, or
// waits elsewhere), a __syncthreads that not every thread of the block
// reaches, a float4 load that is not 16-byte aligned.
#pragma once
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define __global__
#define __device__
#define __forceinline__ inline
// One block runs at a time, so a function-scope static is the block's
// shared memory (left over from the previous block, as on a GPU).
#define __shared__ static

struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
struct dim3 {
    unsigned x, y, z;
};

namespace emu {
extern dim3 block_idx, block_dim, grid_dim;
dim3 thread_idx();
void syncthreads();
uint64_t shfl(unsigned mask, uint64_t bits, int src_lane_xor, int src_lane_down, const char* what);
void* dyn_shared();
[[noreturn]] void fail(const char* fmt, ...);

inline float4 ldg4(const float4* p) {
    if ((uintptr_t)p % 16 != 0) fail("__ldg of a float4 at %p: not 16-byte aligned", (const void*)p);
    return *p;
}
}  // namespace emu

#define threadIdx (emu::thread_idx())
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

inline void __syncthreads() { emu::syncthreads(); }
// Blocks run one after another, so memory is always coherent and an atomic
// is a plain read-modify-write.
inline void __threadfence() {}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    const unsigned old = *p;
    *p = old + v;
    return old;
}
inline int __float_as_int(float f) {
    int i;
    memcpy(&i, &f, 4);
    return i;
}
inline float __int_as_float(int i) {
    float f;
    memcpy(&f, &i, 4);
    return f;
}
inline int min(int a, int b) { return a < b ? a : b; }
inline float __ldg(const float* p) { return *p; }
inline float4 __ldg(const float4* p) { return emu::ldg4(p); }

template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof v);
    bits = emu::shfl(mask, bits, lane_mask, 0, "__shfl_xor_sync");
    T r;
    memcpy(&r, &bits, sizeof r);
    return r;
}

template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof v);
    bits = emu::shfl(mask, bits, 0, (int)delta, "__shfl_down_sync");
    T r;
    memcpy(&r, &bits, sizeof r);
    return r;
}
