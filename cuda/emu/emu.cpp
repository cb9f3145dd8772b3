// emu.cpp: runs the CUDA kernels of cuda/kernels on the CPU (shim.h) with the
// host loop of cuda/mamba.go (step and its head modes) mirrored launch by
// launch, for cuda/emu_test.go. See README.md.
//
//   emu DIR
//
// DIR/config.txt (written by emu_test.go):
//   L d di r n k vocab vocabPadded threads sampleThreads eps falcon mixerEps
//     (falcon 1: a Falcon-Mamba model, bcdt_norm after x_proj with mixerEps)
//   inProj.wpr inProj.blocks xProj.wpr xProj.blocks outProj.wpr outProj.blocks head.wpr head.blocks scanBlocks
//   S, then S lines "MODE TOKEN COIN TEMPERATURE TOP_P": one step each, MODE
//     feed (the layers only), logits (and the head), argmax (and the head's
//     argmax), sample (and the sampler); TOKEN −1: the token the previous
//     step left in step_control (greedy and sampled decoding on the device)
//   NT, then NT lines "name count": the weight tensors, in cuda/layout.go's upload order
// DIR/weights.bin: those tensors' float32s, one after the other.
// Writes DIR/logits.bin ([vocabPadded] float32 for every step that ran the
// head), DIR/tokens.bin ([S] int32: step_control's token after each step),
// DIR/conv.bin [L][di][k], DIR/ssm.bin [L][di][n] (the state at the end).
//
//   emu -argmax BLOCKS IN OUT          head's fused argmax alone over the float32s of IN
//   emu -sample THREADS IN COIN T P OUT   the sampler alone over the logits of IN
//   emu -matvec v1|v2 ROWS COLS WPR BLOCKS W X OUT   one matrix–vector product
// (int32 or float32s to OUT).
#include <stdarg.h>
#include <ucontext.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "shim.h"

// The kernels, as nvcc compiles them (run.sh makes kernels.gen.cpp from
// cuda/kernels/*.cu, turning `extern __shared__ T name[];` into a pointer to
// the block's dynamic shared memory).
#include "kernels.gen.cpp"

// In an AddressSanitizer build: fibers switch stacks with swapcontext, which
// must not pass for a use after return, and the buffers live until exit.
extern "C" const char* __asan_default_options() { return "detect_stack_use_after_return=0:detect_leaks=0"; }

namespace emu {

dim3 block_idx, block_dim, grid_dim;

[[noreturn]] void fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "emu: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(3);
}

enum State { RUNNABLE, WAIT_WARP, WAIT_BLOCK, DONE };

struct Fiber {
    ucontext_t ctx;
    State st;
    int tid;
    long shuffles;  // how many shuffle halves this thread has passed
    long syncs;     // how many __syncthreads it has passed
};

static const char* kernel_name;
static std::vector<Fiber> fibers;
static std::vector<std::vector<char>> stacks;
static Fiber* cur;
static ucontext_t sched;
static const std::function<void()>* body;
static uint64_t lanes[32][32];  // shuffle values, [warp][lane]
static unsigned shfl_mask[32][32];
alignas(256) static unsigned char dyn[48 << 10];
static size_t dyn_bytes;
static const size_t stack_bytes = 256 << 10;

dim3 thread_idx() { return dim3{(unsigned)cur->tid, 0, 0}; }

void* dyn_shared() { return dyn; }

static void wait(State s) {
    cur->st = s;
    swapcontext(&cur->ctx, &sched);
}

void syncthreads() {
    cur->syncs++;
    wait(WAIT_BLOCK);
}

uint64_t shfl(unsigned mask, uint64_t bits, int lane_xor, int lane_down, const char* what) {
    const int w = cur->tid / 32, lane = cur->tid % 32;
    if (mask != 0xffffffffu) fail("%s: %s with mask %#x (the kernels use full warps only)", kernel_name, what, mask);
    lanes[w][lane] = bits;
    shfl_mask[w][lane] = mask;
    cur->shuffles++;
    wait(WAIT_WARP);
    int src = lane_down ? lane + lane_down : lane ^ lane_xor;
    uint64_t r = src < 32 ? lanes[w][src] : bits;
    cur->shuffles++;
    wait(WAIT_WARP);
    return r;
}

static void trampoline() {
    (*body)();
    cur->st = DONE;
    // returning resumes uc_link: the scheduler
}

// run_block runs one block of blockDim threads to the end.
static void run_block() {
    const int n = (int)block_dim.x;
    if ((int)stacks.size() < n) stacks.resize(n);
    fibers.assign(n, Fiber{});
    memset(dyn, 0xff, sizeof dyn);  // NaN garbage in the dynamic shared memory
    for (int t = 0; t < n; t++) {
        Fiber& f = fibers[t];
        if (stacks[t].empty()) stacks[t].resize(stack_bytes);
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = stacks[t].data();
        f.ctx.uc_stack.ss_size = stacks[t].size();
        f.ctx.uc_link = &sched;
        makecontext(&f.ctx, trampoline, 0);
        f.st = RUNNABLE;
        f.tid = t;
    }
    for (;;) {
        for (Fiber& f : fibers) {
            if (f.st != RUNNABLE) continue;
            cur = &f;
            swapcontext(&sched, &f.ctx);
        }
        int done = 0, at_block = 0;
        for (Fiber& f : fibers) {
            done += f.st == DONE;
            at_block += f.st == WAIT_BLOCK;
        }
        if (done == n) return;
        bool released = false;
        for (int w = 0; w * 32 < n; w++) {
            const int lo = w * 32, hi = lo + 32 < n ? lo + 32 : n;
            int waiting = 0;
            for (int t = lo; t < hi; t++) waiting += fibers[t].st == WAIT_WARP;
            if (waiting == 0) continue;
            if (hi - lo != 32)
                fail("%s block %u: a shuffle in warp %d, which has only %d threads", kernel_name, block_idx.x, w, hi - lo);
            if (waiting != 32) {
                int t = lo;
                while (fibers[t].st == WAIT_WARP) t++;
                fail("%s block %u: warp %d: %d lanes wait in a shuffle that lane %d never reaches (%s)", kernel_name,
                     block_idx.x, w, waiting, t - lo, fibers[t].st == DONE ? "it has returned" : "it waits at __syncthreads");
            }
            for (int t = lo; t < hi; t++)
                if (fibers[t].shuffles != fibers[lo].shuffles)
                    fail("%s block %u: warp %d: lanes %d and %d are at different shuffles (divergent shuffle)",
                         kernel_name, block_idx.x, w, 0, t - lo);
            for (int t = lo; t < hi; t++) fibers[t].st = RUNNABLE;
            released = true;
        }
        if (released) continue;
        if (at_block > 0) {
            if (at_block + done != n) fail("%s block %u: deadlock", kernel_name, block_idx.x);
            if (done > 0)
                fail("%s block %u: __syncthreads reached by %d threads after %d returned", kernel_name, block_idx.x,
                     at_block, done);
            for (Fiber& f : fibers)
                if (f.syncs != fibers[0].syncs)
                    fail("%s block %u: threads 0 and %d wait at different __syncthreads", kernel_name, block_idx.x, f.tid);
            for (Fiber& f : fibers) f.st = RUNNABLE;
            continue;
        }
        fail("%s block %u: no thread can go on", kernel_name, block_idx.x);
    }
}

// launch runs kernel on a 1-D grid, block by block.
static void launch(const char* name, int blocks, int threads, size_t shared, const std::function<void()>& kernel) {
    if (blocks <= 0 || threads <= 0 || threads > 1024) fail("launch %s: %d blocks of %d threads", name, blocks, threads);
    if (shared > sizeof dyn) fail("launch %s: %zu bytes of dynamic shared memory", name, shared);
    kernel_name = name;
    dyn_bytes = shared;
    body = &kernel;
    grid_dim = dim3{(unsigned)blocks, 1, 1};
    block_dim = dim3{(unsigned)threads, 1, 1};
    for (int b = 0; b < blocks; b++) {
        block_idx = dim3{(unsigned)b, 0, 0};
        run_block();
    }
}

}  // namespace emu

// alloc gives each tensor its own 256-byte aligned allocation of exactly its
// size, as the device arena aligns them (an AddressSanitizer build then
// catches a read past any tensor's end).
static float* alloc(size_t n, float fill) {
    void* p = nullptr;
    if (posix_memalign(&p, 256, (n ? n : 1) * 4) != 0) emu::fail("out of memory");
    float* f = (float*)p;
    for (size_t i = 0; i < n; i++) f[i] = fill;
    return f;
}

static void write_file(const std::string& path, const void* p, size_t bytes) {
    FILE* f = fopen(path.c_str(), "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) emu::fail("writing %s", path.c_str());
}

static std::vector<float> read_floats(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) emu::fail("no %s", path);
    std::vector<float> x;
    float v;
    while (fread(&v, 4, 1, f) == 1) x.push_back(v);
    fclose(f);
    return x;
}

static float* device_copy(const std::vector<float>& x) {
    float* d = alloc(x.size(), 0);
    memcpy(d, x.data(), x.size() * 4);
    return d;
}

// The control block and the head's argmax scratch, as cuda/control.go lays
// them out (each its own allocation here).
struct Control {
    step_control* ctl;
    float* part_v;
    int* part_i;
    unsigned* done;
    float* probs;
    Control(int head_blocks, int vocab) {
        ctl = (step_control*)alloc(4, 0);
        ctl->token = -1;
        part_v = alloc(head_blocks, NAN);
        part_i = (int*)alloc(head_blocks, NAN);
        done = (unsigned*)alloc(1, 0);
        probs = alloc(vocab, NAN);
    }
};

// argmax_only: head's argmax over x: a head of d = 1 whose weights are x,
// with h = norm_f = [1] and eps = 0, so that its logits are x exactly.
static int argmax_only(int blocks, const char* in, const char* out) {
    std::vector<float> x = read_floats(in);
    const int n = (int)x.size();
    float* W = device_copy(x);
    float *h = alloc(1, 1), *norm_f = alloc(1, 1), *logits = alloc(n, NAN);
    Control c(blocks, n);
    emu::launch("head (argmax)", blocks, 256, 4, [&] {
        head(logits, &c.ctl->token, c.part_v, c.part_i, c.done, W, norm_f, h, n, n, 1, 1, 0.0f);
    });
    if (*c.done != 0) emu::fail("head left done = %u", *c.done);
    write_file(out, &c.ctl->token, 4);
    return 0;
}

// sample_only: the sampler over the logits of in.
static int sample_only(int threads, const char* in, float coin, float t, float p, const char* out) {
    std::vector<float> x = read_floats(in);
    const int n = (int)x.size();
    float* logits = device_copy(x);
    Control c(1, n);
    *c.ctl = step_control{-1, coin, t, p};
    emu::launch("sample", 1, threads, 0, [&] { sample(c.ctl, logits, c.probs, n); });
    write_file(out, &c.ctl->token, 4);
    return 0;
}

// matvec_only: out = W · x with matvec_v1 or matvec_v2.
static int matvec_only(const char* v, int rows, int cols, int wpr, int blocks, const char* wpath, const char* xpath,
                       const char* out) {
    std::vector<float> wv = read_floats(wpath), xv = read_floats(xpath);
    if ((long)wv.size() != (long)rows * cols || (int)xv.size() != cols) emu::fail("matvec: sizes");
    float *W = device_copy(wv), *x = device_copy(xv), *y = alloc(rows, NAN);
    if (strcmp(v, "v1") == 0)
        emu::launch("matvec_v1", blocks, 256, 0, [&] { matvec_v1(y, W, x, rows, cols, wpr, 0); });
    else
        emu::launch("matvec_v2", blocks, 256, 4 * cols, [&] { matvec_v2(y, W, x, rows, cols, wpr, 0); });
    write_file(out, y, 4 * rows);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 5 && strcmp(argv[1], "-argmax") == 0) return argmax_only(atoi(argv[2]), argv[3], argv[4]);
    if (argc == 8 && strcmp(argv[1], "-sample") == 0)
        return sample_only(atoi(argv[2]), argv[3], atof(argv[4]), atof(argv[5]), atof(argv[6]), argv[7]);
    if (argc == 10 && strcmp(argv[1], "-matvec") == 0)
        return matvec_only(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), argv[7], argv[8],
                           argv[9]);
    if (argc != 2) emu::fail("usage: emu DIR | emu -argmax … | emu -sample … | emu -matvec …");
    const std::string dir = argv[1];
    FILE* cf = fopen((dir + "/config.txt").c_str(), "r");
    if (!cf) emu::fail("no %s/config.txt", dir.c_str());
    int L, d, di, r, n, k, vocab, vp, threads, sample_threads, falcon;
    float eps, mixer_eps;
    int in_wpr, in_blocks, x_wpr, x_blocks, out_wpr, out_blocks, head_wpr, head_blocks, scan_blocks, S, NT;
    if (fscanf(cf, "%d %d %d %d %d %d %d %d %d %d %f %d %f", &L, &d, &di, &r, &n, &k, &vocab, &vp, &threads,
               &sample_threads, &eps, &falcon, &mixer_eps) != 13 ||
        fscanf(cf, "%d %d %d %d %d %d %d %d %d", &in_wpr, &in_blocks, &x_wpr, &x_blocks, &out_wpr, &out_blocks,
               &head_wpr, &head_blocks, &scan_blocks) != 9 ||
        fscanf(cf, "%d", &S) != 1)
        emu::fail("bad config.txt");
    struct Step {
        char mode[16];
        int token;
        float coin, temperature, top_p;
    };
    std::vector<Step> steps(S);
    for (Step& s : steps)
        if (fscanf(cf, "%15s %d %f %f %f", s.mode, &s.token, &s.coin, &s.temperature, &s.top_p) != 5)
            emu::fail("bad config.txt step");
    if (fscanf(cf, "%d", &NT) != 1) emu::fail("bad config.txt tensor count");
    std::map<std::string, float*> w;
    FILE* wf = fopen((dir + "/weights.bin").c_str(), "rb");
    if (!wf) emu::fail("no weights.bin");
    for (int i = 0; i < NT; i++) {
        char name[256];
        long cnt;
        if (fscanf(cf, "%255s %ld", name, &cnt) != 2) emu::fail("bad tensor line %d", i);
        float* p = alloc(cnt, 0);
        if (fread(p, 4, cnt, wf) != (size_t)cnt) emu::fail("weights.bin too short at %s", name);
        w[name] = p;
    }
    fclose(cf);
    fclose(wf);
    auto W = [&](const std::string& name) {
        auto it = w.find(name);
        if (it == w.end()) emu::fail("no tensor %s", name.c_str());
        return it->second;
    };
    float* lm_head = w.count("lm_head") ? W("lm_head") : W("embedding");

    // The work buffers start as NaN (a row that no thread writes shows), the state as 0.
    const float nan = NAN;
    float *h = alloc(d, nan), *u = alloc(di, nan), *z = alloc(di, nan), *xDBC = alloc(r + 2 * n, nan);
    float *y = alloc(di, nan), *logits = alloc(vp, nan);
    float *conv = alloc((size_t)L * di * k, 0), *ssm = alloc((size_t)L * di * n, 0);
    Control c(head_blocks, vocab);

    std::vector<float> all_logits;
    std::vector<int> tokens;
    for (const Step& st : steps) {
        // cuda/mamba.go: the host writes step_control when it must (a token
        // of its own, a new coin), then step(mode), launch by launch.
        if (st.token >= 0) c.ctl->token = st.token;
        c.ctl->coin = st.coin;
        c.ctl->temperature = st.temperature;
        c.ctl->top_p = st.top_p;
        if (c.ctl->token < 0 || c.ctl->token >= vocab) emu::fail("step with token %d", c.ctl->token);
        for (int l = 0; l < L; l++) {
            const std::string p = "layers." + std::to_string(l) + ".";
            float* conv_l = conv + (size_t)l * di * k;
            float* ssm_l = ssm + (size_t)l * di * n;
            float *in_proj = W(p + "in_proj"), *conv_w = W(p + "conv1d.weight"), *conv_b = W(p + "conv1d.bias"),
                  *norm = W(p + "norm"), *x_proj = W(p + "x_proj"), *dt_w = W(p + "dt_proj.weight"),
                  *dt_b = W(p + "dt_proj.bias"), *A = W(p + "A"), *D = W(p + "D"), *out_proj = W(p + "out_proj");
            const float* emb = l == 0 ? W("embedding") : nullptr;
            emu::launch("in_proj_conv", in_blocks, threads, 4 * d, [&] {
                in_proj_conv(u, z, conv_l, in_proj, conv_w, conv_b, norm, h, emb, c.ctl, d, di, k, in_wpr, eps);
            });
            emu::launch("matvec_v2 x_proj", x_blocks, threads, 4 * di,
                        [&] { matvec_v2(xDBC, x_proj, u, r + 2 * n, di, x_wpr, 0); });
            if (falcon) emu::launch("bcdt_norm", 1, threads, 0, [&] { bcdt_norm(xDBC, r, n, mixer_eps); });
            emu::launch("dt_scan_gate", scan_blocks, threads, 0,
                        [&] { dt_scan_gate(y, ssm_l, u, z, xDBC, dt_w, dt_b, A, D, di, r, n); });
            emu::launch("matvec_v2 out_proj", out_blocks, threads, 4 * di,
                        [&] { matvec_v2(h, out_proj, y, d, di, out_wpr, 1); });
        }
        const bool feed = strcmp(st.mode, "feed") == 0, argmax = strcmp(st.mode, "argmax") == 0,
                   sampled = strcmp(st.mode, "sample") == 0;
        if (!feed && !argmax && !sampled && strcmp(st.mode, "logits") != 0) emu::fail("mode %s", st.mode);
        if (!feed) {
            int* best = argmax ? &c.ctl->token : nullptr;
            emu::launch("head", head_blocks, threads, 4 * d, [&] {
                head(logits, best, c.part_v, c.part_i, c.done, lm_head, W("norm_f"), h, vp, vocab, d, head_wpr, eps);
            });
            if (*c.done != 0) emu::fail("head left done = %u", *c.done);
            if (sampled)
                emu::launch("sample", 1, sample_threads, 0, [&] { sample(c.ctl, logits, c.probs, vocab); });
            all_logits.insert(all_logits.end(), logits, logits + vp);
        }
        tokens.push_back(c.ctl->token);
    }
    write_file(dir + "/logits.bin", all_logits.data(), all_logits.size() * 4);
    write_file(dir + "/tokens.bin", tokens.data(), tokens.size() * 4);
    write_file(dir + "/conv.bin", conv, (size_t)L * di * k * 4);
    write_file(dir + "/ssm.bin", ssm, (size_t)L * di * n * 4);
    return 0;
}
