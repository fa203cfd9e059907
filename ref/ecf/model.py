"""eContextformer framework (paper 003, eqs. 2a-3b): g_a, g_s, hyperprior, g_c, g_e (GMM, k = 3).

    y      = g_a(x)                                      [ecf.ga]      (B, H/16, W/16, M)
    y_hat  = round(y)                                    [ecf.C7]      (coded integers)
    x_hat  = g_s(y_hat)                                  [ecf.gs]
    z      = h_a(y);  z_hat = round(z)                   [core.hp_analysis]
    psi    = h_s(z_hat)                                  [ecf.C8]      (B, H/16, W/16, 2M), core.hp_synthesis
                                                                       without the scale/mean split
    ctx    = g_c(groups of y_hat)  (SFG, EGR)            [ecf.cm], [ecf.sfg]
    (w_logits, mu, sigma) = g_e(ctx, psi of the group)   [ecf.ge], [ecf.C9]
    p(y_hat_i | z_hat) = GMM(k = 3)                      [ecf.gmm]
    L = lambda 255^2 MSE + (bits_y + bits_z) / pixels    [ecf.3a]

Parameters: one nested dict with top keys exactly "g_a", "g_s", "h_a", "h_s", "z_prior",
"ctx", "g_e".  Convs {"w": HWIO, "b"} (ref.core.layers); dense {"w": (c_in, c_out), "b"}.
Signal convention: x = u8 / 255 in [0, 1], NHWC float32.  Widths: [ecf.C10] (EcfConfig).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core import entropy_models as E
from ref.core import hyperprior as HP
from ref.core.errors import InputError
from ref.core.gdn import gdn, init_gdn
from ref.core.layers import (attention_block, conv, init_attention_block, init_conv, init_deconv,
                             init_residual_block, relu, residual_block)
from ref.core.phase_deconv import deconv_phase
from ref.core.quantization import add_uniform_noise, ste_round
from ref.core.registry import implements
from ref.ecf.context_model import ContextConfig, init_context_model
from ref.ecf.egr import egr_pack
from ref.ecf.gmm import gmm_bits, gmm_params
from ref.ecf.segments import repeat_hyperprior, segment
from ref.ecf.sfg import encoder_contexts

F32 = jnp.float32

#: [ecf.C10] rate-distortion weight of each quality 1 (lowest rate) .. 6 -- the same lambdas as
#: the HCF levels so that the two codecs can be compared point by point.
LAMBDAS: dict[int, float] = {1: 0.0012, 2: 0.0030, 3: 0.0075, 4: 0.0180, 5: 0.0450, 6: 0.1100}
QUALITIES = tuple(sorted(LAMBDAS))
#: [ecf.C10] image sides are padded up to a multiple of 128: g_a divides by 16 and the context
#: model needs latent sides that are multiples of K = 8 ([ecf.egr]); h_a divides by 4 more.
PAD_MULTIPLE = 128


def default_context() -> ContextConfig:
    """Reduced context model of [ecf.C10]: N_cs 4, p_cs 24, K 8, L 4, d_e 64, h 4, MLP 2 d_e,
    d_out 64, sfo."""
    return ContextConfig(n_cs=4, p_cs=24, K=8, layers=4, d_e=64, heads=4, mlp_ratio=2, d_out=64, order="sfo")


@dataclass(frozen=True)
class EcfConfig:
    """Architecture of one ecf quality ([ecf.C10]).

    quality: 1..6; lam: its lambda.  N: hidden channels of g_a / g_s and channels of z;
    M: latent channels (= n_cs * ctx.p_cs).  n_cs: channel segments N_cs.  ctx: the context
    model g_c.  k_mix: mixture components k.  ge_hidden: hidden widths of g_e.
    mean_grid: mean grid of the mixture tables ([core.C5]).  radius: table support R.
    """

    quality: int
    lam: float
    N: int = 64
    M: int = 96
    n_cs: int = 4
    ctx: ContextConfig = field(default_factory=default_context)
    k_mix: int = 3
    ge_hidden: tuple = (192, 192)
    mean_grid: int = 8
    radius: int = 256

    def __post_init__(self):
        if self.ctx.n_cs != self.n_cs or self.n_cs * self.ctx.p_cs != self.M:
            raise InputError(f"M = {self.M} must equal n_cs * p_cs = {self.n_cs} * {self.ctx.p_cs}")
        if self.M % 2:
            raise InputError(f"M must be even, got {self.M}")

    @property
    def p_cs(self) -> int:
        return self.ctx.p_cs

    @property
    def c_psi(self) -> int:
        """Channels of the hyperprior output psi: 2M ([ecf.C8])."""
        return 2 * self.M

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ge_hidden"] = list(self.ge_hidden)
        return d


@implements("ecf.C10")
def config_for(quality: int) -> EcfConfig:
    """The configuration of quality ``quality`` (1..6); InputError otherwise."""
    if isinstance(quality, bool) or not isinstance(quality, int) or quality not in LAMBDAS:
        raise InputError(f"ecf quality must be one of {', '.join(map(str, QUALITIES))}, got {quality!r}")
    return EcfConfig(quality=quality, lam=LAMBDAS[quality])


# =========================================================================== parameters
def _dense(key, n_in: int, n_out: int) -> dict:
    """PyTorch Linear default init: w, b ~ U(-1/sqrt(n_in), 1/sqrt(n_in))."""
    kw, kb = jax.random.split(key)
    bound = 1.0 / n_in ** 0.5
    return {"w": jax.random.uniform(kw, (n_in, n_out), F32, -bound, bound),
            "b": jax.random.uniform(kb, (n_out,), F32, -bound, bound)}


def init_g_e(key, cfg: EcfConfig) -> dict:
    """g_e: {"fc0".."fc<L>"}: d_out + 2M -> ge_hidden... -> 3 p_cs k ([ecf.ge])."""
    widths = [cfg.ctx.d_out + cfg.c_psi, *cfg.ge_hidden, 3 * cfg.p_cs * cfg.k_mix]
    keys = jax.random.split(key, len(widths) - 1)
    return {f"fc{i}": _dense(keys[i], widths[i], widths[i + 1]) for i in range(len(widths) - 1)}


def init_params(key, cfg: EcfConfig) -> dict:
    """Random float32 parameters (PyTorch / CompressAI default inits; Swin init for g_c).

    key: jax PRNG key; cfg: EcfConfig.  Top keys: g_a, g_s, h_a, h_s, z_prior, ctx, g_e.
    """
    N, M = cfg.N, cfg.M
    k = jax.random.split(key, 14)
    g_a = {"conv0": init_conv(k[0], 3, 3, N), "conv1": init_conv(k[1], 3, N, N),
           "conv2": init_conv(k[2], 3, N, N), "conv3": init_conv(k[3], 3, N, M),
           "attn": init_attention_block(k[4], M)}
    g_s = {"attn": init_attention_block(k[5], M), "res": init_residual_block(k[6], M, N),
           "deconv0": init_deconv(k[7], 3, N, N), "deconv1": init_deconv(k[8], 3, N, N),
           "deconv2": init_deconv(k[9], 3, N, N), "deconv3": init_deconv(k[10], 3, N, 3)}
    for i in range(3):
        g_a[f"gdn{i}"] = init_gdn(N, F32)
        g_s[f"igdn{i}"] = init_gdn(N, F32)
    hp = HP.init_hyperprior(k[11], N, M)
    return {"g_a": g_a, "g_s": g_s, "h_a": hp["h_a"], "h_s": hp["h_s"], "z_prior": hp["z_prior"],
            "ctx": init_context_model(k[12], cfg.ctx), "g_e": init_g_e(k[13], cfg)}


def count_params(p: dict) -> int:
    return int(sum(np.prod(a.shape) for a in jax.tree_util.tree_leaves(p)))


# =========================================================================== transforms
@implements("ecf.ga")
def analysis(p: dict, x):
    """y = g_a(x) ([ecf.ga], eq. 2a before Q):
    [conv3x3 s2 -> GDN] x 3 -> conv3x3 s2 -> attention module (3 -> N -> N -> N -> M).

    p: full params (uses p["g_a"]).  x: (B, H, W, 3) float32 in [0, 1], H, W multiples of 16.
    Returns (B, H/16, W/16, M) float32.
    """
    q = p["g_a"]
    h = x
    for i in range(3):
        h = gdn(q[f"gdn{i}"], conv(q[f"conv{i}"], h, stride=2))
    return attention_block(q["attn"], conv(q["conv3"], h, stride=2))


@implements("ecf.gs")
def synthesis(p: dict, y_hat):
    """x_hat = g_s(y_hat) ([ecf.gs], eq. 2b): attention module -> residual block (M -> N) ->
    [deconv3x3 s2 -> IGDN] x 3 -> deconv3x3 s2 (N -> 3).

    p: full params (uses p["g_s"]).  y_hat: (B, h, w, M) float32 (integer values when
    decoding).  Returns (B, 16h, 16w, 3) float32, not clipped.  Deconvs are [core.deconv]
    computed by output phases (ref.core.phase_deconv).
    """
    q = p["g_s"]
    h = residual_block(q["res"], attention_block(q["attn"], y_hat))
    for i in range(3):
        h = gdn(q[f"igdn{i}"], deconv_phase(q[f"deconv{i}"], h, stride=2), inverse=True)
    return deconv_phase(q["deconv3"], h, stride=2)


def hyper_analysis(p: dict, y):
    """z = h_a(y) ([core.hp_analysis]): (B, H, W, M) -> (B, ceil(H/4), ceil(W/4), N)."""
    return HP.hyper_analysis(p["h_a"], y)


@implements("ecf.C8")
def hyper_synthesis(p: dict, z_hat):
    """psi = h_s(z_hat) ([ecf.C8]): the [core.hp_synthesis] network (deconv5x5 s2 N -> M, ReLU,
    deconv5x5 s2 M -> 3M/2, ReLU, conv3x3 3M/2 -> 2M) with its 2M output channels kept
    together as features for g_e (no scale / mean split).

    p: full params (uses p["h_s"]).  z_hat: (B, h, w, N) integer-valued.
    Returns psi float32 (B, 4h, 4w, 2M).
    """
    scale, mean = HP.hyper_synthesis(p["h_s"], z_hat)
    return jnp.concatenate([scale, mean], axis=-1)


# =========================================================================== entropy model
@implements("ecf.ge", "ecf.C9")
def g_e(p_ge: dict, ctx_feats, psi_seg, k: int = 3):
    """Entropy parameters ([ecf.ge]): a per-position MLP on concat(ctx_feats, psi_seg),
    dense layers with ReLU between (none after the last), output split ([ecf.C9]):

        o = fc_L(relu(... relu(fc_0([ctx, psi]))))          (..., 3 p_cs k)
        w_logits = o[..., 0 : p_cs k]           reshaped (..., p_cs, k)
        mu       = o[..., p_cs k : 2 p_cs k]    reshaped (..., p_cs, k)
        sigma    = exp(clip(o[..., 2 p_cs k :], ln 0.11, ln 256))  reshaped (..., p_cs, k)

    p_ge: {"fc0".."fcL": {"w": (c_in, c_out), "b": (c_out,)}}.  ctx_feats: (..., d_out) float32
    (zeros for group 0, [ecf.sfg]); psi_seg: (..., 2M) psi at the element's position ([ecf.C4]).
    k: mixture components.  Returns (w_logits, mu, sigma), each (..., p_cs, k) float32.
    """
    h = jnp.concatenate([ctx_feats, psi_seg], axis=-1)
    n = len(p_ge)
    for i in range(n):
        h = h @ p_ge[f"fc{i}"]["w"] + p_ge[f"fc{i}"]["b"]
        if i < n - 1:
            h = relu(h)
    c = h.shape[-1] // 3
    if c * 3 != h.shape[-1] or c % k:
        raise InputError(f"g_e output width {h.shape[-1]} is not 3 p_cs k with k = {k}")
    shp = h.shape[:-1] + (c // k, k)
    return gmm_params(h[..., :c].reshape(shp), h[..., c:2 * c].reshape(shp), h[..., 2 * c:].reshape(shp))


@implements("ecf.C4", "ecf.egr")
def psi_groups(cfg: EcfConfig, psi):
    """psi (B, H, W, 2M) -> per-group packed psi (B, 2 N_cs, H, W/2, 2M): repeated across
    segments ([ecf.C4]) and packed like the latent ([ecf.egr]), so token (g, h, w') of the
    result sits at the same element as token (g, h, w') of the packed latent."""
    return egr_pack(repeat_hyperprior(psi, cfg.n_cs), cfg.ctx.order)


def latent_groups(cfg: EcfConfig, y):
    """Latent (B, H, W, M) -> packed groups (B, 2 N_cs, H, W/2, p_cs) ([ecf.segments], [ecf.egr])."""
    return egr_pack(segment(y, cfg.n_cs), cfg.ctx.order)


def entropy_params(p: dict, cfg: EcfConfig, y_hat, psi):
    """Encoder single pass: (w_logits, mu, sigma), each (B, 2 N_cs, H, W/2, p_cs, k), for the
    packed groups of y_hat (B, H, W, M) given psi (B, >= H, >= W, 2M) (cropped to H x W).
    Group 0 sees a zero context ([ecf.sfg]); group g >= 1 slot g - 1 of one masked g_c pass."""
    H, W = y_hat.shape[1:3]
    ctx = encoder_contexts(p["ctx"], cfg.ctx, latent_groups(cfg, y_hat))
    return g_e(p["g_e"], ctx, psi_groups(cfg, psi[:, :H, :W]), cfg.k_mix)


@implements("ecf.3a", "ecf.C7")
def rd_terms(p: dict, cfg: EcfConfig, x, u_y, u_z):
    """The training pass with explicit noise ([ecf.3a], quantiser [ecf.C7]) -> (x_hat, bits_y, bits_z).

        y = g_a(x);  z = h_a(y);  z_hat = ste(z) -> h_s;  bits_z = sum -log2 P_fact(z + u_z)
        y_hat = ste(y)  (round half even, straight-through) -> g_s and g_c (the coded values)
        bits_y = sum -log2 GMM(y + u_y | g_e(g_c(y_hat), psi))      ([ecf.gmm])

    x: (B, H, W, 3) float32 in [0, 1], H, W multiples of 128 ([ecf.C10]); u_y: (B, H/16, W/16, M)
    and u_z: (B, H/64, W/64, N) float32 noise in [-1/2, 1/2).  bits_*: float totals over the batch.
    """
    y = analysis(p, x)
    z = hyper_analysis(p, y)
    bits_z = -jnp.sum(jnp.log2(E.factorized_likelihood(p["z_prior"], z + u_z)))
    psi = hyper_synthesis(p, ste_round(z))
    y_hat = ste_round(y)
    w_logits, mu, sigma = entropy_params(p, cfg, y_hat, psi)
    bits_y = gmm_bits(latent_groups(cfg, y + u_y), w_logits, mu, sigma, cfg.mean_grid)
    return synthesis(p, y_hat), bits_y, bits_z


@implements("ecf.3a", "ecf.C7")
def forward_train(p: dict, cfg: EcfConfig, x, key):
    """Training pass ([ecf.3a], [ecf.C7]) -> (x_hat, bits_y, bits_z): :func:`rd_terms` with
    u_y, u_z ~ U(-1/2, 1/2) drawn from (ky, kz) = split(key) ([core.quant_noise]).

    x: (B, H, W, 3) float32 in [0, 1], H, W multiples of 128 ([ecf.C10]); key: jax PRNG key.
    bits_*: float totals over the batch.
    """
    ky, kz = jax.random.split(key)
    B, H, W, _ = x.shape
    u_y = add_uniform_noise(ky, jnp.zeros((B, -(-H // 16), -(-W // 16), cfg.M), x.dtype))
    u_z = add_uniform_noise(kz, jnp.zeros((B, -(-H // 64), -(-W // 64), cfg.N), x.dtype))
    return rd_terms(p, cfg, x, u_y, u_z)


__all__ = ["LAMBDAS", "QUALITIES", "PAD_MULTIPLE", "EcfConfig", "config_for", "default_context", "init_params",
           "init_g_e", "count_params", "analysis", "synthesis", "hyper_analysis", "hyper_synthesis", "g_e",
           "psi_groups", "latent_groups", "entropy_params", "rd_terms", "forward_train"]
