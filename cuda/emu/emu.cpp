// emu.cpp: runs the CUDA kernels of cuda/kernels on the CPU (shim.h) with the
// host loop of cuda/mamba.go (step, ForwardArgmax) mirrored launch by launch,
// for cuda/emu_test.go. See README.md.
//
//   emu DIR
//
// DIR/config.txt (written by emu_test.go):
//   L d di r n k vocab vocabPadded threads argmaxThreads eps
//   inProj.wpr inProj.blocks xProj.wpr xProj.blocks outProj.wpr outProj.blocks lmHead.wpr lmHead.blocks scanBlocks
//   T tok_0 … tok_{T-1}
//   NT
//   NT lines "name count": the weight tensors, in cuda/layout.go's upload order
// DIR/weights.bin: those tensors' float32s, one after the other.
// Writes DIR/logits.bin [T][vocabPadded] float32, DIR/argmax.bin [T] int32,
// DIR/conv.bin [L][di][k], DIR/ssm.bin [L][di][n] (the state after T tokens).
//
//   emu -argmax THREADS IN OUT
//
// runs the argmax kernel alone over the float32s of file IN, int32 to OUT.
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
    if (posix_memalign(&p, 256, n * 4) != 0) emu::fail("out of memory");
    float* f = (float*)p;
    for (size_t i = 0; i < n; i++) f[i] = fill;
    return f;
}

static void write_file(const std::string& path, const void* p, size_t bytes) {
    FILE* f = fopen(path.c_str(), "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) emu::fail("writing %s", path.c_str());
}

// argmax_only: emu -argmax THREADS IN OUT runs the argmax kernel alone on the
// float32s of IN (its whole length is n) and writes the int32 result to OUT.
static int argmax_only(int threads, const char* in, const char* out) {
    FILE* f = fopen(in, "rb");
    if (!f) emu::fail("no %s", in);
    std::vector<float> x;
    float v;
    while (fread(&v, 4, 1, f) == 1) x.push_back(v);
    fclose(f);
    float* dx = alloc(x.size(), 0);
    memcpy(dx, x.data(), x.size() * 4);
    int* best = (int*)alloc(1, NAN);
    const int n = (int)x.size();
    emu::launch("argmax", 1, threads, 0, [&] { argmax(best, dx, n); });
    write_file(out, best, 4);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 5 && strcmp(argv[1], "-argmax") == 0) return argmax_only(atoi(argv[2]), argv[3], argv[4]);
    if (argc != 2) emu::fail("usage: emu DIR | emu -argmax THREADS IN OUT");
    const std::string dir = argv[1];
    FILE* cf = fopen((dir + "/config.txt").c_str(), "r");
    if (!cf) emu::fail("no %s/config.txt", dir.c_str());
    int L, d, di, r, n, k, vocab, vp, threads, argmax_threads;
    float eps;
    int in_wpr, in_blocks, x_wpr, x_blocks, out_wpr, out_blocks, head_wpr, head_blocks, scan_blocks, T, NT;
    if (fscanf(cf, "%d %d %d %d %d %d %d %d %d %d %f", &L, &d, &di, &r, &n, &k, &vocab, &vp, &threads, &argmax_threads,
               &eps) != 11 ||
        fscanf(cf, "%d %d %d %d %d %d %d %d %d", &in_wpr, &in_blocks, &x_wpr, &x_blocks, &out_wpr, &out_blocks,
               &head_wpr, &head_blocks, &scan_blocks) != 9 ||
        fscanf(cf, "%d", &T) != 1)
        emu::fail("bad config.txt");
    std::vector<int> tokens(T);
    for (int& t : tokens)
        if (fscanf(cf, "%d", &t) != 1) emu::fail("bad config.txt tokens");
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
    int* best = (int*)alloc(1, nan);
    float *conv = alloc((size_t)L * di * k, 0), *ssm = alloc((size_t)L * di * n, 0);

    std::vector<float> all_logits;
    std::vector<int> all_best;
    for (int tok : tokens) {
        // cuda/mamba.go step(token), launch by launch.
        const float* h_in = W("embedding") + (size_t)tok * d;
        float* h_init = h;
        for (int l = 0; l < L; l++) {
            const std::string p = "layers." + std::to_string(l) + ".";
            float* conv_l = conv + (size_t)l * di * k;
            float* ssm_l = ssm + (size_t)l * di * n;
            float *in_proj = W(p + "in_proj"), *conv_w = W(p + "conv1d.weight"), *conv_b = W(p + "conv1d.bias"),
                  *norm = W(p + "norm"), *x_proj = W(p + "x_proj"), *dt_w = W(p + "dt_proj.weight"),
                  *dt_b = W(p + "dt_proj.bias"), *A = W(p + "A"), *D = W(p + "D"), *out_proj = W(p + "out_proj");
            const float* hin = h_in;
            float* hinit = h_init;
            emu::launch("in_proj_conv", in_blocks, threads, 4 * d, [&] {
                in_proj_conv(u, z, conv_l, in_proj, conv_w, conv_b, norm, hin, hinit, d, di, k, in_wpr, eps);
            });
            h_in = h;
            h_init = nullptr;
            emu::launch("matvec x_proj", x_blocks, threads, 0,
                        [&] { matvec(xDBC, x_proj, u, r + 2 * n, di, x_wpr, 0); });
            emu::launch("dt_scan_gate", scan_blocks, threads, 0,
                        [&] { dt_scan_gate(y, ssm_l, u, z, xDBC, dt_w, dt_b, A, D, di, r, n); });
            emu::launch("matvec out_proj", out_blocks, threads, 0,
                        [&] { matvec(h, out_proj, y, d, di, out_wpr, 1); });
        }
        emu::launch("rmsnorm_matvec", head_blocks, threads, 4 * d,
                    [&] { rmsnorm_matvec(logits, lm_head, W("norm_f"), h, vp, d, head_wpr, eps); });
        // ForwardArgmax's extra launch (it only reads the logits).
        emu::launch("argmax", 1, argmax_threads, 0, [&] { argmax(best, logits, vocab); });
        all_logits.insert(all_logits.end(), logits, logits + vp);
        all_best.push_back(*best);
    }
    write_file(dir + "/logits.bin", all_logits.data(), all_logits.size() * 4);
    write_file(dir + "/argmax.bin", all_best.data(), all_best.size() * 4);
    write_file(dir + "/conv.bin", conv, (size_t)L * di * k * 4);
    write_file(dir + "/ssm.bin", ssm, (size_t)L * di * n * 4);
    return 0;
}
