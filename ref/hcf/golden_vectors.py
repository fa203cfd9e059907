"""Golden vectors of HCF's base codec (ids ``hcf.*``; spec/hcf.md).

* ``hcf.config``: N, M, λ, mean grid and radius of the six levels (exact).
* ``hcf.transforms.tiny``: g_a and g_s of a tiny random model (N = 8, M = 12) on a 32x48
  input; float32, allclose (a different summation order / BLAS passes, a different formula
  does not).
* ``hcf.signal``: padding to 64 by edge replication and the pixel convention (exact).
* ``hcf.q<k>.int_indices``: the shipped level's integer hyper-synthesis on a fixed ẑ
  (every intermediate of spec/core-intnet.md; exact).  params carry the checkpoint's
  identity, so a retrained checkpoint needs ``codecref golden regen --id hcf --write``.
* ``hcf.q<k>.bitstream``: a 64x96 crop of an evaluation photograph coded at level k: the
  container bytes (exact), the decoded ŷ (exact, decoder-critical) and pixels (within 1).
"""

from __future__ import annotations

import numpy as np

from ref.conformance.trees import flatten, unflatten
from ref.conformance.golden import Vector, allclose
from ref.hcf.config import LEVELS

F32 = np.float32
TINY_N, TINY_M = 8, 12
VECTOR_LEVELS = (1, 3, 6)


def _flat(prefix, tree, out, dtype=F32):
    """Store ``tree`` in ``out`` under ``prefix`` + "/"-joined paths (ref.conformance.trees)."""
    out.update(flatten(tree, prefix, sep="/", dtype=dtype))
    return out


def _unflat(inputs, prefix):
    return unflatten(inputs, prefix, sep="/")


# --------------------------------------------------------------------------- config
def _config_run(inputs):
    from ref.hcf.config import config_for

    cfgs = [config_for(k) for k in LEVELS]
    return {"levels": np.array(LEVELS, np.int64), "N": np.array([c.N for c in cfgs], np.int64),
            "M": np.array([c.M for c in cfgs], np.int64), "lambda": np.array([c.lam for c in cfgs], np.float64),
            "mean_grid": np.array([c.mean_grid for c in cfgs], np.int64),
            "radius": np.array([c.radius for c in cfgs], np.int64)}


# --------------------------------------------------------------------------- tiny transforms
def _tiny_inputs():
    import jax

    from ref.hcf.model import init_params

    p = init_params(jax.random.key(21), TINY_N, TINY_M)
    r = np.random.Generator(np.random.PCG64(21))
    for part, names in (("g_a", ("gdn0", "gdn1", "gdn2")), ("g_s", ("igdn0", "igdn1", "igdn2"))):
        for n in names:  # effective beta in [1, 2), gamma in [0.05, 0.25) (stored = sqrt(value + pedestal))
            p[part][n] = {"beta": np.sqrt(1.0 + r.random(TINY_N)).astype(F32),
                          "gamma": np.sqrt(0.05 + 0.2 * r.random((TINY_N, TINY_N))).astype(F32)}
    ins = _flat("g_a/", jax.tree_util.tree_map(np.asarray, p["g_a"]), {})
    _flat("g_s/", jax.tree_util.tree_map(np.asarray, p["g_s"]), ins)
    ins["x"] = r.random((1, 32, 48, 3)).astype(F32)
    ins["y_hat"] = r.integers(-5, 6, (1, 2, 3, TINY_M)).astype(F32)
    return ins


def _tiny_run(inputs):
    import jax.numpy as jnp

    from ref.hcf.model import analysis, synthesis

    p = {"g_a": _unflat(inputs, "g_a/"), "g_s": _unflat(inputs, "g_s/")}
    p = {k: {n: {a: jnp.asarray(b) for a, b in d.items()} for n, d in v.items()} for k, v in p.items()}
    return {"y": np.asarray(analysis(p, jnp.asarray(inputs["x"])), F32),
            "x_hat": np.asarray(synthesis(p, jnp.asarray(inputs["y_hat"])), F32)}


# --------------------------------------------------------------------------- signal
def _signal_inputs():
    r = np.random.Generator(np.random.PCG64(22))
    return {"img": r.integers(0, 256, (20, 70, 3), dtype=np.uint8),
            "x_hat": (r.random((1, 64, 128, 3)) * 1.2 - 0.1).astype(F32)}


def _signal_run(inputs):
    from ref.hcf.codec import pad_image, to_network, to_uint8

    padded = pad_image(inputs["img"])
    return {"padded": padded, "x": to_network(padded), "recon": to_uint8(inputs["x_hat"], 20, 70, 3),
            "recon_grey": to_uint8(inputs["x_hat"], 20, 70, 1)}


# --------------------------------------------------------------------------- shipped levels
def _crop():
    from ref.data.datasets import eval_image

    return np.ascontiguousarray(eval_image("motorcycle_left")[200:264, 300:396, :3])


def _latents(level):
    import jax.numpy as jnp

    from ref.core.hyperprior import quantize_z
    from ref.hcf import codec

    m = codec.get_model(level)
    _, z = codec._encoder_nets(m.params, jnp.asarray(codec.to_network(codec.pad_image(_crop()))))
    return quantize_z(z)


def _check_model(level, model):
    from ref.conformance.golden import GoldenError
    from ref.hcf import codec

    have = codec.get_model(level).model_id
    if have != model:
        raise GoldenError(f"hcf level {level}: vector made with checkpoint {model}, this tree ships {have} "
                          "(retrained? run codecref golden regen --id hcf --write)")


def _indices_run(inputs, level, model):
    from ref.core.intnet import int_hyper_synthesis_trace
    from ref.hcf import codec

    _check_model(level, model)
    t = int_hyper_synthesis_trace(codec.get_model(level).p_int, inputs["z_hat"])
    return {k: np.asarray(v, np.int64) for k, v in t.items()}


def _bitstream_inputs():
    return {"img": _crop()}


def _bitstream_run(inputs, level, model):
    from ref.core.container import unpack
    from ref.hcf import codec

    _check_model(level, model)
    data = codec.encode_image(inputs["img"], level)
    c = unpack(data)
    y_hat, _, _ = codec.decode_latent(c)
    return {"bitstream": data, "y_hat": np.asarray(y_hat, F32), "recon": codec.decode_container(c)}


def _shipped_vectors() -> list[Vector]:
    from ref.hcf.checkpoint import checkpoint_path

    out = []
    for k in VECTOR_LEVELS:
        if not checkpoint_path(k).is_file():
            continue
        from ref.hcf.codec import get_model

        model = get_model(k).model_id
        out.append(Vector(
            id=f"hcf.q{k}.int_indices", equations=("hcf.C5",), function="ref.core.intnet.int_hyper_synthesis_trace",
            make_inputs=lambda k=k: {"z_hat": _latents(k)}, run=_indices_run, params={"level": k, "model": model},
            description=f"integer h_s of the shipped level {k} on the z^ of a 64x96 evaluation crop (exact)",
            params_doc={"level": "quality level k", "model": "checkpoint identity (hcf.C6) of ref/weights/hcf_q<k>.safetensors whose h_s_int.* tensors are the integer parameters"},
            inputs_doc={"z_hat": "int64 (1, 1, 2, 64): round(h_a(g_a(x))) of motorcycle_left[200:264, 300:396] padded to 64x128 (hcf.C3)"},
            outputs_doc={"*": "int64: every intermediate of [core.intnet_hs] for p_int = the checkpoint's h_s_int: z (clipped input), acc0, q0 (requantised), a0 (clipped ReLU), acc1, q1, a1, acc2, scale_idx, mean_idx (hcf.C5: the table indices of y^)"}))
        out.append(Vector(
            id=f"hcf.q{k}.bitstream", equations=("hcf.2", "hcf.3", "hcf.4", "hcf.C6"),
            function="ref.hcf.codec.encode_image / decode_container", make_inputs=_bitstream_inputs,
            run=_bitstream_run, params={"level": k, "model": model},
            rules={"recon": allclose(0, 1)},
            description=f"a 64x96 evaluation crop coded at level {k}: container bytes, decoded y^, pixels",
            params_doc={"level": "quality level k", "model": "checkpoint identity (hcf.C6)"},
            inputs_doc={"img": "uint8 (64, 96, 3): motorcycle_left[200:264, 300:396] (skimage stereo_motorcycle left view)"},
            outputs_doc={"bitstream": "bytes: the hcf container (hcf.C6) of img at level k (encoder: hcf.1, hcf.2, hcf.3, hcf.C5); exact on the platform that made it (the encoder's float g_a decides r)",
                         "y_hat": "float32 (1, 4, 8, 96): y^ = r + mean_idx/8 decoded from bitstream (hcf.4; exact on every platform: integers only)",
                         "recon": "uint8 (64, 96, 3): decoded pixels (hcf.5, hcf.C4), within 1 of the stored ones"}))
    return out


VECTORS = [
    Vector(
        id="hcf.config", equations=("hcf.C1", "hcf.C2"), function="ref.hcf.config.config_for",
        make_inputs=lambda: {}, run=_config_run,
        description="widths, lambda, mean grid and table radius of levels 1..6",
        outputs_doc={"levels": "int64 (6,): k = 1..6", "N": "int64 (6,): channels of g_a/g_s hidden layers and z (hcf.C1)",
                     "M": "int64 (6,): channels of y (hcf.C1)", "lambda": "float64 (6,): λ_k of hcf.C2",
                     "mean_grid": "int64 (6,): M_g of [core.C5]", "radius": "int64 (6,): R of the y and z tables"}),
    Vector(
        id="hcf.transforms.tiny", equations=("hcf.1", "hcf.5"), function="ref.hcf.model.analysis / synthesis",
        make_inputs=_tiny_inputs, run=_tiny_run,
        rules={"y": allclose(1e-4, 1e-5), "x_hat": allclose(1e-4, 1e-4)},
        description="g_a and g_s of a random N=8, M=12 model (GDN params perturbed)",
        inputs_doc={"g_a/*": "float32: g_a params (hcf.1): conv<i>/w HWIO (5,5,c_in,c_out), conv<i>/b; gdn<i>/beta (8,), gdn<i>/gamma (8,8) STORED values (effective = max(p, sqrt(min + 2^-36))^2 - 2^-36, [core.gdn_reparam])",
                    "g_s/*": "float32: g_s params (hcf.5): deconv<i>/w correlation-form HWIO ([core.deconv]), deconv<i>/b, igdn<i>/beta, igdn<i>/gamma (stored)",
                    "x": "float32 (1, 32, 48, 3) in [0, 1)", "y_hat": "float32 (1, 2, 3, 12): integers in -5..5"},
        outputs_doc={"y": "float32 (1, 2, 3, 12): g_a(x) (hcf.1)", "x_hat": "float32 (1, 32, 48, 3): g_s(y_hat) (hcf.5)"}),
    Vector(
        id="hcf.signal", equations=("hcf.C3", "hcf.C4"), function="ref.hcf.codec.pad_image / to_network / to_uint8",
        make_inputs=_signal_inputs, run=_signal_run,
        description="padding of a 20x70 image to 64x128 and the pixel convention both ways",
        inputs_doc={"img": "uint8 (20, 70, 3)", "x_hat": "float32 (1, 64, 128, 3) in [-0.1, 1.1)"},
        outputs_doc={"padded": "uint8 (64, 128, 3): hcf.C3 edge replication", "x": "float32 (1, 64, 128, 3): padded / 255 (hcf.C4)",
                     "recon": "uint8 (20, 70, 3): clip(round_half_even(255 x_hat)) cropped (hcf.C4)",
                     "recon_grey": "uint8 (20, 70, 1): round_half_even(float32 mean over the three channels of recon) (hcf.C4, grey images)"}),
] + _shipped_vectors()
