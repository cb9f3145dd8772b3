"""Makes a random tiny Mamba-1 or Falcon-Mamba model and writes a test case folder.

    /usr/bin/python3 compare/reference/make_case.py NAME OUTDIR     # one preset case
    /usr/bin/python3 compare/reference/make_case.py --list          # the presets

The folder has the same layout as the HF cases in ../shared/reference/hf-transformers:

    model.bin                   mamba.c format (A stored as -exp(A_log))
    tokens.json                 token ids, fed one at a time from an empty state
    logits.npy                  float32 [len(tokens), padded_vocab], logits after each token
    greedy.json                 {"prompt": tokens[:8], "tokens": 16 greedy ids}
    trace.json, trace.npy       every op's result for the first 3 tokens (see write_trace)
    state-spaces/config.json    + pytorch_model.bin (torch.save of the state dict, state-spaces naming)
    hf/config.json              + generation_config.json + model.safetensors (HF naming)

An unpadded preset (unpadded=True) is a checkpoint that transformers trained or saved with
a vocab_size that is no multiple of 8: its hf/ has exactly vocab_size embedding (and head)
rows and a config.json in transformers 5's style, and logits.npy has vocab_size columns, as
transformers dumps them. The padding rows of the other formats are zeros, as a conversion
from that checkpoint writes them.

A Falcon-Mamba preset (falcon=mixer_rms_eps) is the same Mamba-1 weights run with the
norms of dt_low, B and C (mamba_ref.py): its model.bin is version 2 (architecture 3), its
hf/config.json is transformers' FalconMambaConfig, and it has no state-spaces/ folder
(no state-spaces checkpoint of it exists).

Weights follow mamba_ssm's initialisation, then are perturbed so that no term is
trivially 0 or 1 (norm weights, D, conv bias, dt bias, A_log). The logits come from
mamba_ref.py run in float64 on the float32 weights (then rounded to float32), so
they are the float32 weights' answer to ~1e-7 of the logit scale and barely
depend on the machine's float32 summation order. Everything is seeded: the output is byte-identical run to run.
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_ref  # noqa: E402

PROMPT_LEN, GREEDY_LEN = 8, 16
TRACE_TOKENS = 3      # tokens whose every intermediate goes into trace.npy
EMBED_STD = 0.02      # embedding init std, mamba_ssm's initializer_range
OUT_PROJ_GAIN = 3     # out_proj scaled up so the mixers, not the token's own embedding, pick the
                      # next token (with gain 1, tied greedy mostly repeats the last token)
PAD_ROW_SCALE = 0.1   # padded vocab rows are shrunk so they are never the argmax
DT_MIN, DT_MAX, DT_FLOOR = 1e-3, 1e-1, 1e-4

# name: sizes; dt_rank None means mamba_ssm's "auto", ceil(d_model / 16).
CASES = {
    "default":    dict(seed=1, d_model=64, n_layer=2, vocab=512, d_state=16, d_conv=4, expand=2, dt_rank=None, n_tokens=32),
    "oddvocab":   dict(seed=2, d_model=48, n_layer=3, vocab=1003, d_state=16, d_conv=4, expand=2, dt_rank=None, n_tokens=40),
    "smallstate": dict(seed=3, d_model=32, n_layer=2, vocab=256, d_state=8, d_conv=3, expand=3, dt_rank=5, n_tokens=32),
    "untied":     dict(seed=4, d_model=32, n_layer=2, vocab=300, d_state=16, d_conv=4, expand=2, dt_rank=None, n_tokens=32, tied=False),
    "long":       dict(seed=5, d_model=32, n_layer=2, vocab=256, d_state=16, d_conv=4, expand=2, dt_rank=None, n_tokens=320),
    # Falcon-Mamba: the released epsilon, an untied head, d_state 12, a padded vocabulary.
    "falcon":     dict(seed=21, d_model=36, n_layer=2, vocab=301, d_state=12, d_conv=4, expand=2, dt_rank=None, n_tokens=32, tied=False, falcon=1e-6),
    # Falcon-Mamba: three layers, dt_rank 2 (a norm of two values), d_state 5, d_conv 3,
    # expand 3, another epsilon.
    "falconodd":  dict(seed=24, d_model=20, n_layer=3, vocab=203, d_state=5, d_conv=3, expand=3, dt_rank=2, n_tokens=40, falcon=1e-5),
    # Falcon-Mamba as transformers 5 saves it with vocab_size 250 (no multiple of 8): 250
    # embedding and head rows, 250 logits per token; an untied head.
    "falconunpad": dict(seed=25, d_model=24, n_layer=2, vocab=250, d_state=8, d_conv=4, expand=2, dt_rank=None, n_tokens=32, tied=False, falcon=1e-6, unpadded=True),
}

# The keys of a preset that are not make_weights' sizes.
CASE_OPTIONS = ("seed", "n_tokens", "tied", "falcon", "unpadded")


def padded(vocab):
    return (vocab + 7) // 8 * 8


class Init:
    """Random tensors drawn from generator g, in the order asked for (make_case2.py draws
    its Mamba-2 weights with the same)."""

    def __init__(self, g):
        self.g = g

    def uniform(self, shape, bound):      # U(-bound, bound)
        return (torch.rand(shape, generator=self.g) * 2 - 1) * bound

    def randn(self, *shape):
        return torch.randn(shape, generator=self.g)

    def linear(self, out_f, in_f):        # nn.Linear's default init: U(+-1/sqrt(fan_in))
        return self.uniform((out_f, in_f), 1 / math.sqrt(in_f))

    def embedding(self, pv, vocab, d_model):
        """[pv, d_model] at mamba_ssm's std, the padded rows (vocab..pv) shrunk."""
        emb = self.randn(pv, d_model) * EMBED_STD
        emb[vocab:] *= PAD_ROW_SCALE
        return emb

    def lm_head(self, emb, vocab, tied):
        """The head: emb itself when tied (state-spaces checkpoints store the tied head
        too), else its own nn.Linear weights with the padded rows shrunk."""
        if tied:
            return emb.clone()
        head = self.linear(emb.shape[0], emb.shape[1])
        head[vocab:] *= PAD_ROW_SCALE
        return head


def make_weights(g, d_model, n_layer, vocab, d_state, d_conv, expand, dt_rank, tied=True):
    """State dict in state-spaces naming and order (float32), drawn from generator g."""
    d_inner, pv = expand * d_model, padded(vocab)
    dt_rank = dt_rank or math.ceil(d_model / 16)
    r = Init(g)
    uniform, randn, linear = r.uniform, r.randn, r.linear

    emb = r.embedding(pv, vocab, d_model)
    sd = {"backbone.embedding.weight": emb}
    for i in range(n_layer):
        p = f"backbone.layers.{i}."
        # A_log = log(1..d_state) per channel (S4D-real), + noise; D = 1 + noise.
        a_log = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1) + 0.1 * randn(d_inner, d_state)
        # dt ~ log-uniform in [dt_min, dt_max]; bias = softplus^-1(dt) = dt + log(-expm1(-dt)), + noise.
        dt = torch.exp(torch.rand(d_inner, generator=g) * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN)).clamp(min=DT_FLOOR)
        dt_bias = dt + torch.log(-torch.expm1(-dt)) + 0.2 * randn(d_inner)
        dt_std = dt_rank ** -0.5
        sd[p + "norm.weight"] = 1 + 0.1 * randn(d_model)
        sd[p + "mixer.A_log"] = a_log
        sd[p + "mixer.D"] = 1 + 0.2 * randn(d_inner)
        sd[p + "mixer.conv1d.weight"] = uniform((d_inner, 1, d_conv), 1 / math.sqrt(d_conv))
        sd[p + "mixer.conv1d.bias"] = uniform((d_inner,), 1 / math.sqrt(d_conv)) + 0.05 * randn(d_inner)
        sd[p + "mixer.in_proj.weight"] = linear(2 * d_inner, d_model)
        sd[p + "mixer.x_proj.weight"] = linear(dt_rank + 2 * d_state, d_inner)
        sd[p + "mixer.dt_proj.weight"] = uniform((d_inner, dt_rank), dt_std)
        sd[p + "mixer.dt_proj.bias"] = dt_bias
        # out_proj rescaled by 1/sqrt(n_layer) as mamba_ssm's rescale_prenorm_residual does, times the gain.
        sd[p + "mixer.out_proj.weight"] = linear(d_model, d_inner) / math.sqrt(n_layer) * OUT_PROJ_GAIN
    sd["backbone.norm_f.weight"] = 1 + 0.1 * randn(d_model)
    sd["lm_head.weight"] = r.lm_head(emb, vocab, tied)
    return {k: v.float().contiguous() for k, v in sd.items()}


def zero_padding(sd, vocab):
    """Zeroes the embedding's and the head's rows past vocab: what a checkpoint with an unpadded
    vocabulary becomes in the padded formats."""
    for k in ("backbone.embedding.weight", "lm_head.weight"):
        sd[k][vocab:] = 0


def unpad(hf, vocab):
    """transformers' tensors of an unpadded vocabulary: vocab embedding and head rows."""
    for k in ("backbone.embeddings.weight", "lm_head.weight"):
        if k in hf:
            hf[k] = hf[k][:vocab].clone()


def tag_floats(obj):
    """obj with every non-finite float written as transformers >= 5 writes it in config.json,
    {"__float__": "Infinity"} (configuration_utils.py's _encode_special_floats)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": "NaN" if math.isnan(obj) else "Infinity" if obj > 0 else "-Infinity"}
    if isinstance(obj, dict):
        return {k: tag_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [tag_floats(v) for v in obj]
    return obj


def transformers5(cfg, vocab):
    """cfg as transformers 5 saves it for a vocab_size of vocab: dtype for torch_dtype, its
    version, tagged non-finite floats."""
    cfg = dict(cfg, vocab_size=vocab, transformers_version="5.0.0")
    if "torch_dtype" in cfg:
        cfg["dtype"] = cfg.pop("torch_dtype")
    return tag_floats(cfg)


def run(model, tokens):
    """Logits [len(tokens), padded_vocab] and the greedy continuation of tokens[:PROMPT_LEN],
    with each greedy step's (top1 - top2) margin over the unpadded vocab."""
    logits = model.run(tokens)
    prompt = tokens[:PROMPT_LEN]
    gen = model.greedy(GREEDY_LEN, model.run(prompt)[-1])
    # Row i of decided holds the logits the (i+1)-th greedy token was chosen from.
    decided = model.run(prompt + gen)[PROMPT_LEN - 1: -1, : model.config.vocab_size]
    top2 = torch.topk(decided, 2, dim=1).values
    return logits, gen, (top2[:, 0] - top2[:, 1]).tolist()


def check_reference(name, c, logits, logits32, gen, gen32, margins):
    """Fails unless the case does not hinge on rounding: float32 must agree with float64,
    the padded rows must never win, and each greedy step must be won by a clear margin.
    Returns max|logit| and the float32 error relative to it."""
    scale = float(logits.abs().max())
    rel32 = float((logits32.double() - logits).abs().max()) / scale
    assert rel32 < 1e-5, f"{name}: float32 and float64 reference differ by {rel32:.2e} of max|logit|"
    assert gen32 == gen, f"{name}: float32 greedy {gen32} != float64 greedy {gen}"
    assert int(logits.argmax(1).max()) < c.vocab_size, f"{name}: a padded row is the argmax"
    assert min(margins) > 1e-4 * scale, f"{name}: greedy margin {min(margins):.2e} too small; change the seed"
    return scale, rel32


def trace(model, tokens):
    """[(pos, layer, op, float64 values)] of every op, in execution order, for tokens fed
    from an empty state (mamba_ref.Mamba.tracer, mamba2_ref.Mamba2.tracer)."""
    entries = []
    model.tracer = lambda pos, layer, op, v: entries.append((pos, layer, op, v.detach().clone()))
    try:
        model.run(tokens)
    finally:
        model.tracer = None
    return entries


# ------------------------------------------------------------------ writers

def write_trace(out, entries):
    """trace.npy: float32 [total], every entry's values one after another; trace.json: one
    {"pos", "layer", "op", "len"} per entry, in the same order (layer -1: embedding, head).
    The Go reader is common/trace.Load."""
    index = [{"pos": p, "layer": l, "op": op, "len": v.numel()} for p, l, op, v in entries]
    values = torch.cat([v.reshape(-1) for _, _, _, v in entries]).to(torch.float32).numpy()
    np.save(os.path.join(out, "trace.npy"), values)
    with open(os.path.join(out, "trace.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(e) for e in index) + "\n]\n")


def write_run(out, model64, tokens, logits, gen, cols=None):
    """tokens.json, logits.npy (float32; its first cols columns when cols is given),
    greedy.json and the trace of model64 on the first TRACE_TOKENS tokens."""
    write_json(os.path.join(out, "tokens.json"), tokens)
    np.save(os.path.join(out, "logits.npy"), logits[:, :cols].to(torch.float32).numpy())
    write_json(os.path.join(out, "greedy.json"), {"prompt": tokens[:PROMPT_LEN], "tokens": gen})
    write_trace(out, trace(model64, tokens[:TRACE_TOKENS]))


def write_json(path, obj, hf=False):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n" if hf else json.dumps(obj))


def write_safetensors(path, tensors):
    """safetensors: u64 LE header length, JSON header (names sorted, padded with spaces
    to a multiple of 8), then each tensor's raw little-endian bytes in header order."""
    header, blobs, pos = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        b = tensors[name].detach().float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def hf_config(c, tied, d_model, n_layer, vocab, d_state, d_conv, expand, dt_rank):
    """config.json as transformers' MambaConfig saves it (vocab_size is the padded size)."""
    return {
        "architectures": ["MambaForCausalLM"], "bos_token_id": 0, "conv_kernel": d_conv,
        "dtype": "float32", "eos_token_id": 0, "expand": expand, "hidden_act": "silu",
        "hidden_size": d_model, "initializer_range": EMBED_STD, "intermediate_size": c.d_inner,
        "layer_norm_epsilon": 1e-05, "model_type": "mamba", "num_hidden_layers": n_layer,
        "pad_token_id": 0, "rescale_prenorm_residual": True, "residual_in_fp32": True,
        "state_size": d_state, "tie_word_embeddings": tied, "time_step_floor": DT_FLOOR,
        "time_step_init_scheme": "random", "time_step_max": DT_MAX, "time_step_min": DT_MIN,
        "time_step_rank": c.dt_rank, "time_step_scale": 1.0, "use_associative_scan": True,
        "use_bias": False, "use_cache": True, "use_conv_bias": True, "use_mambapy": False,
        "vocab_size": c.padded_vocab,
    }


def falcon_config(c, tied, eps, **sizes):
    """config.json as transformers' FalconMambaConfig saves it: MambaConfig's keys, the
    architecture's names and mixer_rms_eps."""
    cfg = hf_config(c, tied, **sizes)
    cfg.update({"architectures": ["FalconMambaForCausalLM"], "model_type": "falcon_mamba",
                "mixer_rms_eps": eps, "use_falcon_mambapy": False})
    return cfg


def state_spaces_config(tied, d_model, n_layer, vocab, d_state, d_conv, expand, dt_rank):
    """config.json as the state-spaces checkpoints have it (mamba_ssm's MambaConfig)."""
    ssm = {"d_state": d_state, "d_conv": d_conv, "expand": expand}
    if dt_rank:
        ssm["dt_rank"] = dt_rank
    cfg = {"d_model": d_model, "n_layer": n_layer, "vocab_size": vocab, "ssm_cfg": ssm,
           "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8}
    if not tied:
        cfg["tie_embeddings"] = False
    return cfg


def make_case(name, out):
    spec = CASES[name]
    tied = spec.get("tied", True)
    eps = spec.get("falcon")  # Falcon-Mamba's mixer_rms_eps; None: Mamba-1
    unpadded = spec.get("unpadded", False)
    sizes = {k: v for k, v in spec.items() if k not in CASE_OPTIONS}
    g = torch.Generator().manual_seed(spec["seed"])
    sd = make_weights(g, tied=tied, **sizes)
    if unpadded:
        zero_padding(sd, spec["vocab"])
    tokens = torch.randint(0, spec["vocab"], (spec["n_tokens"],), generator=g).tolist()

    model32 = mamba_ref.from_state_dict(sd, spec["vocab"], tied=tied, mixer_eps=eps)
    model64 = mamba_ref.from_state_dict(sd, spec["vocab"], tied=tied, dtype=torch.float64, mixer_eps=eps)
    c = model32.config
    logits, gen, margins = run(model64, tokens)
    logits32, gen32, _ = run(model32, tokens)

    scale, rel32 = check_reference(name, c, logits, logits32, gen, gen32, margins)

    os.makedirs(os.path.join(out, "hf"), exist_ok=True)
    mamba_ref.write_model_bin(os.path.join(out, "model.bin"), model32)
    write_run(out, model64, tokens, logits, gen, cols=spec["vocab"] if unpadded else None)

    if eps is None:
        os.makedirs(os.path.join(out, "state-spaces"), exist_ok=True)
        write_json(os.path.join(out, "state-spaces", "config.json"), state_spaces_config(tied, **sizes))
        torch.save(sd, os.path.join(out, "state-spaces", "pytorch_model.bin"))

    hf = {k.replace("backbone.embedding.", "backbone.embeddings."): v for k, v in sd.items()}
    if tied:
        del hf["lm_head.weight"]  # save_pretrained leaves the tied head out
    if unpadded:
        unpad(hf, spec["vocab"])
    write_safetensors(os.path.join(out, "hf", "model.safetensors"), hf)
    cfg = hf_config(c, tied, **sizes) if eps is None else falcon_config(c, tied, eps, **sizes)
    if unpadded:
        cfg = transformers5(cfg, spec["vocab"])
    write_json(os.path.join(out, "hf", "config.json"), cfg, hf=True)
    write_json(os.path.join(out, "hf", "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": 0, "eos_token_id": 0, "output_attentions": False,
                "output_hidden_states": False, "pad_token_id": 0, "use_cache": True}, hf=True)

    print(f"{name}: {c}; {len(tokens)} tokens, max|logit| {scale:.3f}, float32 vs float64 {rel32:.1e} "
          f"of it, min greedy margin {min(margins) / scale:.1e} of it, greedy {gen}")


def main(doc, cases, make):
    """NAME OUTDIR: make(NAME, OUTDIR) for a preset of cases; --list: the presets; else
    doc's usage paragraph."""
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print(" ".join(cases))
        return 0
    if len(sys.argv) != 3 or sys.argv[1] not in cases:
        print(doc.strip().split("\n\n")[1], file=sys.stderr)
        print("cases:", " ".join(cases), file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    make(sys.argv[1], sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(__doc__, CASES, make_case))
