// sample: draws the next token from the logits at temperature T > 0, as
// sample.Sampler.Sample does on the CPU, and writes it as the next step's
// token, so sampled decoding copies 4 bytes back instead of the logits.
//
//   q_j  = exp((l_j − max)/T) / Σ_i exp((l_i − max)/T)      j < vocab (probs [vocab])
//   top_p in (0, 1): the nucleus is the smallest set of most likely tokens,
//        in descending q (ties by index), whose mass exceeds top_p, counting
//        only tokens with q ≥ (1 − top_p)/(vocab − 1); then with r = coin ·
//        mass, the token is the first of the nucleus, in that order, where
//        the running sum exceeds r;
//   otherwise: the first j, in index order, where Σ_{i ≤ j} q_i > coin.
//
// The coin is the host sampler's own draw (its xorshift64*, the same seed
// giving the same coins), passed in ctl. The probabilities are computed as
// the host computes them (exp in double, the sum in double, rounded to
// float), so they agree to the last bit but for the order of the sum. The
// CPU sorts the nucleus; here there is no sort: the value where a running
// sum in descending order crosses a mass is found by bisection on the
// float's bits (q ≥ 0, so their bit patterns order like their values), each
// step one block-wide sum of the q at or above the candidate, and tied
// values are taken in index order as a stable sort takes them. Running sums
// are in double here, where the CPU adds floats one by one; over 50 000
// tokens the CPU's float sum drifts by up to ~1e-3 of the mass, so a coin
// that close to a boundary picks a neighbouring token (docs/cuda.md).
// A NaN or ±∞ among the logits is refused, as the CPU refuses it: the
// token written is −1 − j for the first such j (argmax.cuh), and nothing
// is drawn.
// logits [≥ vocab], probs [vocab] (scratch).
// Grid: 1 block of 1024 threads.
#include "argmax.cuh"

// block_sum_d: Σ v over the block, in double, to every thread.
__device__ double block_sum_d(double v) {
    __shared__ double parked[WARP];
    __shared__ double total;
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    const int nwarps = (blockDim.x + WARP - 1) / WARP;
    for (int off = WARP / 2; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    if (lane == 0) parked[warp] = v;
    __syncthreads();
    if (warp == 0) {
        double s = lane < nwarps ? parked[lane] : 0.0;
        for (int off = WARP / 2; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
        if (lane == 0) total = s;
    }
    __syncthreads();
    return total;
}

// mass_at_or_above: Σ q_j over the j < n with in(j) and bits(q_j) ≥ b.
template <class In>
__device__ double mass_at_or_above(const float* probs, int n, int b, In in) {
    double s = 0.0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const float q = probs[j];
        if (__float_as_int(q) >= b && in(j)) s += q;
    }
    return block_sum_d(s);
}

// crossing: the largest bit pattern b for which the mass of the in-tokens
// with bits(q) ≥ b exceeds target: the value of the token, in descending
// order, at which a running sum first exceeds target. −1 if even the whole
// mass does not. 31 bisection steps.
template <class In>
__device__ int crossing(const float* probs, int n, float target, In in) {
    if (!(mass_at_or_above(probs, n, 0, in) > target)) return -1;
    int lo = 0, hi = 0x7f800000;  // mass(lo) > target ≥ mass(hi) (+∞: no token)
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        if (mass_at_or_above(probs, n, mid, in) > target)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

// kth_index: the k-th (from 1) j < n, in index order, with in(j), or the
// last such j if there are fewer than k (−1 if none); to every thread.
// Each thread counts a contiguous chunk, thread 0 walks the counts.
template <class In>
__device__ int kth_index(int n, int k, In in) {
    __shared__ int counts[1024];
    __shared__ int found;
    const int chunk = (n + blockDim.x - 1) / blockDim.x;
    const int lo = threadIdx.x * chunk, hi = min(n, lo + chunk);
    int c = 0;
    for (int j = lo; j < hi; j++) c += in(j) ? 1 : 0;
    counts[threadIdx.x] = c;
    __syncthreads();
    if (threadIdx.x == 0) {
        int total = 0;
        for (int t = 0; t < (int)blockDim.x; t++) total += counts[t];
        k = min(k, total);
        found = -1;
        for (int t = 0; t < (int)blockDim.x && found < 0 && k > 0; t++) {
            if (k > counts[t]) {
                k -= counts[t];
                continue;
            }
            for (int j = t * chunk; j < min(n, (t + 1) * chunk); j++)
                if (in(j) && --k == 0) {
                    found = j;
                    break;
                }
        }
    }
    __syncthreads();
    return found;
}

// ties_to_cross: how many tokens of value tau, taken one by one after mass
// above, make above + k·tau exceed target (at least 1, at most ties).
__device__ int ties_to_cross(double above, float tau, int ties, float target) {
    int k = 1;
    while (k < ties && !(above + (double)k * tau > target)) k++;
    return k;
}

// Replaces no learning function: it is sample.Sampler.Sample, which the CPU
// implementations run on the logits.
extern "C" __global__ void sample(step_control* __restrict__ ctl, const float* __restrict__ logits,
                                  float* __restrict__ probs, int vocab) {
    const float T = ctl->temperature, top_p = ctl->top_p, coin = ctl->coin;

    // max = logits[argmax], as the CPU takes it; or the first non-finite
    // logit, which ends the draw (the same bv for every thread).
    float bv = -INFINITY;
    int bi = vocab;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        const float key = choice_key(logits[j]);
        if (better(key, j, bv, bi)) {
            bv = key;
            bi = j;
        }
    }
    block_best(&bv, &bi);
    if (choice(bv, bi) < 0) {
        if (threadIdx.x == 0) ctl->token = choice(bv, bi);
        return;
    }
    const float maxv = logits[bi];

    // q_j = e_j / Σ e, e_j = exp((l_j − max)/T), in double and rounded as the CPU does.
    double part = 0.0;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        const float e = (float)exp((double)((logits[j] - maxv) / T));
        probs[j] = e;
        part += e;
    }
    const double sum = block_sum_d(part);
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) probs[j] = (float)((double)probs[j] / sum);
    __syncthreads();

    int token;
    if (top_p > 0.0f && top_p < 1.0f) {
        if (vocab == 1) {
            if (threadIdx.x == 0) ctl->token = 0;
            return;
        }
        const float cutoff = (1.0f - top_p) / (float)(vocab - 1);
        auto cand = [&](int j) { return probs[j] >= cutoff; };
        // The nucleus: every candidate above tau, and the first k ties at tau.
        int tau_bits = crossing(probs, vocab, top_p, cand);
        double mass;
        int last_tie;  // the index of the last tie at tau in the nucleus
        if (tau_bits < 0) {  // rounding: the candidates' mass never exceeds top_p: all of them
            mass = mass_at_or_above(probs, vocab, 0, cand);
            float lv = INFINITY;  // the smallest candidate value, its last index
            int li = -1;
            for (int j = threadIdx.x; j < vocab; j += blockDim.x)
                if (cand(j) && (probs[j] < lv || (probs[j] == lv && j > li))) {
                    lv = probs[j];
                    li = j;
                }
            // block_best keeps the larger value and the smaller index: negate both.
            float nv = -lv;
            int ni = -li;
            block_best(&nv, &ni);
            tau_bits = __float_as_int(-nv);
            last_tie = -ni;
        } else {
            const float tau = __int_as_float(tau_bits);
            const double above = mass_at_or_above(probs, vocab, tau_bits + 1, cand);
            const double at = mass_at_or_above(probs, vocab, tau_bits, cand) - above;
            const int ties = (int)(at / tau + 0.5);
            const int k = ties_to_cross(above, tau, ties, top_p);
            mass = above + (double)k * tau;
            last_tie = kth_index(vocab, k, [&](int j) { return __float_as_int(probs[j]) == tau_bits; });
        }
        auto in = [&](int j) {
            const int b = __float_as_int(probs[j]);
            return probs[j] >= cutoff && (b > tau_bits || (b == tau_bits && j <= last_tie));
        };
        const float r = coin * (float)mass;
        const int rho_bits = crossing(probs, vocab, r, in);
        if (rho_bits < 0) {
            token = last_tie;  // rounding: the last token of the nucleus
        } else {
            const float rho = __int_as_float(rho_bits);
            const double above = mass_at_or_above(probs, vocab, rho_bits + 1, in);
            const double at = mass_at_or_above(probs, vocab, rho_bits, in) - above;
            const int k = ties_to_cross(above, rho, (int)(at / rho + 0.5), r);
            token = kth_index(vocab, k, [&](int j) { return __float_as_int(probs[j]) == rho_bits && in(j); });
        }
    } else {
        // The first j where the running sum, in index order, exceeds coin:
        // each thread sums a contiguous chunk, thread 0 walks the chunks.
        __shared__ double sums[1024];
        __shared__ int found;
        const int chunk = (vocab + blockDim.x - 1) / blockDim.x;
        const int lo = threadIdx.x * chunk, hi = min(vocab, lo + chunk);
        double s = 0.0;
        for (int j = lo; j < hi; j++) s += probs[j];
        sums[threadIdx.x] = s;
        __syncthreads();
        if (threadIdx.x == 0) {
            found = -1;
            double cdf = 0.0;
            for (int t = 0; t < (int)blockDim.x && found < 0; t++) {
                if (!(coin < cdf + sums[t])) {  // not in this chunk
                    cdf += sums[t];
                    continue;
                }
                for (int j = t * chunk; j < min(vocab, (t + 1) * chunk); j++) {
                    cdf += probs[j];
                    if (coin < cdf) {
                        found = j;
                        break;
                    }
                }
            }
        }
        __syncthreads();
        token = found >= 0 ? found : vocab - 1;  // rounding: the last token, as the CPU
    }
    if (threadIdx.x == 0) ctl->token = token >= 0 ? token : bi;  // the argmax if rounding left no token
}
