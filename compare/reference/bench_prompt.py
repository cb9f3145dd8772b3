"""PyTorch speed of a whole prompt at once on a model.bin, for fused's batched prompt.

    /usr/bin/python3 compare/reference/bench_prompt.py MODEL.bin [-l 512] [-r 3] [-t THREADS]

Feeds L tokens from an empty state the way PyTorch's sequence forward does
(HF transformers' MambaMixer without the CUDA kernels): the projections as
matrix products over all L tokens, the causal conv as one conv1d, the
selective scan as a loop over time with all channels at once, the head on
the last token only. Prints each repetition's time and, last, e.g.
`pytorch prompt: 512 tokens, 85.3 tok/s` (the best repetition). Checks the
last logits against mamba_ref's token-by-token step when -check is given.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bench.py: OpenBLAS runs its own threads
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_ref  # noqa: E402


@torch.inference_mode()
def forward_prompt(model, tokens):
    """Logits [padded_vocab] after tokens, from an empty state, batched over the sequence."""
    c = model.config
    L = len(tokens)
    h = model.embedding[torch.tensor(tokens)]                          # [L, d]
    for w in model.layers:
        xz = F.linear(mamba_ref.rms_norm(h, w["norm"]), w["in_proj"])  # [L, 2di]
        x, z = xz[:, : c.d_inner], xz[:, c.d_inner:]
        x = F.conv1d(x.t()[None], w["conv_w"][:, None, :], w["conv_b"],
                     padding=c.d_conv - 1, groups=c.d_inner)[0, :, :L].t()
        x = F.silu(x)                                                  # [L, di]
        x_db = F.linear(x, w["x_proj"])                                # [L, r+2n]
        dt_low, B, C = torch.split(x_db, [c.dt_rank, c.d_state, c.d_state], dim=-1)
        dt = F.softplus(F.linear(dt_low, w["dt_proj_w"], w["dt_proj_b"]))  # [L, di]
        dA = torch.exp(dt[:, :, None] * w["A"][None])                  # [L, di, n]
        dBx = (dt * x)[:, :, None] * B[:, None, :]                     # [L, di, n]
        s = torch.zeros(c.d_inner, c.d_state)
        ys = []
        for t in range(L):
            s = s * dA[t] + dBx[t]
            ys.append(s @ C[t])
        y = (torch.stack(ys) + w["D"] * x) * F.silu(z)                 # [L, di]
        h = h + F.linear(y, w["out_proj"])
    return F.linear(mamba_ref.rms_norm(h[-1], model.norm_f), model.lm_head)


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    ap.add_argument("model", help="mamba.c model.bin")
    ap.add_argument("-l", type=int, default=512, help="prompt tokens (default 512)")
    ap.add_argument("-r", type=int, default=3, help="repetitions (default 3)")
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("-check", action="store_true", help="compare with the token-by-token step")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = mamba_ref.load_model_bin(args.model)
    c = model.config
    tokens = [(i * 7919 + 13) % c.vocab_size for i in range(args.l)]
    best = None
    for i in range(args.r):
        t0 = time.perf_counter()
        logits = forward_prompt(model, tokens)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        print(f"run {i + 1}: {dt:.2f} s, {args.l / dt:.1f} tok/s")
    if args.check:
        with torch.inference_mode():
            want = model.run(tokens)[-1]
        err = (logits - want).abs().max().item() / want.abs().max().item()
        print(f"check: max |Δlogit| / max |logit| = {err:.2e}")
    print(f"pytorch prompt: {args.l} tokens, {args.l / best:.1f} tok/s")


if __name__ == "__main__":
    main()
