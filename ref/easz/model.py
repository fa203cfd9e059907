"""Easz reconstruction transformer (paper 000, Sec. III.B "Model Structure").

An n x n patch is cut into T = (n/b)^2 sub-patches ("tokens") of b x b x C pixels
(normative choice easz.C20).  With the keep mask k_t (1 = kept, 0 = erased):

    u_t  = (x_t/255 - 0.5) / 0.25                    token t, flattened (dy, dx, c)   (C21)
    e_t  = W_e u_t + b_e + P_t                       P = fixed 2-D sin-cos table       (C22)
    F    = LN(Enc_2(Enc_1(e)))   attention only among kept tokens  == E(e_1..e_m)
    z_t  = k_t * F_t + P_t       erased positions enter as zero vectors (+ position)
    y    = LN(Dec_2(Dec_1(z)))   full attention
    x^_t = 255 * (0.5 + 0.25 * (W_o y_t + b_o))

Each block (pre-LN, C23):  h = h + MHSA(LN(h)); h = h + MLP(LN(h)),
MLP = Linear(d, 4d) -> exact GELU -> Linear(4d, d); LN eps 1e-6.  That is two LayerNorms
per block plus one final LayerNorm per stack; the paper's "three layernorms" per block
are not reproduced (it does not say where the third goes; spec easz.C23).

Parameters are a flat ``dict[str, array]`` (the keys are the safetensors names):
``embed.w (P,d) embed.b (d,)``, ``enc.<i>.{ln1,ln2}.{scale,bias}``,
``enc.<i>.attn.{wq,wk,wv,wo} (d,d)`` + ``.{bq,bk,bv,bo} (d,)``,
``enc.<i>.mlp.{w1 (d,4d), b1, w2 (4d,d), b2}``, ``enc.norm.{scale,bias}``, the same for
``dec.``, and ``head.w (d,P) head.b (P,)`` with P = b*b*C.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ref.core import runtime
from ref.core.registry import implements

jax = runtime.jax()
import jax.numpy as jnp  # noqa: E402

PIX_MEAN = 0.5
PIX_STD = 0.25
LN_EPS = 1e-6
MASKED_SCORE = -1e9  # attention logit given to erased keys in the encoder


@dataclass(frozen=True)
@implements("easz.C24")
class ModelConfig:
    """Reconstruction-model configuration (normative values in spec easz.C20..C24).

    n: patch side (pixels); b: sub-patch side; channels: C of a token (3);
    dim: embedding width d; heads: attention heads; mlp_ratio: MLP hidden = mlp_ratio*d;
    enc_layers / dec_layers: transformer blocks in E and D (2 and 2, as the paper).
    residual: 0 = the head predicts pixels (paper); 1 = the head predicts a correction added
    to the easz.C16 interpolation of the erased sub-patches (easz.C28).
    """

    n: int = 32
    b: int = 4
    channels: int = 3
    dim: int = 64
    heads: int = 4
    mlp_ratio: int = 4
    enc_layers: int = 2
    dec_layers: int = 2
    residual: int = 0

    def __post_init__(self):
        if self.n % self.b:
            raise ValueError(f"n={self.n} is not a multiple of b={self.b}")
        if self.dim % self.heads or self.dim % 4:
            raise ValueError("dim must be a multiple of heads and of 4")
        if self.residual not in (0, 1):
            raise ValueError("residual must be 0 or 1")

    @property
    def grid(self) -> int:
        return self.n // self.b

    @property
    def tokens(self) -> int:
        return self.grid * self.grid

    @property
    def token_dim(self) -> int:
        return self.b * self.b * self.channels

    def to_metadata(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @staticmethod
    def from_metadata(md: dict[str, str]) -> "ModelConfig":
        fields = ModelConfig.__dataclass_fields__
        return ModelConfig(**{k: int(md[k]) for k in fields if k in md})


# --------------------------------------------------------------------------- tokens
@implements("easz.C20")
def patch_to_tokens(patches, b: int):
    """(..., n, n, C) patches -> (..., T, b*b*C) tokens.

    Token t = i*(n/b) + j is sub-patch row i, column j; its vector lists
    patch[i*b+dy, j*b+dx, c] in (dy, dx, c) row-major order.
    """
    *lead, n, _, c = patches.shape
    g = n // b
    x = patches.reshape(*lead, g, b, g, b, c)
    x = jnp.moveaxis(x, -4, -3) if isinstance(x, jnp.ndarray) else np.moveaxis(x, -4, -3)
    return x.reshape(*lead, g * g, b * b * c)


@implements("easz.C20")
def tokens_to_patch(tokens, n: int, b: int, c: int):
    """Inverse of :func:`patch_to_tokens`: (..., T, b*b*C) -> (..., n, n, C)."""
    *lead, _, _ = tokens.shape
    g = n // b
    x = tokens.reshape(*lead, g, g, b, b, c)
    x = jnp.moveaxis(x, -3, -4) if isinstance(x, jnp.ndarray) else np.moveaxis(x, -3, -4)
    return x.reshape(*lead, n, n, c)


@implements("easz.C22")
def sincos_2d(grid: int, dim: int) -> np.ndarray:
    """Fixed 2-D sine-cosine positional table P, float32 (grid*grid, dim).

    q = dim/4, w_k = 10000^(-k/q) (k = 0..q-1); for token t = i*grid + j:
    P_t = [sin(i w), cos(i w), sin(j w), cos(j w)] (each q wide), computed in float64.
    """
    q = dim // 4
    w = 10000.0 ** (-np.arange(q, dtype=np.float64) / q)
    i, j = np.divmod(np.arange(grid * grid, dtype=np.float64), grid)
    ai, aj = i[:, None] * w[None], j[:, None] * w[None]
    return np.concatenate([np.sin(ai), np.cos(ai), np.sin(aj), np.cos(aj)], axis=1).astype(np.float32)


# --------------------------------------------------------------------------- blocks
def layer_norm(x, scale, bias):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + LN_EPS) * scale + bias


def attention(p, x, heads: int, key_keep=None):
    """Multi-head self-attention; x (B, T, d); key_keep (B, T) bool or None."""
    bsz, t, d = x.shape
    dh = d // heads

    def split(y):
        return y.reshape(bsz, t, heads, dh).transpose(0, 2, 1, 3)

    q = split(x @ p["wq"] + p["bq"])
    k = split(x @ p["wk"] + p["bk"])
    v = split(x @ p["wv"] + p["bv"])
    s = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / np.sqrt(dh))
    if key_keep is not None:
        s = jnp.where(key_keep[:, None, None, :], s, np.float32(MASKED_SCORE))
    a = jax.nn.softmax(s, axis=-1)
    o = (a @ v).transpose(0, 2, 1, 3).reshape(bsz, t, d)
    return o @ p["wo"] + p["bo"]


@implements("easz.C23")
def block(p, x, heads: int, key_keep=None):
    """Pre-LN transformer block: x + MHSA(LN1 x); then + MLP(LN2 x) with exact GELU."""
    x = x + attention(p["attn"], layer_norm(x, p["ln1"]["scale"], p["ln1"]["bias"]), heads, key_keep)
    h = layer_norm(x, p["ln2"]["scale"], p["ln2"]["bias"])
    h = jax.nn.gelu(h @ p["mlp"]["w1"] + p["mlp"]["b1"], approximate=False)
    return x + h @ p["mlp"]["w2"] + p["mlp"]["b2"]


def _nest(params: dict, prefix: str) -> dict:
    """View the flat params under ``prefix`` as nested dicts (no copies)."""
    out: dict = {}
    for k, v in params.items():
        if not k.startswith(prefix):
            continue
        node = out
        parts = k[len(prefix):].split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = v
    return out


# --------------------------------------------------------------------------- model
@implements("easz.model", "easz.C21", "easz.C28")
def forward(params, tokens, keep, cfg: ModelConfig, base=None):
    """Reconstruct every token of a batch of patches.

    tokens: float32 (B, T, b*b*C) pixel values in [0, 255] (erased ones arbitrary, e.g. 0);
    keep:   bool (B, T), True = kept.  Returns float32 (B, T, b*b*C) predictions in
    pixel units (not clipped; callers keep kept tokens and clip, see recon.py).
    base:   float32 (B, T, b*b*C), required iff cfg.residual: the easz.C16 interpolation of
            the patch's image, tokenised; then x^_t = base_t + 255 * 0.25 * (W_o y_t + b_o)
            (easz.C28).  The encoder and decoder inputs are unchanged (erased = zero vectors).
    """
    tokens = jnp.asarray(tokens, jnp.float32)
    keep = jnp.asarray(keep, bool)
    pos = jnp.asarray(sincos_2d(cfg.grid, cfg.dim))
    u = (tokens * np.float32(1 / 255.0) - np.float32(PIX_MEAN)) * np.float32(1 / PIX_STD)
    h = u @ params["embed.w"] + params["embed.b"] + pos
    enc = _nest(params, "enc.")
    for i in range(cfg.enc_layers):
        h = block(enc[str(i)], h, cfg.heads, key_keep=keep)
    h = layer_norm(h, enc["norm"]["scale"], enc["norm"]["bias"])
    z = jnp.where(keep[..., None], h, np.float32(0.0)) + pos
    dec = _nest(params, "dec.")
    for i in range(cfg.dec_layers):
        z = block(dec[str(i)], z, cfg.heads)
    z = layer_norm(z, dec["norm"]["scale"], dec["norm"]["bias"])
    y = z @ params["head.w"] + params["head.b"]
    if cfg.residual:
        if base is None:
            raise ValueError("a residual model needs the interpolation base tokens")
        return jnp.asarray(base, jnp.float32) + np.float32(PIX_STD * 255.0) * y
    return (np.float32(PIX_MEAN) + np.float32(PIX_STD) * y) * np.float32(255.0)


@implements("easz.C27")
def init_params(seed: int, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Initial parameters: Xavier-uniform weights (head scaled by 0.1; head = 0 for a residual
    model, so that training starts exactly at the easz.C16 interpolation), zero biases, LN = (1, 0).

    Uses ``numpy.random.default_rng(seed)`` (training-time randomness only).
    """
    rng = np.random.default_rng(seed)
    d, hid, p = cfg.dim, cfg.dim * cfg.mlp_ratio, cfg.token_dim

    def xavier(fan_in, fan_out):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, size=(fan_in, fan_out)).astype(np.float32)

    out = {"embed.w": xavier(p, d), "embed.b": np.zeros(d, np.float32)}
    for stack, nl in (("enc", cfg.enc_layers), ("dec", cfg.dec_layers)):
        for i in range(nl):
            pre = f"{stack}.{i}."
            for ln in ("ln1", "ln2"):
                out[pre + ln + ".scale"] = np.ones(d, np.float32)
                out[pre + ln + ".bias"] = np.zeros(d, np.float32)
            for w in ("q", "k", "v", "o"):
                out[pre + f"attn.w{w}"] = xavier(d, d)
                out[pre + f"attn.b{w}"] = np.zeros(d, np.float32)
            out[pre + "mlp.w1"] = xavier(d, hid)
            out[pre + "mlp.b1"] = np.zeros(hid, np.float32)
            out[pre + "mlp.w2"] = xavier(hid, d)
            out[pre + "mlp.b2"] = np.zeros(d, np.float32)
        out[f"{stack}.norm.scale"] = np.ones(d, np.float32)
        out[f"{stack}.norm.bias"] = np.zeros(d, np.float32)
    out["head.w"] = xavier(d, p) * np.float32(0.0 if cfg.residual else 0.1)
    out["head.b"] = np.zeros(p, np.float32)
    return out


def param_count(params) -> int:
    return int(sum(np.asarray(v).size for v in params.values()))
