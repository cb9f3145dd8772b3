#!/usr/bin/python3
"""Write testdata/torch-views: a tiny Mamba checkpoint saved by real torch.save,
with what the Go-written test checkpoints lack: mixed dtypes (BF16, F16, F32),
tensors that are views into a shared storage at an offset, and a tied lm_head
sharing the embedding's storage; beside it the same values as F32 safetensors
(HF names) for the loader to agree with.

usage: /usr/bin/python3 make_torch_fixture.py   (from this folder; Debian's python3-torch)
"""
import json
import os
import struct

import torch

torch.manual_seed(0)
d, L, V, n, k = 8, 1, 13, 4, 4
di, r, pv = 2 * d, 1, 16
out = "torch-views"
g = lambda *s: torch.rand(*s) * 2 - 1

emb = g(pv, d).to(torch.bfloat16)
joined = g(3 + 2 * di)  # D and dt_proj.bias are views into this storage
sd = {
    "backbone.embedding.weight": emb,
    "backbone.layers.0.norm.weight": (g(d) + 1.5).to(torch.float16),
    "backbone.layers.0.mixer.A_log": torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(di, 1) + 0.01 * g(di, n),
    "backbone.layers.0.mixer.D": joined[3:3 + di],
    "backbone.layers.0.mixer.conv1d.weight": g(di, 1, k).to(torch.bfloat16),
    "backbone.layers.0.mixer.conv1d.bias": g(di),
    "backbone.layers.0.mixer.in_proj.weight": g(2 * di, d).to(torch.float16),
    "backbone.layers.0.mixer.x_proj.weight": g(r + 2 * n, di),
    "backbone.layers.0.mixer.dt_proj.weight": g(di, r),
    "backbone.layers.0.mixer.dt_proj.bias": joined[3 + di:],
    "backbone.layers.0.mixer.out_proj.weight": g(d, di).to(torch.bfloat16),
    "backbone.norm_f.weight": g(d) + 1.5,
    "lm_head.weight": emb,
}
assert sd["backbone.layers.0.mixer.dt_proj.bias"].storage_offset() == 3 + di

os.makedirs(out + "/state-spaces", exist_ok=True)
with open(out + "/state-spaces/config.json", "w") as fp:
    json.dump({"d_model": d, "n_layer": L, "vocab_size": V, "ssm_cfg": {"d_state": n, "d_conv": k, "expand": 2, "dt_rank": "auto"},
               "rms_norm": True, "pad_vocab_size_multiple": 8}, fp)
torch.save(sd, out + "/state-spaces/pytorch_model.bin")

os.makedirs(out + "/hf", exist_ok=True)
with open(out + "/hf/config.json", "w") as fp:
    json.dump({"model_type": "mamba", "hidden_size": d, "num_hidden_layers": L, "vocab_size": pv, "state_size": n,
               "conv_kernel": k, "expand": 2, "time_step_rank": "auto", "use_bias": False, "use_conv_bias": True,
               "tie_word_embeddings": True}, fp)
header, blobs, off = {}, [], 0
for key, v in sd.items():
    if key == "lm_head.weight":
        continue
    b = v.float().contiguous().numpy().tobytes()
    header[key.replace("embedding.", "embeddings.")] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
with open(out + "/hf/model.safetensors", "wb") as fp:
    fp.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
