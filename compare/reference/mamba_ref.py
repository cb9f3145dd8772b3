"""Plain PyTorch reference for Mamba-1 language models in recurrent mode.

It mirrors what mamba_ssm's ``Mamba.step`` does inside ``MambaLMHeadModel``
(one token at a time, from an empty state), written from the equations, in
float32 by default. Only torch and numpy are needed.

Per token, with h the residual stream [d_model]:

    for each layer:   h = h + Mixer(RMSNorm(h) * norm_w)
    logits = lm_head(RMSNorm(h) * norm_f_w)                        [padded_vocab]

    RMSNorm(x) = x * rsqrt(mean(x^2) + 1e-5)

Mixer step (per layer state: conv_state [d_inner, d_conv], ssm_state [d_inner, d_state]),
on normed = RMSNorm(h) * norm_w, the mixer's input [d_model]:

    x, z       = split(in_proj @ normed)           x, z: [d_inner]
    conv_state = roll conv_state left by one column, last column = x
    u          = silu(sum_k conv_state[:, k] * conv_w[:, k] + conv_b)   the scan's input [d_inner]
    dt_low, B, C = split(xDBC = x_proj @ u)        [dt_rank], [d_state], [d_state]
    dt         = softplus(dt_proj_w @ dt_low + dt_proj_b)          [d_inner]
    dA         = exp(dt[:, None] * A)              A = -exp(A_log)  [d_inner, d_state]
    ssm_state  = ssm_state * dA + u[:, None] * (dt[:, None] * B[None, :])
    y          = ssm_state @ C + D * u                              [d_inner]
    out        = out_proj @ (y * silu(z))                           [d_model]

Falcon-Mamba (tiiuae/falcon-mamba-7b; transformers' FalconMambaMixer) is this step with
one more op right after x_proj, weightless RMSNorms of dt_low, B and C with the config's
mixer_rms_eps (transformers' rms_forward; Config.mixer_eps, None in Mamba-1):

    dt_low, B, C = (t * rsqrt(mean(t^2) + mixer_eps) for t in (dt_low, B, C))   reported as bcdt_norm

The names are the project's vocabulary (common/model/ops.go, docs/mamba-step.md): the
step is grouped under the same phase headings (in_proj_conv, x_proj, dt_scan_gate,
out_proj, head), and each op's result is reported under its op name (embedding, norm,
in_proj, conv, silu, x_proj, dt_proj, softplus, scan, skip_d, gate, out_proj,
residual, norm_f, lm_head) to Mamba.tracer when one is set, as the Go implementations
report it to a model.Tracer: make_case.py writes these as the case's trace.

Weights can come from mamba.c's model.bin (load_model_bin) or from a state
dict in state-spaces naming (from_state_dict).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MODEL_BIN_MAGIC = 0x4D616D62  # "Mamb" read as a little-endian uint32
MODEL_BIN_VERSION = 1
MODEL_BIN_VERSION2 = 2  # the header names the architecture (common/model/modelbin2.go)
ARCH_FALCON_MAMBA = 3
MODEL_BIN_HEADER = 256
VOCAB_MULTIPLE = 8
RMS_EPS = 1e-5

# Per-layer tensors in the order model.bin stores them (each kind for all layers in turn).
LAYER_KINDS = ["in_proj", "conv_w", "conv_b", "x_proj", "dt_proj_w", "dt_proj_b", "A", "D", "out_proj", "norm"]


@dataclass
class Config:
    n_layers: int
    vocab_size: int  # unpadded
    d_model: int
    d_inner: int
    dt_rank: int
    d_state: int
    d_conv: int
    tied: bool = True  # lm_head is the embedding (mamba.c's shared_classifier)
    mixer_eps: float = None  # Falcon-Mamba's mixer_rms_eps; None: Mamba-1

    @property
    def padded_vocab(self):
        return (self.vocab_size + VOCAB_MULTIPLE - 1) // VOCAB_MULTIPLE * VOCAB_MULTIPLE

    def layer_shapes(self):
        di, d = self.d_inner, self.d_model
        return {
            "in_proj": (2 * di, d), "conv_w": (di, self.d_conv), "conv_b": (di,),
            "x_proj": (self.dt_rank + 2 * self.d_state, di), "dt_proj_w": (di, self.dt_rank),
            "dt_proj_b": (di,), "A": (di, self.d_state), "D": (di,), "out_proj": (d, di), "norm": (d,),
        }


def rms_norm(x, w):
    """x * rsqrt(mean(x^2) + eps) * w, over the last dimension."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * w


def rms_forward(x, eps):
    """x * rsqrt(mean(x^2) + eps), no weight: transformers' falcon_mamba rms_forward
    (which computes in float32; here in the model's dtype, float64 for the cases)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class Mamba:
    """A Mamba-1 LM with one sequence of recurrent state.

    embedding [padded_vocab, d_model], lm_head [padded_vocab, d_model] (the same
    tensor when tied), norm_f [d_model], layers: list of dicts keyed by LAYER_KINDS.
    """

    def __init__(self, config, embedding, layers, norm_f, lm_head=None, dtype=torch.float32):
        self.config, self.dtype = config, dtype
        self.embedding = embedding.to(dtype).contiguous()
        self.layers = [{k: t.to(dtype).contiguous() for k, t in layer.items()} for layer in layers]
        self.norm_f = norm_f.to(dtype)
        self.lm_head = self.embedding if lm_head is None else lm_head.to(dtype).contiguous()
        self.tracer = None  # tracer(pos, layer, op, values) after every op, or None
        self.reset()

    def reset(self):
        """Empty state: every conv_state and ssm_state is zero; positions count from 0 again."""
        c = self.config
        self.pos = 0  # tokens fed since the last reset, for the tracer
        self.conv_state = [torch.zeros(c.d_inner, c.d_conv, dtype=self.dtype) for _ in range(c.n_layers)]
        self.ssm_state = [torch.zeros(c.d_inner, c.d_state, dtype=self.dtype) for _ in range(c.n_layers)]

    def get_state(self):
        """A copy of the state: (conv_states [L][d_inner, d_conv], ssm_states [L][d_inner, d_state])."""
        return [t.clone() for t in self.conv_state], [t.clone() for t in self.ssm_state]

    def set_state(self, state):
        conv, ssm = state
        self.conv_state = [t.to(self.dtype).clone() for t in conv]
        self.ssm_state = [t.to(self.dtype).clone() for t in ssm]

    def trace(self, layer, op, values):
        """Reports op's result to the tracer, if any: tracer(pos, layer, op, values)."""
        if self.tracer is not None:
            self.tracer(self.pos, layer, op, values)

    def mixer_step(self, i, normed):
        """One recurrent step of layer i's mixer on normed [d_model]; updates its state."""
        w, c = self.layers[i], self.config
        conv_state, ssm_state = self.conv_state[i], self.ssm_state[i]

        # -- in_proj_conv: norm (in step), in_proj, conv, silu
        xz = F.linear(normed, w["in_proj"])                  # [2*d_inner]
        self.trace(i, "in_proj", xz)
        x, z = xz[: c.d_inner], xz[c.d_inner:]               # [d_inner] each
        # Causal depthwise conv over the last d_conv inputs.
        conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))
        conv_state[:, -1] = x
        u = (conv_state * w["conv_w"]).sum(-1) + w["conv_b"]  # [d_inner]
        self.trace(i, "conv", u)
        u = F.silu(u)                                        # the scan's input
        self.trace(i, "silu", u)

        # -- x_proj: input-dependent dt, B, C
        xDBC = F.linear(u, w["x_proj"])                      # [dt_rank + 2*d_state]
        self.trace(i, "x_proj", xDBC)
        dt_low, B, C = torch.split(xDBC, [c.dt_rank, c.d_state, c.d_state])
        if c.mixer_eps is not None:                          # Falcon-Mamba
            dt_low, B, C = (rms_forward(t, c.mixer_eps) for t in (dt_low, B, C))
            self.trace(i, "bcdt_norm", torch.cat([dt_low, B, C]))

        # -- dt_scan_gate: dt_proj, softplus, scan, skip_d, gate
        dt = F.linear(dt_low, w["dt_proj_w"], w["dt_proj_b"])  # [d_inner]
        self.trace(i, "dt_proj", dt)
        dt = F.softplus(dt)                                  # x > 20 -> x
        self.trace(i, "softplus", dt)
        # Selective scan, one step: h = h * exp(dt*A) + u * dt * B.
        dA = torch.exp(dt[:, None] * w["A"])                 # [d_inner, d_state]
        dB = dt[:, None] * B[None, :]                        # [d_inner, d_state]
        ssm_state.copy_(ssm_state * dA + u[:, None] * dB)
        y = torch.mv(ssm_state, C)                           # [d_inner]
        self.trace(i, "scan", y)
        y = y + w["D"] * u
        self.trace(i, "skip_d", y)
        y = y * F.silu(z)
        self.trace(i, "gate", y)

        # -- out_proj: out_proj (residual in step)
        out = F.linear(y, w["out_proj"])                     # [d_model]
        self.trace(i, "out_proj", out)
        return out

    @torch.no_grad()
    def step(self, token):
        """Feeds one token id; returns logits [padded_vocab] (a new tensor)."""
        h = self.embedding[token]                            # [d_model]
        self.trace(-1, "embedding", h)
        for i, w in enumerate(self.layers):
            normed = rms_norm(h, w["norm"])                  # in_proj_conv: norm
            self.trace(i, "norm", normed)
            h = h + self.mixer_step(i, normed)               # out_proj: residual
            self.trace(i, "residual", h)
        # -- head: norm_f, lm_head
        normed = rms_norm(h, self.norm_f)
        self.trace(-1, "norm_f", normed)
        logits = F.linear(normed, self.lm_head)
        self.trace(-1, "lm_head", logits)
        self.pos += 1
        return logits

    def run(self, tokens):
        """Resets, then feeds tokens one at a time; logits [len(tokens), padded_vocab]."""
        self.reset()
        return torch.stack([self.step(t) for t in tokens])

    def greedy(self, n, logits):
        """n greedy tokens continuing from logits; argmax over the unpadded vocab only."""
        out = []
        for _ in range(n):
            tok = int(torch.argmax(logits[: self.config.vocab_size]))
            out.append(tok)
            logits = self.step(tok)
        return out


# ---------------------------------------------------------------- model.bin

def read_model_bin_header(path):
    """Config of a model.bin: mamba.c's version 1, or version 2 of architecture 3
    (Falcon-Mamba: n_layers, vocab, dim, d_inner, d_state, d_conv, shared, dt_rank,
    float32 mixer_rms_eps after the architecture)."""
    h = np.fromfile(path, dtype="<u4", count=MODEL_BIN_HEADER // 4)
    if len(h) >= 12 and h[0] == MODEL_BIN_MAGIC and h[1] == MODEL_BIN_VERSION2 and h[2] == ARCH_FALCON_MAMBA:
        n_layers, vocab, dim, d_inner, d_state, d_conv, shared, dt_rank = (int(v) for v in h[3:11])
        eps = float(h[11:12].view("<f4")[0])
        return Config(n_layers, vocab, dim, d_inner, dt_rank, d_state, d_conv, tied=shared == 1, mixer_eps=eps)
    if len(h) < 10 or h[0] != MODEL_BIN_MAGIC or h[1] != MODEL_BIN_VERSION:
        raise ValueError(f"{path}: not a mamba.c model.bin version 1 nor a Falcon-Mamba version 2")
    n_layers, vocab, dim, d_inner, dt_rank, d_state, d_conv, shared = (int(v) for v in h[2:10])
    return Config(n_layers, vocab, dim, d_inner, dt_rank, d_state, d_conv, tied=shared == 1)


def read_tensors(path, c, layer_kinds):
    """The float32 tensors after a model.bin's header, in the order every version stores
    them: embedding [padded_vocab, d_model], then each kind of layer_kinds for all layers in
    turn (shapes c.layer_shapes()), norm_f [d_model], lm_head [padded_vocab, d_model] unless
    c.tied (None then). Returns (embedding, layers, norm_f, lm_head); raises on a truncated
    file or one with floats left over."""
    data = torch.from_numpy(np.fromfile(path, dtype="<f4", offset=MODEL_BIN_HEADER).astype(np.float32, copy=False))
    pos = 0

    def take(*shape):
        nonlocal pos
        n = math.prod(shape)
        if pos + n > data.numel():
            raise ValueError(f"{path}: truncated")
        t = data[pos: pos + n].view(*shape)
        pos += n
        return t

    pv = c.padded_vocab
    embedding = take(pv, c.d_model)
    layers = [{} for _ in range(c.n_layers)]
    shapes = c.layer_shapes()
    for kind in layer_kinds:
        for layer in layers:
            layer[kind] = take(*shapes[kind])
    norm_f = take(c.d_model)
    lm_head = None if c.tied else take(pv, c.d_model)
    if pos != data.numel():
        raise ValueError(f"{path}: {data.numel() - pos} floats left over after the last tensor")
    return embedding, layers, norm_f, lm_head


def write_tensors(path, header, model, layer_kinds):
    """Writes header (uint32 [MODEL_BIN_HEADER / 4]) and then model's tensors as float32 in
    read_tensors' order."""
    tensors = [model.embedding]
    for kind in layer_kinds:
        tensors += [layer[kind] for layer in model.layers]
    tensors.append(model.norm_f)
    if not model.config.tied:
        tensors.append(model.lm_head)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        for t in tensors:
            f.write(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())


def load_model_bin(path, dtype=torch.float32):
    """Reads mamba.c's model.bin (256-byte header, then float32 tensors)."""
    c = read_model_bin_header(path)
    return Mamba(c, *read_tensors(path, c, LAYER_KINDS), dtype=dtype)


def write_model_bin(path, model):
    """Writes model (float32) in mamba.c's model.bin format."""
    c = model.config
    header = np.zeros(MODEL_BIN_HEADER // 4, dtype="<u4")
    if c.mixer_eps is not None:  # Falcon-Mamba: version 2, architecture 3
        header[:11] = [MODEL_BIN_MAGIC, MODEL_BIN_VERSION2, ARCH_FALCON_MAMBA, c.n_layers, c.vocab_size,
                       c.d_model, c.d_inner, c.d_state, c.d_conv, 1 if c.tied else 0, c.dt_rank]
        header[11:12] = np.array([c.mixer_eps], dtype="<f4").view("<u4")
    else:
        header[:10] = [MODEL_BIN_MAGIC, MODEL_BIN_VERSION, c.n_layers, c.vocab_size, c.d_model,
                       c.d_inner, c.dt_rank, c.d_state, c.d_conv, 1 if c.tied else 0]
    write_tensors(path, header, model, LAYER_KINDS)


# ------------------------------------------------------- state-spaces naming

def from_state_dict(sd, vocab_size=None, tied=True, dtype=torch.float32, mixer_eps=None):
    """Builds a Mamba from a state dict in state-spaces naming (backbone.embedding.weight,
    backbone.layers.N.mixer.*, backbone.layers.N.norm.weight, backbone.norm_f.weight,
    lm_head.weight). vocab_size is the unpadded size (default: the embedding's rows).
    With tied, lm_head.weight (if present) is ignored and the embedding is the head.
    mixer_eps makes it Falcon-Mamba (its mixer_rms_eps, rounded to float32 as model.bin
    stores it)."""
    emb = sd["backbone.embedding.weight"].float()
    n_layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("backbone.layers."))
    p = "backbone.layers.0.mixer."
    d_inner, d_state = sd[p + "A_log"].shape
    c = Config(n_layers=n_layers, vocab_size=vocab_size or emb.shape[0], d_model=emb.shape[1],
               d_inner=d_inner, dt_rank=sd[p + "dt_proj.weight"].shape[1], d_state=d_state,
               d_conv=sd[p + "conv1d.weight"].shape[-1], tied=tied,
               mixer_eps=None if mixer_eps is None else float(np.float32(mixer_eps)))
    if emb.shape[0] != c.padded_vocab:
        raise ValueError(f"embedding has {emb.shape[0]} rows, want padded vocab {c.padded_vocab}")
    layers = []
    for i in range(n_layers):
        m = f"backbone.layers.{i}.mixer."
        layers.append({
            "in_proj": sd[m + "in_proj.weight"],
            "conv_w": sd[m + "conv1d.weight"].reshape(d_inner, c.d_conv),  # [d_inner, 1, d_conv]
            "conv_b": sd[m + "conv1d.bias"],
            "x_proj": sd[m + "x_proj.weight"],
            "dt_proj_w": sd[m + "dt_proj.weight"],
            "dt_proj_b": sd[m + "dt_proj.bias"],
            "A": -torch.exp(sd[m + "A_log"].float()),  # A = -exp(A_log), in float32 like mamba_ssm
            "D": sd[m + "D"],
            "out_proj": sd[m + "out_proj.weight"],
            "norm": sd[f"backbone.layers.{i}.norm.weight"],
        })
    lm_head = None if tied else sd["lm_head.weight"].float()
    return Mamba(c, emb, [{k: t.float() for k, t in l.items()} for l in layers],
                 sd["backbone.norm_f.weight"].float(), lm_head, dtype=dtype)
