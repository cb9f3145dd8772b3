"""Plain PyTorch reference for Mamba-2 language models in recurrent mode.

Written from the Mamba-2 paper (Dao & Gu 2024, "Transformers are SSMs") and the
recurrent step of mamba_ssm's Mamba2 (Mamba2.step with RMSNormGated), one token
at a time from an empty state, in float32 by default. Only torch and numpy are
needed. Beside mamba_ref.py (Mamba-1), with the same blocks and head:

    for each layer:   h = h + Mixer2(RMSNorm(h) * norm_w)
    logits = lm_head(RMSNorm(h) * norm_f_w)                         [padded_vocab]

Mixer step (per layer state: conv_state [conv_dim, d_conv], ssm_state [nheads, headdim, d_state];
conv_dim = d_inner + 2*ngroups*d_state, d_inner = nheads*headdim):

    z, xBC, dt = split(in_proj @ u, [d_inner, conv_dim, nheads])
    conv_state = roll conv_state left by one column, last column = xBC
    xBC       = silu(sum_k conv_state[:, k] * conv_w[:, k] + conv_b)
    x, B, C   = split(xBC, [d_inner, ngroups*d_state, ngroups*d_state])
    dt        = clamp(softplus(dt + dt_bias), *time_step_limit)      [nheads]
    dA        = exp(dt * A)                    A = -exp(A_log)       [nheads]
    head h uses group g = h // (nheads // ngroups) of B and C:
    ssm_state[h] = ssm_state[h] * dA[h] + dt[h] * x[h][:, None] * B[g][None, :]
    y[h]      = ssm_state[h] @ C[g] + D[h] * x[h]                   [headdim]
    y         = RMSNormGated(y, z)                                   [d_inner]
    out       = out_proj @ y                                          [d_model]

RMSNormGated (norm_before_gate False, as every released model): y * silu(z), then
RMSNorm within each of ngroups groups of d_inner // ngroups channels, times its
weight; with norm_before_gate True the gate comes after the norm. The groups are
mamba_ssm's (group_size = d_inner // ngroups); transformers' torch path normalises
over all of d_inner at once, which differs when ngroups > 1.

The step is grouped under Mamba-2's phase headings (in_proj_conv, dt_scan_gate, out_proj,
head; common/model/ops2.go) and each op's result is reported under its op name (embedding,
norm, in_proj, conv, silu, dt_bias, softplus, dt_limit, scan, skip_d, gate, group_norm,
out_proj, residual, norm_f, lm_head; with norm_before_gate, gate after group_norm) to
Mamba2.tracer when one is set, as learning reports them to a model.Tracer: make_case2.py
writes these as the case's trace.

Weights come from model.bin version 2 (load_model_bin) or from a state dict in
state-spaces / transformers naming (from_state_dict).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mamba_ref import (MODEL_BIN_HEADER, MODEL_BIN_MAGIC, MODEL_BIN_VERSION2, RMS_EPS, VOCAB_MULTIPLE, Mamba,
                       read_tensors, rms_norm, write_tensors)

ARCH_MAMBA2 = 2

# Per-layer tensors in the order model.bin version 2 stores them.
LAYER_KINDS = ["in_proj", "conv_w", "conv_b", "dt_bias", "A", "D", "gated_norm", "out_proj", "norm"]


@dataclass
class Config:
    n_layers: int
    vocab_size: int  # unpadded
    d_model: int
    d_inner: int
    d_state: int
    d_conv: int
    nheads: int
    headdim: int
    ngroups: int = 1
    tied: bool = True
    norm_before_gate: bool = False
    dt_limit: tuple = (0.0, float("inf"))

    @property
    def padded_vocab(self):
        return (self.vocab_size + VOCAB_MULTIPLE - 1) // VOCAB_MULTIPLE * VOCAB_MULTIPLE

    @property
    def conv_dim(self):
        return self.d_inner + 2 * self.ngroups * self.d_state

    @property
    def d_in_proj(self):
        return 2 * self.d_inner + 2 * self.ngroups * self.d_state + self.nheads

    def layer_shapes(self):
        di, d, h = self.d_inner, self.d_model, self.nheads
        return {
            "in_proj": (self.d_in_proj, d), "conv_w": (self.conv_dim, self.d_conv), "conv_b": (self.conv_dim,),
            "dt_bias": (h,), "A": (h,), "D": (h,), "gated_norm": (di,), "out_proj": (d, di), "norm": (d,),
        }


def rms_norm_gated(y, z, w, ngroups, norm_before_gate, trace=None):
    """mamba_ssm's RMSNormGated with group_size = len(y) // ngroups; trace(op, values), if
    given, gets the gate's and group_norm's results."""
    trace = trace or (lambda op, values: None)
    if not norm_before_gate:
        y = y * F.silu(z)
        trace("gate", y)
    g = y.view(ngroups, -1)
    y = (g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + RMS_EPS)).view(-1) * w
    trace("group_norm", y)
    if norm_before_gate:
        y = y * F.silu(z)
        trace("gate", y)
    return y


class Mamba2(Mamba):
    """A Mamba-2 LM with one sequence of recurrent state; layers: dicts keyed by LAYER_KINDS.

    The blocks, the head, the tracer and step/run/greedy are Mamba's (mamba_ref.py): only
    the state (reset) and the mixer (mixer_step) are Mamba-2's own.
    """

    def reset(self):
        """Empty state: every conv_state and ssm_state is zero; positions count from 0 again."""
        c = self.config
        self.pos = 0  # tokens fed since the last reset, for the tracer
        self.conv_state = [torch.zeros(c.conv_dim, c.d_conv, dtype=self.dtype) for _ in range(c.n_layers)]
        self.ssm_state = [torch.zeros(c.nheads, c.headdim, c.d_state, dtype=self.dtype) for _ in range(c.n_layers)]

    def mixer_step(self, i, u):
        """One recurrent step of layer i's mixer on u [d_model]; updates its state."""
        w, c = self.layers[i], self.config
        conv_state, ssm_state = self.conv_state[i], self.ssm_state[i]
        gn = c.ngroups * c.d_state

        # -- in_proj_conv: norm (in step), in_proj, conv, silu
        zxbcdt = F.linear(u, w["in_proj"])                               # [d_in_proj]
        self.trace(i, "in_proj", zxbcdt)
        z, xBC, dt = torch.split(zxbcdt, [c.d_inner, c.conv_dim, c.nheads])
        conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))
        conv_state[:, -1] = xBC
        xBC = (conv_state * w["conv_w"]).sum(-1) + w["conv_b"]           # [conv_dim]
        self.trace(i, "conv", xBC)
        xBC = F.silu(xBC)
        self.trace(i, "silu", xBC)
        x, B, C = torch.split(xBC, [c.d_inner, gn, gn])

        # -- dt_scan_gate: dt_bias, softplus, dt_limit, scan, skip_d, gate
        dt = dt + w["dt_bias"]                                           # [nheads]
        self.trace(i, "dt_bias", dt)
        dt = F.softplus(dt)
        self.trace(i, "softplus", dt)
        dt = dt.clamp(c.dt_limit[0], c.dt_limit[1])
        self.trace(i, "dt_limit", dt)
        dA = torch.exp(dt * w["A"])                                      # [nheads]
        x = x.view(c.nheads, c.headdim)                                  # [nheads, headdim]
        group = torch.arange(c.nheads) // (c.nheads // c.ngroups)
        B = B.view(c.ngroups, c.d_state)[group]                          # [nheads, d_state]
        C = C.view(c.ngroups, c.d_state)[group]
        dB = dt[:, None] * B                                             # [nheads, d_state]
        ssm_state.copy_(ssm_state * dA[:, None, None] + dB[:, None, :] * x[:, :, None])
        y = (ssm_state * C[:, None, :]).sum(-1)                          # [nheads, headdim]
        self.trace(i, "scan", y.reshape(-1))
        y = y + w["D"][:, None] * x
        self.trace(i, "skip_d", y.reshape(-1))

        # -- dt_scan_gate's gate, then out_proj: group_norm, out_proj (residual in step);
        #    with norm_before_gate, out_proj: group_norm, gate, out_proj
        y = rms_norm_gated(y.reshape(-1), z, w["gated_norm"], c.ngroups, c.norm_before_gate,
                           lambda op, values: self.trace(i, op, values))
        out = F.linear(y, w["out_proj"])                                 # [d_model]
        self.trace(i, "out_proj", out)
        return out


# ---------------------------------------------------------------- model.bin

def load_model_bin(path, dtype=torch.float32):
    """Reads model.bin version 2 (Mamba-2)."""
    h = np.fromfile(path, dtype="<u4", count=MODEL_BIN_HEADER // 4)
    if len(h) < 16 or h[0] != MODEL_BIN_MAGIC or h[1] != MODEL_BIN_VERSION2 or h[2] != ARCH_MAMBA2:
        raise ValueError(f"{path}: not a Mamba-2 model.bin (version 2, architecture 2)")
    n_layers, vocab, dim, d_inner, d_state, d_conv, shared, nheads, headdim, ngroups, nbg = (int(v) for v in h[3:14])
    lo, hi = (float(v) for v in h[14:16].view("<f4"))
    c = Config(n_layers, vocab, dim, d_inner, d_state, d_conv, nheads, headdim, ngroups, tied=shared == 1,
               norm_before_gate=nbg == 1, dt_limit=(lo, hi))
    return Mamba2(c, *read_tensors(path, c, LAYER_KINDS), dtype=dtype)


def write_model_bin(path, model):
    """Writes model (float32) as model.bin version 2."""
    c = model.config
    header = np.zeros(MODEL_BIN_HEADER // 4, dtype="<u4")
    header[:14] = [MODEL_BIN_MAGIC, MODEL_BIN_VERSION2, ARCH_MAMBA2, c.n_layers, c.vocab_size, c.d_model,
                   c.d_inner, c.d_state, c.d_conv, 1 if c.tied else 0, c.nheads, c.headdim, c.ngroups,
                   1 if c.norm_before_gate else 0]
    header[14:16] = np.array(c.dt_limit, dtype="<f4").view("<u4")
    write_tensors(path, header, model, LAYER_KINDS)


# ------------------------------------------------------- checkpoint naming

def from_state_dict(sd, vocab_size, headdim, ngroups=1, tied=True, norm_before_gate=False,
                    dt_limit=(0.0, float("inf")), dtype=torch.float32):
    """Builds a Mamba2 from a state dict in state-spaces naming (backbone.embedding.weight,
    backbone.layers.N.mixer.{in_proj.weight, conv1d.weight, conv1d.bias, dt_bias, A_log, D,
    norm.weight, out_proj.weight}, backbone.layers.N.norm.weight, backbone.norm_f.weight,
    lm_head.weight); transformers' backbone.embeddings.weight is accepted too. Rows of the
    embedding and head past the padded vocabulary (a coarser padding) are dropped."""
    emb = sd["backbone.embedding.weight" if "backbone.embedding.weight" in sd else "backbone.embeddings.weight"].float()
    n_layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("backbone.layers."))
    p = "backbone.layers.0.mixer."
    nheads = sd[p + "A_log"].shape[0]
    d_inner = sd[p + "norm.weight"].shape[0]
    conv_dim, _, d_conv = sd[p + "conv1d.weight"].shape
    d_state = (conv_dim - d_inner) // (2 * ngroups)
    c = Config(n_layers=n_layers, vocab_size=vocab_size, d_model=emb.shape[1], d_inner=d_inner, d_state=d_state,
               d_conv=d_conv, nheads=nheads, headdim=headdim, ngroups=ngroups, tied=tied,
               norm_before_gate=norm_before_gate, dt_limit=dt_limit)
    assert nheads * headdim == d_inner
    pv = c.padded_vocab
    layers = []
    for i in range(n_layers):
        m = f"backbone.layers.{i}.mixer."
        layers.append({
            "in_proj": sd[m + "in_proj.weight"],
            "conv_w": sd[m + "conv1d.weight"].reshape(conv_dim, d_conv),  # [conv_dim, 1, d_conv]
            "conv_b": sd[m + "conv1d.bias"],
            "dt_bias": sd[m + "dt_bias"],
            "A": -torch.exp(sd[m + "A_log"].float()),  # A = -exp(A_log), in float32 like mamba_ssm
            "D": sd[m + "D"],
            "gated_norm": sd[m + "norm.weight"],
            "out_proj": sd[m + "out_proj.weight"],
            "norm": sd[f"backbone.layers.{i}.norm.weight"],
        })
    lm_head = None if tied else sd["lm_head.weight"].float()[:pv]
    return Mamba2(c, emb[:pv], [{k: t.float() for k, t in l.items()} for l in layers],
                  sd["backbone.norm_f.weight"].float(), lm_head, dtype=dtype)


# ------------------------------------------------ the same model, in SSD form

@torch.no_grad()
def forward_ssd(model, tokens):
    """Logits [len(tokens), padded_vocab] of the whole sequence at once, from an empty
    state, with the SSM computed in its dual, attention-like form (the paper's SSD, one
    chunk holding the whole sequence):

        y[t] = sum_{s <= t} (C[t] . B[s]) * exp(sum_{s < r <= t} dt[r] * A) * dt[s] * x[s] + D * x[t]

    It shares no code with the recurrent step (the conv is F.conv1d, the scan a masked
    matrix product), so agreement between the two checks the recurrence itself."""
    c = model.config
    T, gn = len(tokens), c.ngroups * c.d_state
    group = torch.arange(c.nheads) // (c.nheads // c.ngroups)
    h = model.embedding[torch.tensor(tokens)]                            # [T, d_model]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for w in model.layers:
        zxbcdt = F.linear(rms_norm(h, w["norm"]), w["in_proj"])          # [T, d_in_proj]
        z, xBC, dt = torch.split(zxbcdt, [c.d_inner, c.conv_dim, c.nheads], dim=-1)
        xBC = F.conv1d(xBC.T[None], w["conv_w"][:, None, :], w["conv_b"], padding=c.d_conv - 1,
                       groups=c.conv_dim)[0, :, :T].T                    # causal: the first T outputs
        x, B, C = torch.split(F.silu(xBC), [c.d_inner, gn, gn], dim=-1)
        x = x.reshape(T, c.nheads, c.headdim)
        B = B.reshape(T, c.ngroups, c.d_state)[:, group]                # [T, nheads, d_state]
        C = C.reshape(T, c.ngroups, c.d_state)[:, group]
        dt = F.softplus(dt + w["dt_bias"]).clamp(c.dt_limit[0], c.dt_limit[1])  # [T, nheads]
        cum = torch.cumsum(dt * w["A"], dim=0)                            # [T, nheads]
        decay = torch.exp((cum[:, None, :] - cum[None, :, :]).masked_fill(~causal[:, :, None], -math.inf))
        scores = torch.einsum("thn,shn->tsh", C, B) * decay               # [T, T, nheads], the "attention"
        y = torch.einsum("tsh,sh,shp->thp", scores, dt, x) + w["D"][:, None] * x
        y = torch.stack([rms_norm_gated(y[t].reshape(-1), z[t], w["gated_norm"], c.ngroups, c.norm_before_gate)
                         for t in range(T)])
        h = h + F.linear(y, w["out_proj"])
    return F.linear(rms_norm(h, model.norm_f), model.lm_head)
