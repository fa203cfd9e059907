"""Golden vectors of the intermediate node (ids ``hcf.node.*``; spec/hcf-cascade.md
"The intermediate node").

* ``hcf.node.hops``: the header field grammar on hand-written values (exact).
* ``hcf.node.policy``: node-policy strings for given (k, K) (exact).
* ``hcf.node.tiny_latent``: the node's latent chain phi^inter_4 then phi^intra_3 (policy
  1,0,1) with small random modules (M = 12) on a fixed y^4 (float, allclose).
* ``hcf.node.drf_q6_q3``: the DRF node on the level-6 stream of a 64x64 evaluation crop
  (shipped base levels 6 and 3).
* ``hcf.node.hcf_q6_q3``: the HCF node on the same stream with the shipped cascade
  (ref/weights/hcf_cascade.safetensors, pinned by SHA-256); made only when that file exists
  at regen time -- otherwise regen prints why it is absent.

The shipped-weight vectors pin their checkpoints (model identities, cascade SHA-256): a
retrained checkpoint needs ``codecref golden regen --id hcf.node --write``.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

from ref.conformance.golden import Vector, allclose
from ref.conformance.trees import flatten, unflatten

F32 = np.float32

HOPS_CASES = [  # (header level, hops value)
    (3, "6>3:hcf=1001"), (2, "6>3:hcf=1001,3>2:drf"), (1, "6>5:drf,5>4:hcf=11,4>3:drf,3>2:hcf=11,2>1:drf"),
    (1, "5>1:hcf=10101"), (2, "6>3:hcf=1001"), (3, "6>3:hcf=101"), (3, "6>3:hcf=0001"), (3, "6>3:hcf=1000"),
    (3, "3>3:drf"), (4, "3>4:drf"), (3, "7>3:drf"), (3, "6>3:DRF"), (3, "6>3:drf "), (3, "6>3:drf,"),
    (2, "6>3:drf,4>2:drf"), (2, "6>3:drf;3>2:drf"), (3, "6>3:drf=1001"), (3, ""), (3, "06>3:drf"),
]
POLICY_CASES = [  # (k, K, text or "" for the default)
    (6, 3, ""), (6, 3, "1,0,0,1"), (6, 3, "1, 1,0 ,1"), (4, 3, ""), (6, 1, ""), (6, 1, "1,1,1,1,1,1"),
    (6, 3, "0,0,0,1"), (6, 3, "1,0,0,0"), (6, 3, "1,0,1"), (6, 3, "1,2,0,1"), (6, 3, "1001"), (3, 4, ""),
    (3, 3, ""), (3, 3, "1"),
]
VECTOR_K, VECTOR_TARGET = 6, 3
CROP = ("motorcycle_left", 200, 264, 300, 364)


def _lines(cases) -> bytes:
    return "\n".join("\t".join(map(str, c)) for c in cases).encode()


def _cases(data: bytes):
    return [line.split("\t") for line in data.decode().split("\n")]


# --------------------------------------------------------------------------- hops, policy
def _hops_run(inputs):
    from ref.core.errors import BitstreamError
    from ref.hcf.node_hops import check_hops, format_hops

    valid, canon = [], []
    for level, text in _cases(inputs["cases"]):
        try:
            canon.append(format_hops(check_hops(text, int(level))))
            valid.append(1)
        except BitstreamError:
            canon.append("-")
            valid.append(0)
    return {"valid": np.array(valid, np.uint8), "canonical": "\n".join(canon).encode()}


def _policy_run(inputs):
    from ref.core.errors import InputError
    from ref.hcf.node import parse_policy

    valid, out = [], []
    for k, K, text in _cases(inputs["cases"]):
        try:
            out.append("".join(map(str, parse_policy(text or None, int(k), int(K)))))
            valid.append(1)
        except InputError:
            out.append("-")
            valid.append(0)
    return {"valid": np.array(valid, np.uint8), "policy": "\n".join(out).encode()}


# --------------------------------------------------------------------------- tiny latent chain
def _tiny_inputs():
    import jax

    from ref.hcf.transform import init_phi

    k1, k2 = jax.random.split(jax.random.key(31))
    mods = {"phi4/inter": init_phi(k1, 12, 12), "phi3/intra": init_phi(k2, 12, 12)}
    ins = {}
    for name, p in mods.items():
        ins.update(flatten(jax.tree_util.tree_map(np.asarray, p), name + "/", sep="/", dtype=F32))
    r = np.random.Generator(np.random.PCG64(31))
    ins["y_hat"] = r.integers(-4, 5, (1, 3, 5, 12)).astype(F32)
    return ins


def _tiny_run(inputs):
    import jax.numpy as jnp

    from ref.hcf.node import node_latent
    from ref.hcf.transform import phi

    def tree(prefix):
        return unflatten({k: jnp.asarray(v) for k, v in inputs.items() if k.startswith(prefix)}, prefix, sep="/")

    modules = {4: {"inter": tree("phi4/inter/"), "intra": None}, 3: {"inter": None, "intra": tree("phi3/intra/")}}

    def no_transmit(k, y):
        raise AssertionError("policy 1,0,1 transmits nowhere inside the node")

    y = node_latent(jnp.asarray(inputs["y_hat"]), 4, (1, 0, 1), modules, no_transmit, phi_fn=phi)
    return {"y_tilde": np.asarray(y, F32)}


# --------------------------------------------------------------------------- shipped weights
def _crop():
    from ref.data.datasets import eval_image

    name, r0, r1, c0, c1 = CROP
    return np.ascontiguousarray(eval_image(name)[r0:r1, c0:c1, :3])


def _stream_inputs():
    from ref.hcf.codec import encode_image

    return {"stream": encode_image(_crop(), VECTOR_K)}


def _check_models(models: dict):
    from ref.conformance.golden import GoldenError
    from ref.hcf.codec import get_model

    for level, ident in models.items():
        have = get_model(int(level)).model_id
        if have != ident:
            raise GoldenError(f"hcf level {level}: vector made with checkpoint {ident}, this tree ships {have} "
                              "(retrained? run codecref golden regen --id hcf.node --write)")


def _cascade_sha256() -> str | None:
    from ref.hcf.cascade_checkpoint import DEFAULT_PATH

    return hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest() if DEFAULT_PATH.is_file() else None


def _decoded(data: bytes, level: int):
    from ref.core.container import unpack
    from ref.hcf.codec import decode_latent, get_model

    return np.asarray(decode_latent(unpack(data), get_model(level))[0], F32)


def _drf_run(inputs, models):
    from ref.hcf.node_drf import transcode_drf

    _check_models(models)
    res = transcode_drf(inputs["stream"], VECTOR_TARGET)
    return {"bitstream": res.data, "pixels": res.pixels, "y_hat": _decoded(res.data, VECTOR_TARGET)}


def _hcf_run(inputs, models, cascade_sha256, policy):
    from ref.conformance.golden import GoldenError
    from ref.hcf.node import load_cascade, transcode_hcf

    _check_models(models)
    have = _cascade_sha256()
    if have != cascade_sha256:
        raise GoldenError(f"ref/weights/hcf_cascade.safetensors has SHA-256 {have}, this vector pins "
                          f"{cascade_sha256} (retrained? run codecref golden regen --id hcf.node --write)")
    res = transcode_hcf(inputs["stream"], VECTOR_TARGET, policy, cascade=load_cascade())
    return {"bitstream": res.data, "y_tilde": res.y_tilde, "y_hat": _decoded(res.data, VECTOR_TARGET)}


_STREAM_DOC = (f"bytes: the level-{VECTOR_K} hcf container (hcf.C6, encode_image) of {CROP[0]}"
               f"[{CROP[1]}:{CROP[2]}, {CROP[3]}:{CROP[4]}] (64x64 RGB, skimage stereo_motorcycle left view)")
_MODELS_DOC = "{level: checkpoint identity (hcf.C6)} of the shipped base levels the vector was made with"


def _shipped_vectors() -> list[Vector]:
    from ref.hcf.checkpoint import checkpoint_path

    levels = range(VECTOR_TARGET, VECTOR_K + 1)
    if not all(checkpoint_path(k).is_file() for k in levels):
        return []
    from ref.hcf.codec import get_model

    out = [Vector(
        id=f"hcf.node.drf_q{VECTOR_K}_q{VECTOR_TARGET}", equations=("hcf.node_drf", "hcf.hops"),
        function="ref.hcf.node_drf.transcode_drf", make_inputs=_stream_inputs, run=_drf_run,
        params={"models": {str(k): get_model(k).model_id for k in (VECTOR_K, VECTOR_TARGET)}},
        rules={"pixels": allclose(0, 1)},
        description=f"DRF node {VECTOR_K} -> {VECTOR_TARGET} on a 64x64 crop: decode to pixels, re-encode",
        params_doc={"models": _MODELS_DOC},
        inputs_doc={"stream": _STREAM_DOC},
        outputs_doc={"pixels": f"uint8 (64, 64, 3): the level-{VECTOR_K} decode of stream (hcf.4, hcf.5, hcf.C4), "
                               "within 1 of the stored values (float g_s)",
                     "bitstream": f"bytes: the level-{VECTOR_TARGET} container of pixels (hcf.node_drf: hcf.1-hcf.3, "
                                  f"hcf.C5, hcf.C6) with header hops = '{VECTOR_K}>{VECTOR_TARGET}:drf' (hcf.hops); "
                                  "exact on the platform that made it (the float g_a decides r)",
                     "y_hat": f"float32 (1, 4, 4, 96): y^ decoded from bitstream by level {VECTOR_TARGET} (hcf.4; "
                              "exact given bitstream: integers only)"})]
    sha = _cascade_sha256()
    if sha is None:
        print(f"hcf.node.hcf_q{VECTOR_K}_q{VECTOR_TARGET}: not made -- no shipped cascade "
              "(ref/weights/hcf_cascade.safetensors does not exist)", file=sys.stderr)
        return out
    policy = "1,0,0,1"
    out.append(Vector(
        id=f"hcf.node.hcf_q{VECTOR_K}_q{VECTOR_TARGET}", equations=("hcf.node", "hcf.node_policy", "hcf.hops", "hcf.C21"),
        function="ref.hcf.node.transcode_hcf", make_inputs=_stream_inputs, run=_hcf_run,
        params={"models": {str(k): get_model(k).model_id for k in levels}, "cascade_sha256": sha, "policy": policy},
        rules={"y_tilde": allclose(1e-4, 1e-4)},
        description=f"HCF node {VECTOR_K} -> {VECTOR_TARGET} (default policy) on a 64x64 crop with the shipped cascade",
        params_doc={"models": _MODELS_DOC,
                    "cascade_sha256": "SHA-256 of ref/weights/hcf_cascade.safetensors (the φ modules, float16)",
                    "policy": "node policy (π_6, π_5, π_4, π_3) in the syntax of hcf.node_policy (the default)"},
        inputs_doc={"stream": _STREAM_DOC},
        outputs_doc={"y_tilde": "float32 (1, 4, 4, 96): ỹ^3 = φ^intra_4(φ^intra_5(φ^inter_6(ŷ^6))), ŷ^6 decoded "
                                "from stream (hcf.node); allclose rtol = atol = 1e-4",
                     "bitstream": f"bytes: the level-{VECTOR_TARGET} container of y_tilde (hcf.node, hcf.C21, hcf.3) "
                                  f"with hops = '{VECTOR_K}>{VECTOR_TARGET}:hcf=1001' (hcf.hops); exact on the "
                                  "platform that made it (float φ and h_a decide r and ẑ)",
                     "y_hat": f"float32 (1, 4, 4, 96): ŷ^3 decoded from bitstream by level {VECTOR_TARGET} "
                              "(hcf.4; exact given bitstream)"}))
    return out


VECTORS = [
    Vector(
        id="hcf.node.hops", equations=("hcf.hops",), function="ref.hcf.node_hops.check_hops / format_hops",
        make_inputs=lambda: {"cases": _lines(HOPS_CASES)}, run=_hops_run,
        description="the hops header field: valid and refused values against the header level",
        inputs_doc={"cases": "bytes: UTF-8 lines '<header level>\\t<hops value>' (hand-written)"},
        outputs_doc={"valid": "uint8 (n,): 1 if the decoder accepts the value for that level (hcf.hops), 0 if "
                              "it refuses it (BitstreamError)",
                     "canonical": "bytes: UTF-8 lines, per case the value re-written from its parsed hops "
                                  "(format_hops), or '-' if refused; valid values re-write to themselves"}),
    Vector(
        id="hcf.node.policy", equations=("hcf.node_policy",), function="ref.hcf.node.parse_policy",
        make_inputs=lambda: {"cases": _lines(POLICY_CASES)}, run=_policy_run,
        description="node policy strings and defaults for given (k, K)",
        inputs_doc={"cases": "bytes: UTF-8 lines 'k\\tK\\t<policy text>' (empty text: no --policy, the default)"},
        outputs_doc={"valid": "uint8 (n,): 1 if accepted (hcf.node_policy), 0 if refused (InputError)",
                     "policy": "bytes: UTF-8 lines, per case π_k..π_K as digits, or '-' if refused"}),
    Vector(
        id="hcf.node.tiny_latent", equations=("hcf.node",), function="ref.hcf.node.node_latent",
        make_inputs=_tiny_inputs, run=_tiny_run, rules={"y_tilde": allclose(1e-4, 1e-5)},
        description="node latent chain 4 -> 2, policy 1,0,1: phi^intra_3(phi^inter_4(y^4)), M = 12 random modules",
        inputs_doc={"phi4/inter/*": "float32: φ^inter_{4->3} params (hcf.C20 pytree: down, rb_gdn, attn, rb, up, out; "
                                    "conv w HWIO, b; GDN beta, gamma STORED values, [core.gdn_reparam]), M 12 -> 12",
                    "phi3/intra/*": "float32: φ^intra_{3->2} params, same layout",
                    "y_hat": "float32 (1, 3, 5, 12): a decoded level-4 latent (integers in -4..4)"},
        outputs_doc={"y_tilde": "float32 (1, 3, 5, 12): ỹ^2 = φ^intra_{3->2}(φ^inter_{4->3}(y_hat)) (hcf.node, "
                                "hcf.phi); allclose rtol 1e-4, atol 1e-5"}),
] + _shipped_vectors()
