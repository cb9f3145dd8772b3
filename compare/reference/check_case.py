"""Checks case folders (the layout make_case.py writes) against mamba_ref.py.

    /usr/bin/python3 compare/reference/check_case.py CASE_DIR...

For each case, the weights are loaded from every form present (model.bin,
state-spaces/pytorch_model.bin, hf/model.safetensors); tokens.json is fed one
at a time from an empty state and the logits are compared with logits.npy
(max |error| relative to the case's largest |logit|); the greedy continuation
of greedy.json's prompt must equal its tokens. Exits 1 on any mismatch.
"""

import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_ref  # noqa: E402

TOLERANCE = 1e-6  # max |error| / max |logit|; float32 agrees to ~1e-7


def read_safetensors(path):
    """{name: tensor} from a safetensors file (F32 only, which is all these cases hold)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, only F32 is read here")
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").astype(np.float32)).reshape(info["shape"])
    return out


def pad_rows(sd, rows):
    """Pads an unpadded vocabulary's embedding and head (transformers' vocab_size rows) with
    zero rows to rows."""
    for k in ("backbone.embedding.weight", "lm_head.weight"):
        if k in sd and sd[k].shape[0] < rows:
            sd[k] = torch.cat([sd[k], sd[k].new_zeros(rows - sd[k].shape[0], sd[k].shape[1])])


def load_forms(case):
    """[(form name, Mamba)] for each weight form present in the case folder."""
    forms, vocab = [], None
    if os.path.isfile(os.path.join(case, "model.bin")):
        m = mamba_ref.load_model_bin(os.path.join(case, "model.bin"))
        forms.append(("model.bin", m))
        vocab = m.config.vocab_size
    ss = os.path.join(case, "state-spaces")
    if os.path.isfile(os.path.join(ss, "pytorch_model.bin")):
        cfg = json.load(open(os.path.join(ss, "config.json")))
        sd = torch.load(os.path.join(ss, "pytorch_model.bin"), map_location="cpu")
        forms.append(("state-spaces", mamba_ref.from_state_dict(sd, cfg["vocab_size"], tied=cfg.get("tie_embeddings", True))))
        vocab = cfg["vocab_size"]
    hf = os.path.join(case, "hf")
    if os.path.isfile(os.path.join(hf, "model.safetensors")) and vocab is not None:
        # HF's vocab_size is the padded one or the vocabulary itself (then its embedding has
        # that many rows); the unpadded size comes from the other forms.
        cfg = json.load(open(os.path.join(hf, "config.json")))
        sd = {k.replace("backbone.embeddings.", "backbone.embedding."): v
              for k, v in read_safetensors(os.path.join(hf, "model.safetensors")).items()}
        eps = cfg.get("mixer_rms_eps", 1e-6) if cfg.get("model_type") == "falcon_mamba" else None
        pad_rows(sd, (vocab + mamba_ref.VOCAB_MULTIPLE - 1) // mamba_ref.VOCAB_MULTIPLE * mamba_ref.VOCAB_MULTIPLE)
        forms.append(("hf", mamba_ref.from_state_dict(sd, vocab, tied=cfg["tie_word_embeddings"], mixer_eps=eps)))
    return forms


def check_form(label, model, tokens, want, greedy):
    got = model.run(tokens).numpy()[:, :want.shape[1]]  # logits.npy may leave out the padding's columns
    gen = model.greedy(len(greedy["tokens"]), model.run(greedy["prompt"])[-1])
    if got.shape != want.shape:
        print(f"FAIL {label}: logits shape {got.shape}, want {want.shape}")
        return False
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max())
    v = model.config.vocab_size
    same_argmax = bool((got[:, :v].argmax(1) == want[:, :v].argmax(1)).all())
    ok = err <= TOLERANCE * scale and same_argmax and gen == greedy["tokens"]
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {len(tokens)} tokens, max|logit| {scale:.3f}, "
          f"max abs err {err:.3e}, relative {err / scale:.2e}, per-step argmax {'same' if same_argmax else 'DIFFERS'}, "
          f"greedy {'matches' if gen == greedy['tokens'] else 'DIFFERS: ' + str(gen)}")
    return ok


def check_case(case, name=None):
    name = name or os.path.basename(os.path.normpath(case))
    tokens = json.load(open(os.path.join(case, "tokens.json")))
    greedy = json.load(open(os.path.join(case, "greedy.json")))
    want = np.load(os.path.join(case, "logits.npy"))
    forms = load_forms(case)
    if not forms:
        print(f"FAIL {name}: no weights found")
        return False
    ok = True
    for form, model in forms:
        ok &= check_form(f"{name}/{form}", model, tokens, want, greedy)
    return ok


def main(dirs):
    torch.set_num_threads(1)
    ok = True
    for d in dirs:
        ok &= check_case(d)
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
