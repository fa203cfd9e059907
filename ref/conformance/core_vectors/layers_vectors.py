"""Golden vectors for the core layers (spec/core-layers.md): conv, deconv, residual blocks,
attention block, sub-pixel conv.

All tensors are float32, NHWC activations and HWIO weights (deconv weights in the correlation
form of [core.C30]). Parameter pytrees are stored flattened: input ``"conv1.w"`` is
``p["conv1"]["w"]``. Outputs are float (layer 3 of spec/core.md): tolerance F32_TOL, which
covers float32 summation-order differences between platforms and libraries (values are O(1)
to O(30); a float32 convolution accumulates ~k*k*C roundings).
"""

from __future__ import annotations

import numpy as np

from ref.conformance.trees import flatten as _flat, unflatten
from ref.conformance.golden import Vector, allclose

F32_TOL = allclose(rtol=1e-4, atol=1e-4)

_P_DOC = ("parameter pytree flattened with '.': 'conv1.w' is p['conv1']['w']; conv weights HWIO "
          "(k, k, c_in, c_out) float32, biases (c_out,), GDN 'gdn.beta' (C,) / 'gdn.gamma' (C, C) stored "
          "(reparametrised) values [core.gdn_reparam]")



def _unflat(inputs: dict, prefix: str) -> dict:
    import jax.numpy as jnp

    return unflatten(inputs, prefix, leaf=lambda _key, a: jnp.asarray(a))

def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _conv_p(r, k, ci, co, scale=None) -> dict:
    s = scale if scale is not None else 1.0 / np.sqrt(ci * k * k)
    return {"w": r.uniform(-s, s, (k, k, ci, co)).astype(np.float32), "b": r.uniform(-0.2, 0.2, co).astype(np.float32)}


def _x(r, shape, sd=1.0):
    return r.normal(0, sd, shape).astype(np.float32)


# --------------------------------------------------------------------------- conv / deconv
def _conv_inputs() -> dict:
    r = _rng(101)
    return {"x": _x(r, (1, 7, 6, 3)), **_flat({"k5": _conv_p(r, 5, 3, 4), "k3": _conv_p(r, 3, 3, 4),
                                                 "k1": _conv_p(r, 1, 3, 2)})}


def _conv_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core.layers import conv

    x = jnp.asarray(inputs["x"])
    return {"k5_s2": np.asarray(conv(_unflat(inputs, "k5."), x, stride=2)),
            "k3_s1": np.asarray(conv(_unflat(inputs, "k3."), x, stride=1)),
            "k1_s1": np.asarray(conv(_unflat(inputs, "k1."), x))}


def _deconv_inputs() -> dict:
    r = _rng(102)
    return {"x": _x(r, (1, 3, 4, 3)), **_flat({"k5": _conv_p(r, 5, 3, 2, 0.3), "k3": _conv_p(r, 3, 3, 2, 0.3)})}


def _deconv_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core.layers import deconv

    x = jnp.asarray(inputs["x"])
    return {"k5_s2": np.asarray(deconv(_unflat(inputs, "k5."), x, stride=2)),
            "k3_s2": np.asarray(deconv(_unflat(inputs, "k3."), x, stride=2))}


# --------------------------------------------------------------------------- blocks
def _resblock_inputs() -> dict:
    r = _rng(103)
    same = {"conv1": _conv_p(r, 3, 4, 4), "conv2": _conv_p(r, 3, 4, 4)}
    skip = {"conv1": _conv_p(r, 3, 3, 4), "conv2": _conv_p(r, 3, 4, 4), "skip": _conv_p(r, 1, 3, 4)}
    return {"x4": _x(r, (1, 5, 4, 4), 2.0), "x3": _x(r, (1, 5, 4, 3), 2.0),
            **_flat({"same": same, "skip": skip})}


def _resblock_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core.layers import residual_block

    return {"same": np.asarray(residual_block(_unflat(inputs, "same."), jnp.asarray(inputs["x4"]))),
            "skip": np.asarray(residual_block(_unflat(inputs, "skip."), jnp.asarray(inputs["x3"])))}


def _resblock_gdn_inputs() -> dict:
    r = _rng(104)

    def gdn_p(c):
        return {"beta": r.uniform(0.5, 1.5, c).astype(np.float32), "gamma": r.uniform(-0.05, 0.5, (c, c)).astype(np.float32)}

    s1 = {"conv1": _conv_p(r, 3, 4, 4), "conv2": _conv_p(r, 3, 4, 4), "gdn": gdn_p(4)}
    s2 = {"conv1": _conv_p(r, 3, 4, 6), "conv2": _conv_p(r, 3, 6, 6), "gdn": gdn_p(6), "skip": _conv_p(r, 1, 4, 6)}
    return {"x": _x(r, (1, 6, 5, 4), 2.0), **_flat({"s1": s1, "s2": s2})}


def _resblock_gdn_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core.layers import residual_block_gdn

    x = jnp.asarray(inputs["x"])
    return {"s1": np.asarray(residual_block_gdn(_unflat(inputs, "s1."), x)),
            "s2": np.asarray(residual_block_gdn(_unflat(inputs, "s2."), x, stride=2))}


def _attention_inputs() -> dict:
    r = _rng(105)
    n = 6
    unit = lambda: {"conv1": _conv_p(r, 1, n, n // 2), "conv2": _conv_p(r, 3, n // 2, n // 2),  # noqa: E731
                    "conv3": _conv_p(r, 1, n // 2, n)}
    p = {k: unit() for k in ("a0", "a1", "a2", "b0", "b1", "b2")}
    p["b_out"] = _conv_p(r, 1, n, n, 1.0)
    return {"x": _x(r, (1, 4, 5, n), 1.5), **_flat(p, "p.")}


def _attention_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core.layers import attention_block

    return {"y": np.asarray(attention_block(_unflat(inputs, "p."), jnp.asarray(inputs["x"])))}


def _subpel_inputs() -> dict:
    r = _rng(106)
    return {"x": _x(r, (1, 3, 4, 3)), **_flat(_conv_p(r, 3, 3, 8), "p.")}


def _subpel_run(inputs, r: int) -> dict:
    import jax.numpy as jnp

    from ref.core.layers import subpel_conv

    return {"y": np.asarray(subpel_conv(_unflat(inputs, "p."), jnp.asarray(inputs["x"]), r=r))}


VECTORS = [
    Vector(
        id="core.layers.conv",
        equations=("core.conv",),
        function="ref.core.layers.conv",
        make_inputs=_conv_inputs, run=_conv_run, default_rule=F32_TOL,
        description="CompressAI conv (zero padding k//2) at k=5 s=2, k=3 s=1, k=1 on a (1,7,6,3) float32 input",
        inputs_doc={"x": "(1,7,6,3) float32 NHWC input", "k5.w": "(5,5,3,4) HWIO weight", "k5.b": "(4,) bias",
                    "k3.w": "(3,3,3,4)", "k3.b": "(4,)", "k1.w": "(1,1,3,2)", "k1.b": "(2,)"},
        outputs_doc={"k5_s2": "[core.conv] of x with k5 at stride 2: (1,4,3,4)",
                     "k3_s1": "[core.conv] of x with k3 at stride 1: (1,7,6,4)",
                     "k1_s1": "[core.conv] of x with k1 at stride 1: (1,7,6,2)"},
    ),
    Vector(
        id="core.layers.deconv",
        equations=("core.deconv", "core.C30"),
        function="ref.core.layers.deconv",
        make_inputs=_deconv_inputs, run=_deconv_run, default_rule=F32_TOL,
        description="CompressAI deconv (padding k//2, output_padding 1) at k=5 and k=3, stride 2, correlation-form weights",
        inputs_doc={"x": "(1,3,4,3) float32 NHWC input",
                    "k5.w": "(5,5,3,2) correlation-form HWIO weight [core.C30] (torch weight wt[ci,co,a,c] = w[4-a,4-c,ci,co])",
                    "k5.b": "(2,)", "k3.w": "(3,3,3,2) correlation-form HWIO weight", "k3.b": "(2,)"},
        outputs_doc={"k5_s2": "[core.deconv]/[core.C30] of x with k5, stride 2: (1,6,8,2)",
                     "k3_s2": "[core.deconv]/[core.C30] of x with k3, stride 2: (1,6,8,2)"},
    ),
    Vector(
        id="core.layers.resblock",
        equations=("core.resblock", "core.leaky_relu", "core.conv"),
        function="ref.core.layers.residual_block",
        make_inputs=_resblock_inputs, run=_resblock_run, default_rule=F32_TOL,
        description="residual block with LeakyReLU(0.01): identity skip (4->4) and 1x1 skip (3->4)",
        inputs_doc={"x4": "(1,5,4,4) float32 input of the 4->4 block", "x3": "(1,5,4,3) input of the 3->4 block",
                    "same.*": "4->4 block params (conv1, conv2)", "skip.*": "3->4 block params (conv1, conv2, skip)"},
        params_doc={},
        outputs_doc={"same": "[core.resblock] with params same.* on x4", "skip": "[core.resblock] with params skip.* on x3"},
    ),
    Vector(
        id="core.layers.resblock_gdn",
        equations=("core.resblock_gdn", "core.gdn", "core.leaky_relu"),
        function="ref.core.layers.residual_block_gdn",
        make_inputs=_resblock_gdn_inputs, run=_resblock_gdn_run, default_rule=F32_TOL,
        description="residual block with GDN: stride 1 identity skip (4->4) and stride 2 with 1x1 skip (4->6)",
        inputs_doc={"x": "(1,6,5,4) float32 input", "s1.*": "4->4 stride-1 block params " + _P_DOC,
                    "s2.*": "4->6 stride-2 block params (with skip)"},
        outputs_doc={"s1": "[core.resblock_gdn] stride 1 on x: (1,6,5,4)",
                     "s2": "[core.resblock_gdn] stride 2 on x: (1,3,3,6)"},
    ),
    Vector(
        id="core.layers.attention_block",
        equations=("core.attention_block", "core.conv"),
        function="ref.core.layers.attention_block",
        make_inputs=_attention_inputs, run=_attention_run, default_rule=F32_TOL,
        description="Cheng 2020 attention module without non-local block, N=6",
        inputs_doc={"x": "(1,4,5,6) float32 input", "p.*": "params: units a0..a2, b0..b2 (conv1 1x1 6->3, conv2 3x3 3->3, "
                    "conv3 1x1 3->6) and b_out (1x1 6->6)"},
        outputs_doc={"y": "[core.attention_block]: x + A(x) * sigmoid(B(x))"},
    ),
    Vector(
        id="core.layers.subpel_conv",
        equations=("core.subpel_conv",),
        function="ref.core.layers.subpel_conv",
        make_inputs=_subpel_inputs, run=_subpel_run, params={"r": 2}, default_rule=F32_TOL,
        description="conv3x3 3->8 then PixelShuffle(2): (1,3,4,3) -> (1,6,8,2)",
        inputs_doc={"x": "(1,3,4,3) float32 input", "p.w": "(3,3,3,8) HWIO", "p.b": "(8,)"},
        params_doc={"r": "upsampling factor"},
        outputs_doc={"y": "[core.subpel_conv]: out[0,h*2+i,w*2+j,c] = conv(x)[0,h,w,c*4+i*2+j]"},
    ),
]
