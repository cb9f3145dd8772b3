// matvec_v2: out = W · x, or out += W · x when accumulate is nonzero: the
// streaming product of matvec.cuh (x in shared memory, eight float4 loads
// in flight per lane, a grid of resident blocks walking row groups).
//
//   out[row] = [out[row] +] Σ_j W[row][j] · x[j]      for row in [0, rows)
//
// Used for x_proj (xDBC = x_proj · u) and for out_proj, which adds the
// mixer's output straight into the residual stream (h += out_proj · y): one
// thread owns each row, so the add needs no atomics.
// W [rows][cols], x [cols], out [rows]; out and x never overlap.
// Grid: the blocks that fit on the GPU at once (or fewer: one per row
// group), 256 threads, cols floats of dynamic shared memory.
#include "matvec.cuh"

// Replaces learning's matVec (x_proj), and matVec then addResidual (out_proj,
// accumulate = 1).
extern "C" __global__ void matvec_v2(float* __restrict__ out, const float* __restrict__ W,
                                     const float* __restrict__ x, int rows, int cols, int wpr, int accumulate) {
    extern __shared__ float4 shared4[];
    float* xs = reinterpret_cast<float*>(shared4);  // [cols]
    matvec_stream(W, x, nullptr, 0.0f, rows, cols, wpr, xs,
                  [&](int row, float dot) { out[row] = accumulate ? out[row] + dot : dot; });
}
