"""Makes a random tiny Mamba-2 model and writes a test case folder.

    /usr/bin/python3 compare/reference/make_case2.py NAME OUTDIR     # one preset case
    /usr/bin/python3 compare/reference/make_case2.py --list          # the presets

The folder has make_case.py's layout, trace.json and trace.npy included (every op of
Mamba-2's step, common/model/ops2.go, for the first 3 tokens, from the float64
reference, written by make_case.write_trace; model.bin is version 2, which names the
architecture; state-spaces/config.json has ssm_cfg {"layer": "Mamba2", ...};
hf/config.json is transformers' Mamba2Config, model_type "mamba2"). An unpadded preset
is make_case.py's: transformers' vocab_size rows in hf/, its config.json as transformers 5
writes it, vocab_size logits per token in logits.npy, zero padding rows elsewhere.

Weights follow mamba_ssm's Mamba2 initialisation (A in [1, 16], dt log-uniform in
[1e-3, 1e-1]), perturbed so that no term is trivially 0 or 1. The logits come from
mamba2_ref.py's recurrent step in float64 on the float32 weights (then rounded to
float32); the same model in SSD form (mamba2_ref.forward_ssd, the whole sequence at
once) must agree with them, which checks the recurrence against the paper's other
form of the same model. Everything is seeded: the output is byte-identical run to run.
"""

import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba2_ref  # noqa: E402
from make_case import (DT_FLOOR, DT_MAX, DT_MIN, OUT_PROJ_GAIN, Init, check_reference, main, run,  # noqa: E402
                       transformers5, unpad, write_json, write_run, write_safetensors, zero_padding)

INF = float("inf")

# name: sizes. pad is state-spaces' pad_vocab_size_multiple (16 in the released Mamba-2
# configs): the state-spaces checkpoint has the vocabulary padded to it, the HF one and
# model.bin to a multiple of 8.
CASES = {
    # Several heads, one group.
    "m2default": dict(seed=11, d_model=64, n_layer=2, vocab=512, d_state=16, d_conv=4, expand=2, headdim=16,
                      ngroups=1, n_tokens=32),
    # Two groups, d_state 12 and head_dim 12 (neither a multiple of 8 nor a power of two),
    # an untied head, a vocabulary whose 16-padding (512) is wider than its 8-padding (504).
    "m2groups": dict(seed=12, d_model=48, n_layer=2, vocab=500, d_state=12, d_conv=4, expand=2, headdim=12,
                     ngroups=2, n_tokens=40, tied=False),
    # Three groups of four heads of 10 channels, d_state 10, d_conv 3, RMSNorm before the
    # gate, and a time_step_limit that clamps Δ on both sides.
    "m2odd": dict(seed=13, d_model=40, n_layer=3, vocab=300, d_state=10, d_conv=3, expand=3, headdim=10,
                  ngroups=3, n_tokens=40, norm_before_gate=True, dt_limit=(0.002, 0.08)),
    # As transformers 5 saves a Mamba2ForCausalLM with vocab_size 250 (no multiple of 8):
    # 250 embedding rows and logits per token, time_step_limit [0.0, {"__float__": "Infinity"}],
    # and, as some published conversions, no architectures key (make_case.py's unpadded).
    "m2unpad": dict(seed=14, d_model=32, n_layer=2, vocab=250, d_state=16, d_conv=4, expand=2, headdim=16,
                    ngroups=1, n_tokens=32, unpadded=True),
}


def padded(vocab, multiple):
    return (vocab + multiple - 1) // multiple * multiple


def make_weights(g, d_model, n_layer, vocab, d_state, d_conv, expand, headdim, ngroups, pad, tied=True):
    """State dict in state-spaces naming (float32), the vocabulary padded to pad."""
    d_inner = expand * d_model
    nheads = d_inner // headdim
    conv_dim = d_inner + 2 * ngroups * d_state
    pv = padded(vocab, pad)
    r = Init(g)
    uniform, randn, linear = r.uniform, r.randn, r.linear

    emb = r.embedding(pv, vocab, d_model)
    sd = {"backbone.embedding.weight": emb}
    for i in range(n_layer):
        p = f"backbone.layers.{i}."
        a = torch.rand(nheads, generator=g) * 15 + 1                     # A_init_range (1, 16)
        dt = torch.exp(torch.rand(nheads, generator=g) * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN)).clamp(min=DT_FLOOR)
        sd[p + "norm.weight"] = 1 + 0.1 * randn(d_model)
        sd[p + "mixer.in_proj.weight"] = linear(2 * d_inner + 2 * ngroups * d_state + nheads, d_model)
        sd[p + "mixer.conv1d.weight"] = uniform((conv_dim, 1, d_conv), 1 / math.sqrt(d_conv))
        sd[p + "mixer.conv1d.bias"] = uniform((conv_dim,), 1 / math.sqrt(d_conv)) + 0.05 * randn(conv_dim)
        sd[p + "mixer.dt_bias"] = dt + torch.log(-torch.expm1(-dt)) + 0.2 * randn(nheads)
        sd[p + "mixer.A_log"] = torch.log(a)
        sd[p + "mixer.D"] = 1 + 0.2 * randn(nheads)
        sd[p + "mixer.norm.weight"] = 1 + 0.1 * randn(d_inner)
        sd[p + "mixer.out_proj.weight"] = linear(d_model, d_inner) / math.sqrt(n_layer) * OUT_PROJ_GAIN
    sd["backbone.norm_f.weight"] = 1 + 0.1 * randn(d_model)
    sd["lm_head.weight"] = r.lm_head(emb, vocab, tied)
    return {k: v.float().contiguous() for k, v in sd.items()}


def state_spaces_config(spec, tied):
    """config.json as the state-spaces/mamba2-* checkpoints have it."""
    ssm = {"layer": "Mamba2", "d_state": spec["d_state"], "d_conv": spec["d_conv"], "expand": spec["expand"],
           "headdim": spec["headdim"], "ngroups": spec["ngroups"]}
    if spec.get("norm_before_gate"):
        ssm["norm_before_gate"] = True
    if "dt_limit" in spec:
        ssm["dt_limit"] = list(spec["dt_limit"])
    return {"d_model": spec["d_model"], "d_intermediate": 0, "n_layer": spec["n_layer"], "vocab_size": spec["vocab"],
            "ssm_cfg": ssm, "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
            "fused_add_norm": True, "pad_vocab_size_multiple": 16, "tie_embeddings": tied}


def hf_config(c, spec, tied):
    """config.json as transformers' Mamba2Config saves it (vocab_size already padded).
    json writes the unlimited time_step_limit as [0.0, Infinity], as transformers does."""
    cfg = {
        "architectures": ["Mamba2ForCausalLM"], "bos_token_id": 0, "chunk_size": 256, "conv_kernel": c.d_conv,
        "eos_token_id": 0, "expand": spec["expand"], "head_dim": c.headdim, "hidden_act": "silu",
        "hidden_size": c.d_model, "initializer_range": 0.1, "layer_norm_epsilon": 1e-05, "model_type": "mamba2",
        "n_groups": c.ngroups, "num_heads": c.nheads, "num_hidden_layers": c.n_layers, "pad_token_id": 0,
        "rescale_prenorm_residual": False, "residual_in_fp32": True, "rms_norm": True, "state_size": c.d_state,
        "tie_word_embeddings": tied, "time_step_floor": DT_FLOOR, "time_step_limit": list(c.dt_limit),
        "time_step_max": DT_MAX, "time_step_min": DT_MIN, "time_step_rank": math.ceil(c.d_model / 16),
        "torch_dtype": "float32", "transformers_version": "4.44.0", "use_bias": False, "use_cache": True,
        "use_conv_bias": True, "vocab_size": c.padded_vocab,
    }
    if c.norm_before_gate:
        cfg["norm_before_gate"] = True
    return cfg


def make_case(name, out):
    spec = CASES[name]
    tied = spec.get("tied", True)
    g = torch.Generator().manual_seed(spec["seed"])
    sizes = {k: spec[k] for k in ("d_model", "n_layer", "vocab", "d_state", "d_conv", "expand", "headdim", "ngroups")}
    sd = make_weights(g, pad=16, tied=tied, **sizes)
    unpadded = spec.get("unpadded", False)
    if unpadded:
        zero_padding(sd, spec["vocab"])
    tokens = torch.randint(0, spec["vocab"], (spec["n_tokens"],), generator=g).tolist()

    opts = dict(headdim=spec["headdim"], ngroups=spec["ngroups"], tied=tied,
                norm_before_gate=spec.get("norm_before_gate", False), dt_limit=spec.get("dt_limit", (0.0, INF)))
    model32 = mamba2_ref.from_state_dict(sd, spec["vocab"], **opts)
    model64 = mamba2_ref.from_state_dict(sd, spec["vocab"], dtype=torch.float64, **opts)
    c = model32.config
    logits, gen, margins = run(model64, tokens)
    logits32, gen32, _ = run(model32, tokens)
    ssd = mamba2_ref.forward_ssd(model64, tokens)

    scale = float(logits.abs().max())
    relssd = float((ssd - logits).abs().max()) / scale
    assert relssd < 1e-10, f"{name}: recurrent and SSD forms differ by {relssd:.2e} of max|logit|"
    scale, rel32 = check_reference(name, c, logits, logits32, gen, gen32, margins)
    if "dt_limit" in spec:  # the clamp must bite on both sides, or the case tests nothing
        w = model64.layers[0]
        raw = torch.nn.functional.softplus(w["dt_bias"])
        assert (raw < c.dt_limit[0]).any() or (raw > c.dt_limit[1]).any(), f"{name}: time_step_limit clamps nothing"

    os.makedirs(os.path.join(out, "state-spaces"), exist_ok=True)
    os.makedirs(os.path.join(out, "hf"), exist_ok=True)
    mamba2_ref.write_model_bin(os.path.join(out, "model.bin"), model32)
    write_run(out, model64, tokens, logits, gen, cols=spec["vocab"] if unpadded else None)

    write_json(os.path.join(out, "state-spaces", "config.json"), state_spaces_config(spec, tied))
    torch.save(sd, os.path.join(out, "state-spaces", "pytorch_model.bin"))

    # transformers' checkpoint: the vocabulary padded to 8 (its vocab_size), embeddings renamed.
    pv = c.padded_vocab
    hf = {k.replace("backbone.embedding.", "backbone.embeddings."): v for k, v in sd.items()}
    hf["backbone.embeddings.weight"] = hf["backbone.embeddings.weight"][:pv].clone()
    if tied:
        del hf["lm_head.weight"]
    else:
        hf["lm_head.weight"] = hf["lm_head.weight"][:pv].clone()
    cfg = hf_config(c, spec, tied)
    if unpadded:
        unpad(hf, spec["vocab"])
        cfg = transformers5(cfg, spec["vocab"])
        del cfg["architectures"]
    write_safetensors(os.path.join(out, "hf", "model.safetensors"), hf)
    write_json(os.path.join(out, "hf", "config.json"), cfg, hf=True)

    print(f"{name}: {c}; {len(tokens)} tokens, max|logit| {scale:.3f}, float32 vs float64 {rel32:.1e}, "
          f"SSD vs recurrent {relssd:.1e} of it, min greedy margin {min(margins) / scale:.1e} of it, greedy {gen}")


if __name__ == "__main__":
    sys.exit(main(__doc__, CASES, make_case))
