"""PyTorch speed of the reference implementation on a model.bin.

    /usr/bin/python3 compare/reference/bench.py MODEL.bin [-n 128] [-p 0,1,2,...] [-t THREADS]
                                                [--prefill 512 [--prefill-prompt 0,1,2,...]]

Loads the model, feeds a short prompt one token at a time from an empty state,
then generates N greedy tokens (argmax over the unpadded vocab), and prints the
prompt and generation speed; the last line is e.g. `pytorch: 51.3 tok/s`
(generation). Uses all cores by default, float32, under torch.inference_mode.

With --prefill L it also times the forward of an L-token prompt from an empty
state the way a batched prompt is computed (mamba_ssm's forward without its
CUDA kernels): every projection a matrix product over all L tokens, the
causal conv one depthwise conv1d over the sequence, the selective scan a loop
over time (as mamba_ssm's selective_scan_ref), and the head on the last token
only; it prints `pytorch prefill: X tok/s` (L / time). The prompt is
--prefill-prompt, else the -p prompt repeated to L tokens. Before timing, the
batched forward of a 32-token prefix is checked against the one-token step.

The matrix-vector products go to the BLAS that torch was linked with; on
Debian that is whatever provides libblas.so.3 (`blas:` is printed). The
reference BLAS (libblas3) is several times slower than OpenBLAS
(`apt-get install libopenblas0-pthread`). OpenBLAS runs its own threads, so
torch's OpenMP threads are told to wait passively instead of spinning against
them: on 2 cores, spinning OpenMP threads cut OpenBLAS to 1/6 of its speed.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads OpenMP
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_ref  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mamba_ref import rms_norm  # noqa: E402

# "Mamba is a new state space model architecture" in GPT-NeoX-20B ids (any ids < vocab do).
DEFAULT_PROMPT = "46,31834,310,247,747,1375,2317,1566,10336"


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    ap.add_argument("model", help="mamba.c model.bin")
    ap.add_argument("-n", type=int, default=128, help="tokens to generate (default 128)")
    ap.add_argument("-p", "--prompt", default=DEFAULT_PROMPT, help="comma-separated prompt token ids")
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("--prefill", type=int, default=0, help="also time a batched forward of a prompt of this many tokens")
    ap.add_argument("--prefill-prompt", default="", help="comma-separated ids for --prefill (default: -p repeated)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = mamba_ref.load_model_bin(args.model)
    c = model.config
    prompt = [int(t) % c.vocab_size for t in args.prompt.split(",")]
    print(f"model: {c}")
    print(f"load: {time.perf_counter() - t0:.2f} s, {args.threads} threads, torch {torch.__version__}")

    with torch.inference_mode():
        model.reset()
        t0 = time.perf_counter()
        for t in prompt:
            logits = model.step(t)
        t_prompt = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = model.greedy(args.n, logits)
        t_gen = time.perf_counter() - t0
    print(f"prompt: {len(prompt)} tokens, {len(prompt) / t_prompt:.1f} tok/s")
    print(f"generated: {out[:16]}{' ...' if len(out) > 16 else ''}")
    if args.prefill > 0:
        ids = args.prefill_prompt.split(",") if args.prefill_prompt else args.prompt.split(",")
        ids = [int(t) % c.vocab_size for t in ids]
        tokens = (ids * (args.prefill // len(ids) + 1))[: args.prefill]
        with torch.inference_mode():
            check_prefill(model, tokens[:32])
            t0 = time.perf_counter()
            prefill(model, tokens)
            t_prefill = time.perf_counter() - t0
        print(f"pytorch prefill: {len(tokens) / t_prefill:.1f} tok/s ({len(tokens)} tokens, batched projections)")
    print(f"blas: {blas_library()}")
    print(f"pytorch: {args.n / t_gen:.1f} tok/s")


def prefill(model, tokens):
    """Forward of tokens from an empty state with batched projections; leaves
    the model in the state after the last token and returns its logits."""
    c = model.config
    model.reset()
    h = model.embedding[torch.tensor(tokens)]                        # [L, d_model]
    for i, w in enumerate(model.layers):
        u = rms_norm(h, w["norm"])
        xz = u @ w["in_proj"].T                                      # [L, 2*d_inner]
        x, z = xz[:, : c.d_inner], xz[:, c.d_inner:]
        # Causal depthwise conv: pad d_conv-1 zeros (the empty conv state) in front.
        xt = x.T.unsqueeze(0)                                        # [1, d_inner, L]
        conv = F.conv1d(F.pad(xt, (c.d_conv - 1, 0)), w["conv_w"].unsqueeze(1), w["conv_b"], groups=c.d_inner)
        model.conv_state[i].copy_(F.pad(xt, (c.d_conv, 0))[0, :, -c.d_conv:])
        x = F.silu(conv[0].T)                                        # [L, d_inner]
        x_db = x @ w["x_proj"].T                                     # [L, dt_rank + 2*d_state]
        dt_low, B, C = torch.split(x_db, [c.dt_rank, c.d_state, c.d_state], dim=-1)
        dt = F.softplus(dt_low @ w["dt_proj_w"].T + w["dt_proj_b"])   # [L, d_inner]
        dA = torch.exp(dt[:, :, None] * w["A"])                      # [L, d_inner, d_state]
        dBx = (dt * x)[:, :, None] * B[:, None, :]                   # [L, d_inner, d_state]
        state = model.ssm_state[i]
        y = torch.empty_like(x)
        for t in range(len(tokens)):                                 # the scan: sequential in time
            state = state * dA[t] + dBx[t]
            y[t] = state @ C[t]
        model.ssm_state[i].copy_(state)
        y = (y + w["D"] * x) * F.silu(z)
        h = h + y @ w["out_proj"].T                                  # [L, d_model]
    return F.linear(rms_norm(h[-1], model.norm_f), model.lm_head)


def check_prefill(model, tokens):
    """The batched forward must give the step's logits and state."""
    want = model.run(tokens)[-1]
    want_state = model.get_state()
    got = prefill(model, tokens)
    got_state = model.get_state()
    err = (got - want).abs().max().item()
    if err > 1e-3 * max(1.0, want.abs().max().item()):
        sys.exit(f"bench.py: batched prefill disagrees with the step: max |diff| {err:g}")
    for a, b in zip(got_state[0] + got_state[1], want_state[0] + want_state[1]):
        if not torch.allclose(a, b, rtol=1e-3, atol=1e-4):
            sys.exit("bench.py: batched prefill leaves a different state than the step")


def blas_library():
    """The BLAS shared library this process has loaded, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.split()[-1].lower()}
    except OSError:
        return "unknown"
    return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none found"


if __name__ == "__main__":
    main()
