// matvec: out = W · x, or out += W · x when accumulate is nonzero.
//
//   out[row] = [out[row] +] Σ_j W[row][j] · x[j]      for row in [0, rows)
//
// Used for x_proj (xdbc = x_proj · u) and for out_proj, which adds the
// mixer's output straight into the residual stream (h += out_proj · y): one
// thread owns each row, so the add needs no atomics. x is read through the
// cache (it is small and every warp reads it); W streams from memory once.
// W [rows][cols], x [cols], out [rows]; out and x never overlap.
// Grid: ceil(rows / rows per block), 256 threads, no shared memory beyond
// row_dot's partial sums.
#include "common.cuh"

extern "C" __global__ void matvec(float* __restrict__ out, const float* __restrict__ W,
                                  const float* __restrict__ x, int rows, int cols, int wpr, int accumulate) {
    int row;
    float dot;
    if (!row_dot(W, x, rows, cols, wpr, &row, &dot)) return;
    out[row] = accumulate ? out[row] + dot : dot;
}
