"""PyTorch speed of the reference implementation on a model.bin.

    /usr/bin/python3 compare/reference/bench.py MODEL.bin [-n 128] [-p 0,1,2,...] [-t THREADS]

Loads the model, feeds a short prompt one token at a time from an empty state,
then generates N greedy tokens (argmax over the unpadded vocab), and prints the
prompt and generation speed; the last line is e.g. `pytorch: 51.3 tok/s`
(generation). Uses all cores by default, float32, under torch.inference_mode.

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

# "Mamba is a new state space model architecture" in GPT-NeoX-20B ids (any ids < vocab do).
DEFAULT_PROMPT = "46,31834,310,247,747,1375,2317,1566,10336"


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    ap.add_argument("model", help="mamba.c model.bin")
    ap.add_argument("-n", type=int, default=128, help="tokens to generate (default 128)")
    ap.add_argument("-p", "--prompt", default=DEFAULT_PROMPT, help="comma-separated prompt token ids")
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
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
    print(f"blas: {blas_library()}")
    print(f"pytorch: {args.n / t_gen:.1f} tok/s")


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
