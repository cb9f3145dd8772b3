// smoke: out[i] = 3·i + 1 for i < n: the smallest kernel that shows the
// driver compiled this folder's PTX for the GPU and runs it. cuda-check
// smoke launches it after loading every kernel's PTX (cuda/gpu-check.sh's
// first step on a GPU machine).
// Grid: any.
#include "common.cuh"

// Replaces no learning function: it only shows the PTX loads and runs.
extern "C" __global__ void smoke(int* __restrict__ out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = 3 * i + 1;
}
