#!/usr/bin/python3
"""Turn a mamba.c model.bin into checkpoint folders, for measuring `mamba export`.

usage: /usr/bin/python3 modelbin2ckpt.py MODEL.bin OUTDIR [--dtype float32|float16|bfloat16]

Writes OUTDIR/state-spaces/ (config.json + pytorch_model.bin, torch.save of a
state dict with state-spaces names and a tied lm_head sharing the embedding's
storage) and OUTDIR/hf/ (config.json + model.safetensors, HF names, no
lm_head), with A_log = log(-A). Needs torch and numpy (Debian's python3-torch).
"""
import json
import os
import struct
import sys

import numpy as np
import torch


def main():
    src, out = sys.argv[1], sys.argv[2]
    dtype = getattr(torch, sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--dtype" else torch.float32
    raw = np.memmap(src, dtype=np.uint8, mode="r")
    magic, version, L, V, d, di, r, n, k, shared = struct.unpack("<Iiiiiiiiii", raw[:40].tobytes())
    assert magic == 0x4D616D62 and version == 1, "not a model.bin"
    pv = (V + 7) // 8 * 8
    f = np.frombuffer(raw, dtype=np.float32, offset=256)
    pos = 0

    def take(*shape):
        nonlocal pos
        cnt = int(np.prod(shape))
        a = torch.from_numpy(np.array(f[pos:pos + cnt]).reshape(shape))
        pos += cnt
        return a

    sd = {"backbone.embedding.weight": take(pv, d)}
    kinds = [("mixer.in_proj.weight", (2 * di, d)), ("mixer.conv1d.weight", (di, 1, k)), ("mixer.conv1d.bias", (di,)),
             ("mixer.x_proj.weight", (r + 2 * n, di)), ("mixer.dt_proj.weight", (di, r)), ("mixer.dt_proj.bias", (di,)),
             ("mixer.A_log", (di, n)), ("mixer.D", (di,)), ("mixer.out_proj.weight", (d, di)), ("norm.weight", (d,))]
    for name, shape in kinds:
        for i in range(L):
            t = take(*shape)
            if name == "mixer.A_log":
                t = torch.log(-t)
            sd[f"backbone.layers.{i}.{name}"] = t
    sd["backbone.norm_f.weight"] = take(d)
    sd = {key: v.to(dtype).contiguous() for key, v in sd.items()}
    sd["lm_head.weight"] = sd["backbone.embedding.weight"] if shared else take(pv, d).to(dtype)

    ss = os.path.join(out, "state-spaces")
    os.makedirs(ss, exist_ok=True)
    with open(os.path.join(ss, "config.json"), "w") as fp:
        json.dump({"d_model": d, "n_layer": L, "vocab_size": V, "ssm_cfg": {"d_state": n, "d_conv": k, "expand": di // d},
                   "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8,
                   "tie_embeddings": bool(shared)}, fp)
    torch.save(sd, os.path.join(ss, "pytorch_model.bin"))

    hf = os.path.join(out, "hf")
    os.makedirs(hf, exist_ok=True)
    with open(os.path.join(hf, "config.json"), "w") as fp:
        json.dump({"architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": d, "num_hidden_layers": L,
                   "vocab_size": pv, "state_size": n, "conv_kernel": k, "expand": di // d, "intermediate_size": di,
                   "time_step_rank": r, "use_bias": False, "use_conv_bias": True, "tie_word_embeddings": bool(shared)}, fp)
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    tensors = [(key.replace("backbone.embedding.", "backbone.embeddings."), v) for key, v in sd.items()
               if not (shared and key == "lm_head.weight")]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for key, v in tensors:
        nbytes = v.numel() * v.element_size()
        header[key] = {"dtype": names[dtype], "shape": list(v.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(hf, "model.safetensors"), "wb") as fp:
        fp.write(struct.pack("<Q", len(h)))
        fp.write(h)
        for _, v in tensors:
            fp.write(v.view(torch.int16).numpy().tobytes() if v.element_size() == 2 else v.numpy().tobytes())


if __name__ == "__main__":
    main()
