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
    ),
    Vector(
        id="moc.model.tokens_p2_3d",
        equations=("moc.decoder_tokens", "moc.C20"),
        function="ref.moc.decoder.patchify",
        make_inputs=_tok_inputs,
        run=lambda inputs, p: _tok_run(inputs, p),
        params={"p": 2},
        description="patchify a (4, 6, 2) x 3 latent grid with P = 2 -> (6, 24) tokens, and back (exact)",
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
    ),
    Vector(
        id="moc.model.rate_penalty",
        equations=("moc.rate_penalty", "moc.C25"),
        function="ref.moc.losses.rate_penalty",
        make_inputs=_rate_inputs,
        run=lambda inputs: _rate_run(inputs),
        rules={"r_var": allclose(rtol=1e-5, atol=1e-6), "r_logstd": allclose(rtol=1e-5, atol=1e-6)},
        description="R_var and R_logstd of a (2, 6, 5, 5) latent with channel stds 0.2..40",
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
    ))
VECTORS.append(Vector(
    id="moc.model.rgb_16x.roundtrip",
    equations=("moc.decoder", "moc.C24"),
    function="ref.moc.model.roundtrip",
    make_inputs=_rt_inputs,
    run=lambda inputs, model, weights_sha256: _rt_run(inputs, model, weights_sha256),
    params={"model": "rgb_16x", "weights_sha256": _sha("rgb_16x")},
    rules={"q": allclose(rtol=0.0, atol=1.0), "decoded": psnr_at_least(45.0)},
    description="encode + decode a 64 x 80 crop of stereo_motorcycle (left) with the shipped rgb_16x: "
                "integer latent (float32; a float32 port may differ by 1 at .5 ties, moc.C15) and uint8 image",
))
