// head: the output head, logits = lm_head · RMSNorm(h), and, when best is
// not null, greedy decoding's choice: the first largest logit over the
// unpadded vocabulary, written as the next step's token, or −1 − j if
// logit j is the first that is NaN or ±∞ (argmax.cuh: the host reports it).
//
//   normed   = h ⊙ norm_f / sqrt(mean(h²) + eps)      [d]
//   out[row] = W[row] · normed                          for row in [0, rows)
//   best     = argmax_{j < vocab} out[j]               (argmax.cuh: the first maximum)
//            = −1 − min{j < vocab : out[j] not finite}  if there is such a j
//
// The product is matvec.cuh's with RMSNorm folded in. For the argmax each
// thread that emits a row keeps the best (logit, row) it has seen, each
// block reduces its own (block_best) into part_v/part_i[blockIdx], and the
// last block to finish — the one that draws ticket gridDim−1 from *done
// after a __threadfence, when every other block's pair is visible — merges
// them, writes *best, and sets *done back to 0 for the next launch. So
// greedy decoding needs no separate argmax launch, and only the 4 bytes of
// *best go back to the host, or nothing at all when the next step reads it
// where it is (best is step_control's token).
// W [rows][d] (lm_head, rows = the padded vocabulary), norm_f [d], h [d];
// out [rows]; part_v, part_i [gridDim]; done [1], 0 before every launch.
// Grid: the blocks that fit on the GPU at once, 256 threads, d floats of
// dynamic shared memory.
#include "argmax.cuh"
#include "matvec.cuh"

// Replaces learning's rmsNorm (norm_f) and matVec (lm_head), the ops of its
// head; the argmax replaces sample.Argmax, which the CPU implementations run
// on the logits.
extern "C" __global__ void head(float* __restrict__ out, int* __restrict__ best, float* __restrict__ part_v,
                                int* __restrict__ part_i, unsigned* __restrict__ done, const float* __restrict__ W,
                                const float* __restrict__ norm_f, const float* __restrict__ h, int rows, int vocab,
                                int d, int wpr, float eps) {
    extern __shared__ float4 shared4[];
    float* xs = reinterpret_cast<float*>(shared4);  // [d]
    float bv = -INFINITY;
    int bi = vocab;  // nothing yet
    matvec_stream(W, h, norm_f, eps, rows, d, wpr, xs, [&](int row, float dot) {
        out[row] = dot;
        const float key = choice_key(dot);
        if (row < vocab && better(key, row, bv, bi)) {
            bv = key;
            bi = row;
        }
    });
    if (best == nullptr) return;  // the same for the whole grid

    block_best(&bv, &bi);
    __shared__ bool last;
    if (threadIdx.x == 0) {
        part_v[blockIdx.x] = bv;
        part_i[blockIdx.x] = bi;
        __threadfence();  // this block's logits and pair are visible before it counts itself done
        last = atomicAdd(done, 1u) == gridDim.x - 1;
    }
    __syncthreads();
    if (!last) return;

    // The last block: every other block's pair is in part_v/part_i.
    __threadfence();
    bv = -INFINITY;
    bi = vocab;
    for (int b = threadIdx.x; b < (int)gridDim.x; b += blockDim.x) {
        const float v = ((volatile float*)part_v)[b];
        const int i = ((volatile int*)part_i)[b];
        if (better(v, i, bv, bi)) {
            bv = v;
            bi = i;
        }
    }
    block_best(&bv, &bi);
    if (threadIdx.x == 0) {
        *best = choice(bv, bi);  // bi < vocab: every key beats the −∞ of "nothing yet"
        *done = 0;
    }
}
