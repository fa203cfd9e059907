"""Golden vectors of the moc decoder side (ids ``moc.model.*``).

Float outputs are float32 and compared with ``allclose``: the tolerances below allow for
a different summation order / BLAS (another CPU, a GPU, an emulator) but not for a
different formula (exact vs tanh GELU differs by ~1e-3, a missing ε or LayerNorm by far
more).  The two ``<model>.decoder`` vectors pin the *shipped* weights: their ``params``
carry the checkpoint's SHA-256, and a retrained checkpoint needs ``codecref golden regen
--id moc.model --write``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ref.conformance.golden import Vector, allclose, psnr_at_least

F32 = np.float32


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --------------------------------------------------------------------------- attention
def _attn_inputs():
    r = _rng(401)
    q = r.standard_normal((2, 24, 8)).astype(F32)
    k = r.standard_normal((2, 24, 8)).astype(F32)
    v = r.standard_normal((2, 24, 6)).astype(F32)
    q[0, 5] = -np.abs(q[0, 5])  # a query whose phi(q) is zero -> output row 0 (moc.C21)
    return {"q": q, "k": k, "v": v}


def _attn_run(inputs):
    import jax.numpy as jnp

    from ref.moc.decoder import linear_attention

    out = linear_attention(jnp.asarray(inputs["q"]), jnp.asarray(inputs["k"]), jnp.asarray(inputs["v"]))
    return {"out": np.asarray(out, F32)}


# --------------------------------------------------------------------------- tokens
def _tok_inputs():
    return {"z": _rng(402).standard_normal((4, 6, 2, 3)).astype(F32)}


def _tok_run(inputs, p):
    import jax.numpy as jnp

    from ref.moc.decoder import patchify, unpatchify

    z = jnp.asarray(inputs["z"])
    t = patchify(z, p)
    return {"tokens": np.asarray(t, F32), "back": np.asarray(unpatchify(t, z.shape[:-1], p, z.shape[-1]), F32)}


# --------------------------------------------------------------------------- block
_BLOCK_CFG = dict(ndim=2, in_channels=3, levels=1, latent_channels=4, decoder_dim=16,
                  decoder_depth=1, decoder_heads=2, decoder_mlp_ratio=2)


def _block_inputs():
    import jax

    from ref.moc.config import MocConfig
    from ref.moc.decoder import init_decoder
    from ref.moc.model import flatten

    p = init_decoder(jax.random.key(403), MocConfig(**_BLOCK_CFG))["block_0"]
    flat = flatten(p)
    r = _rng(403)
    ins = {f"p.{k}": (v + F32(0.1) * r.standard_normal(v.shape).astype(F32)) for k, v in sorted(flat.items())}
    ins["x"] = r.standard_normal((20, 16)).astype(F32)
    return ins


def _block_run(inputs, heads):
    import jax.numpy as jnp

    from ref.moc.decoder import block
    from ref.moc.model import unflatten

    p = unflatten({k[2:]: v for k, v in inputs.items() if k.startswith("p.")})
    return {"y": np.asarray(block(p, jnp.asarray(inputs["x"]), heads), F32)}


# --------------------------------------------------------------------------- losses
def _rate_inputs():
    r = _rng(404)
    y = (r.standard_normal((2, 6, 5, 5)) * np.array([0.2, 1.0, 3.0, 10.0, 40.0])).astype(F32)
    return {"y": y}


def _rate_run(inputs):
    from ref.moc.losses import rate_penalty

    return {"r_var": np.asarray(rate_penalty(inputs["y"], "variance"), F32),
            "r_logstd": np.asarray(rate_penalty(inputs["y"], "log_std"), F32)}


def _loss_inputs():
    r = _rng(405)
    x = (r.random((2, 16, 16, 3)) - 0.5).astype(F32)
    return {"x": x, "x_hat": (x + F32(0.03) * r.standard_normal(x.shape)).astype(F32),
            "y": (r.standard_normal((2, 2, 2, 12)) * 4).astype(F32)}


def _loss_run(inputs, lam):
    from ref.moc.losses import mse, total_loss

    return {"mse": np.asarray(mse(inputs["x"], inputs["x_hat"]), F32),
            "loss": np.asarray(total_loss(inputs["x"], inputs["x_hat"], inputs["y"], lam), F32)}


# --------------------------------------------------------------------------- shipped models
def _sha(name: str) -> str:
    from ref.moc.model import checkpoint_path

    p = checkpoint_path(name)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "missing"


def _dec_inputs(m):
    r = _rng(406)
    # an integer latent concentrated like real ones (|q| mostly small), grid 6 x 10
    q = np.clip(np.rint(r.standard_normal((6, 10, m)) * np.linspace(20, 2, m)), -127, 127).astype(F32)
    return {"q": q}


def _dec_run(inputs, model, weights_sha256):
    import jax.numpy as jnp

    from ref.core.errors import GoldenError
    from ref.moc.companding import expand
    from ref.moc.model import decoder_apply, decoder_net, load

    if _sha(model) != weights_sha256:
        raise GoldenError(f"ref/weights checkpoint of {model} differs from the one this vector pins")
    params, cfg = load(model)
    q = jnp.asarray(inputs["q"])
    coeffs = decoder_net(params, expand(q, cfg.latent_bits), cfg)
    return {"coeffs": np.asarray(coeffs, F32), "x_hat": np.asarray(decoder_apply(params, q, cfg), F32)}


def _rt_inputs():
    from ref.moc.data import load_image

    return {"image": load_image("motorcycle_left")[200:264, 300:380].copy()}


def _rt_run(inputs, model, weights_sha256):
    from ref.core.errors import GoldenError
    from ref.moc.model import load, roundtrip

    if _sha(model) != weights_sha256:
        raise GoldenError(f"ref/weights checkpoint of {model} differs from the one this vector pins")
    params, cfg = load(model)
    q, rec = roundtrip(params, inputs["image"], cfg)
    return {"q": q.astype(F32), "decoded": rec}


DEC_IDS = ("moc.decoder", "moc.decoder_block", "moc.decoder_attn", "moc.decoder_tokens",
           "moc.linear_attention", "moc.C20", "moc.C21", "moc.C22", "moc.C23", "moc.C24")

VECTORS: list[Vector] = [
    Vector(
        id="moc.model.linear_attention",
        equations=("moc.linear_attention", "moc.C21"),
        function="ref.moc.decoder.linear_attention",
        make_inputs=_attn_inputs,
        run=lambda inputs: _attn_run(inputs),
        rules={"out": allclose(rtol=1e-5, atol=1e-6)},
        description="ReLU linear attention, 2 heads x 24 tokens, dk 8, dv 6, float32; row (0, 5) has phi(q)=0",
        inputs_doc={"q": "float32 (2, 24, 8): queries, 2 heads x 24 tokens x d_k; q[0, 5] <= 0 everywhere",
                    "k": "float32 (2, 24, 8): keys", "v": "float32 (2, 24, 6): values (d_v = 6)"},
        outputs_doc={"out": "float32 (2, 24, 6): per head [moc.linear_attention] out_i = (phi(q_i)^T KV) / (phi(q_i) . ks + 1e-6), phi = ReLU, KV = sum_j phi(k_j) v_j^T, ks = sum_j phi(k_j) ([moc.C21]); row (0, 5) is 0"},
    ),
    Vector(
        id="moc.model.tokens_p2_3d",
        equations=("moc.decoder_tokens", "moc.C20"),
        function="ref.moc.decoder.patchify",
        make_inputs=_tok_inputs,
        run=lambda inputs, p: _tok_run(inputs, p),
        params={"p": 2},
        description="patchify a (4, 6, 2) x 3 latent grid with P = 2 -> (6, 24) tokens, and back (exact)",
        params_doc={"p": "P, latent positions per token along each axis ([moc.decoder_tokens])"},
        inputs_doc={"z": "float32 (4, 6, 2, 3): a latent with D = 3 spatial axes (4, 6, 2) and C = 3 channels"},
        outputs_doc={"tokens": "float32 (6, 24): [moc.decoder_tokens] t[n, f] = z[P a_0 + o_0, P a_1 + o_1, P a_2 + o_2, c], n row-major over (a_0, a_1, a_2) in (2, 3, 1), f row-major over (o_0, o_1, o_2, c) in (2, 2, 2, 3)",
                     "back": "float32 (4, 6, 2, 3): unpatchify(tokens) = z ([moc.C20])"},
    ),
    Vector(
        id="moc.model.block",
        equations=("moc.decoder_block", "moc.decoder_attn", "moc.C22"),
        function="ref.moc.decoder.block",
        make_inputs=_block_inputs,
        run=lambda inputs, heads: _block_run(inputs, heads),
        params={"heads": 2},
        rules={"y": allclose(rtol=1e-5, atol=1e-5)},
        description="one pre-LN block, d=16, 2 heads, MLP 32, 20 tokens; params as inputs p.<key>",
        params_doc={"heads": "H, attention heads ([moc.decoder_attn]); d_h = 16 / H"},
        inputs_doc={"p.*": "float32: the block's parameters under their checkpoint keys ([moc.decoder]): p.attn/wq, wk, wv, wo (16, 16) stored (in, out) and biases bq, bk, bv, bo (16,); p.ln1_g, ln1_b, ln2_g, ln2_b (16,); p.mlp_w1 (16, 32), mlp_b1 (32,), mlp_w2 (32, 16), mlp_b2 (16,)",
                    "x": "float32 (20, 16): 20 tokens of width d = 16"},
        outputs_doc={"y": "float32 (20, 16): [moc.decoder_block] x + Attn(LN1 x) then + GELU(LN2 x W1 + b1) W2 + b2 with LayerNorm eps 1e-5 and exact GELU ([moc.C22]), Attn of [moc.decoder_attn] with 2 heads of [moc.linear_attention]"},
    ),
    Vector(
        id="moc.model.rate_penalty",
        equations=("moc.rate_penalty", "moc.C25"),
        function="ref.moc.losses.rate_penalty",
        make_inputs=_rate_inputs,
        run=lambda inputs: _rate_run(inputs),
        rules={"r_var": allclose(rtol=1e-5, atol=1e-6), "r_logstd": allclose(rtol=1e-5, atol=1e-6)},
        description="R_var and R_logstd of a (2, 6, 5, 5) latent with channel stds 0.2..40",
        inputs_doc={"y": "float32 (2, 6, 5, 5): companded latent, last axis = M = 5 channels (stds 0.2 .. 40)"},
        outputs_doc={"r_var": "float32 (1,): R_var of [moc.rate_penalty]: mean over channels of the biased per-channel variance, pooling every axis but the last",
                     "r_logstd": "float32 (1,): R_logstd = mean over channels of 1/2 log2(v_c + 1e-6) ([moc.C25])"},
    ),
    Vector(
        id="moc.model.loss",
        equations=("moc.loss",),
        function="ref.moc.losses.total_loss",
        make_inputs=_loss_inputs,
        run=lambda inputs, lam: _loss_run(inputs, lam),
        params={"lam": 1.5e-4},
        rules={"mse": allclose(rtol=1e-5, atol=1e-9), "loss": allclose(rtol=1e-5, atol=1e-9)},
        description="MSE + lam * R_logstd on fixed x, x_hat, y",
        params_doc={"lam": "lambda of [moc.loss]"},
        inputs_doc={"x": "float32 (2, 16, 16, 3): target in [-1/2, 1/2)", "x_hat": "float32 (2, 16, 16, 3): reconstruction",
                    "y": "float32 (2, 2, 2, 12): companded latent c (M = 12)"},
        outputs_doc={"mse": "float32 (1,): mean over all elements of (x - x_hat)^2",
                     "loss": "float32 (1,): [moc.loss] mse + lam * R_logstd(y) ([moc.rate_penalty])"},
    ),
]

for _name, _m in (("rgb_16x", 12), ("rgb_4x", 48)):
    VECTORS.append(Vector(
        id=f"moc.model.{_name}.decoder",
        equations=DEC_IDS,
        function="ref.moc.model.decoder_apply",
        make_inputs=(lambda m=_m: _dec_inputs(m)),
        run=lambda inputs, model, weights_sha256: _dec_run(inputs, model, weights_sha256),
        params={"model": _name, "weights_sha256": _sha(_name)},
        rules={"coeffs": allclose(rtol=1e-4, atol=2e-4), "x_hat": allclose(rtol=1e-4, atol=2e-4)},
        description=f"shipped {_name} decoder on a fixed 6 x 10 x {_m} integer latent: WPT coefficients "
                    "(decoder_net(expand(q))) and x_hat = decoder_apply (48 x 80 x 3, network scale)",
        params_doc={"model": f"shipped checkpoint name: ref/weights/moc_{_name}.safetensors ([moc.C5]: J = 3, M = {_m})",
                    "weights_sha256": "SHA-256 of that checkpoint file (the vector refuses to run on other weights)"},
        inputs_doc={"q": f"float32 (6, 10, {_m}): an integer-valued latent q (values in [-127, 127]) on a 6 x 10 grid"},
        outputs_doc={"coeffs": "float32 (6, 10, 192): decoder_net of [moc.C24]: [moc.decoder] applied to expand(q) / s "
                               "(s = (2^(b-1) - 1) / 1.85, b = 8, [moc.expand]) with the checkpoint's weights: the 192 WPT "
                               "coefficients per position in [moc.C3] order",
                     "x_hat": "float32 (48, 80, 3): wpt_inverse(coeffs) (bior4.4, J = 3, [moc.wpt_inverse]), in the "
                              "network's scale x (before the [moc.C13] output mapping)"},
    ))
VECTORS.append(Vector(
    id="moc.model.rgb_16x.roundtrip",
    equations=("moc.decoder", "moc.C24", "moc.C26"),
    function="ref.moc.model.roundtrip",
    make_inputs=_rt_inputs,
    run=lambda inputs, model, weights_sha256: _rt_run(inputs, model, weights_sha256),
    params={"model": "rgb_16x", "weights_sha256": _sha("rgb_16x")},
    rules={"q": allclose(rtol=0.0, atol=1.0), "decoded": psnr_at_least(45.0)},
    description="encode + decode a 64 x 80 crop of stereo_motorcycle (left) with the shipped rgb_16x: "
                "integer latent (float32; a float32 port may differ by 1 at .5 ties, moc.C15) and uint8 image",
    params_doc={"model": "shipped checkpoint name: ref/weights/moc_rgb_16x.safetensors ([moc.C5]: J = 3, M = 12)",
                "weights_sha256": "SHA-256 of that checkpoint file (the vector refuses to run on other weights)"},
    inputs_doc={"image": "uint8 (64, 80, 3): a crop of skimage stereo_motorcycle (left view)"},
    outputs_doc={"q": "float32 (8, 10, 12): integer latent round_half_even(analysis(x)) of [moc.analysis] with the checkpoint's encoder (x of [moc.C13]); allclose atol 1 ([moc.C15] ties)",
                 "decoded": "uint8 (64, 80, 3): synthesis with the checkpoint's decoder ([moc.decoder], input scaling [moc.C24]), wpt_inverse and the [moc.C13] output mapping; psnr >= 45 dB against the stored image"},
    ))
