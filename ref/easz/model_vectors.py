"""Golden vectors for the Easz reconstruction model, its loss and training protocol
(spec/easz.md "Reconstruction model": easz.model, easz.2, easz.lpips, easz.C20..C27).

Float outputs of the network are compared with ``allclose(rtol=0, atol=0.02)`` in pixel
units (0..255): a port computing in float32 with any summation order stays far inside
that; masks are EXACT.  The LPIPS vector uses *synthetic* VGG weights drawn from the spec's
PCG32 (core.prng; the real VGG16 weights are not shipped), so it pins the algorithm, not the
weights.  The model vectors pin the checkpoint file by name and SHA-256 (params) and refuse
to run on other weights; random training draws are stored inputs, not generator calls.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ref.conformance.golden import EXACT, Vector, allclose

ATOL_PIX = allclose(0.0, 0.02)


def _eval_crop(h: int, w: int, gray: bool = False) -> np.ndarray:
    import skimage.data as d

    img = d.camera()[:, :, None] if gray else d.stereo_motorcycle()[0]
    y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[y:y + h, x:x + w]).astype(np.float32)


def _keep(h: int, w: int, b: int, seed: int, ratio: float = 0.3) -> np.ndarray:
    k = np.random.default_rng(seed).random((h // b, w // b)) >= ratio
    return np.repeat(np.repeat(k, b, 0), b, 1)


# --------------------------------------------------------------------------- checkpoint pin
def _checkpoint_sha256(name: str) -> str:
    """SHA-256 (hex) of ref/weights/<name>, or "missing"."""
    from ref.easz.recon import WEIGHTS_DIR

    p = WEIGHTS_DIR / name
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "missing"


def _load_pinned(checkpoint: str, weights_sha256: str):
    """The shipped default checkpoint, after checking it is the file this vector pins
    (name and SHA-256); GoldenError otherwise."""
    from ref.core.errors import GoldenError
    from ref.easz import recon

    if checkpoint != recon.DEFAULT_CHECKPOINT:
        raise GoldenError(f"this vector pins checkpoint {checkpoint}, but the shipped default is {recon.DEFAULT_CHECKPOINT}")
    got = _checkpoint_sha256(checkpoint)
    if got != weights_sha256:
        raise GoldenError(f"ref/weights/{checkpoint} has SHA-256 {got}, this vector pins {weights_sha256}: "
                          "the vector was made with other weights (regenerate it with the new checkpoint)")
    return recon.load_default()


_CKPT = {"checkpoint": "easz_n32_b4.safetensors", "weights_sha256": _checkpoint_sha256("easz_n32_b4.safetensors")}
_CKPT_DOC = {"checkpoint": "shipped checkpoint file name: ref/weights/easz_n32_b4.safetensors ([easz.C24]; safetensors, the model's parameters by name)",
             "weights_sha256": "SHA-256 of that checkpoint file (the vector refuses to run on other weights; [easz.C24])"}


# --------------------------------------------------------------------------- forward
def _forward_inputs():
    from ref.easz.interp import interpolate_per_patch
    from ref.easz.model import patch_to_tokens

    img = _eval_crop(32, 64)
    keep = np.random.default_rng(11).random((2, 64)) >= 0.25
    pix = np.repeat(np.repeat(keep.reshape(2, 8, 8).transpose(1, 0, 2).reshape(8, 16), 4, 0), 4, 1)

    def tokens(x):
        patches = x.reshape(1, 32, 2, 32, 3).transpose(0, 2, 1, 3, 4).reshape(2, 32, 32, 3)
        return patch_to_tokens(patches, 4).astype(np.float32)

    erased = np.where(pix[..., None], img, np.float32(0)).astype(np.float32)
    tok = np.where(keep[..., None], tokens(img), np.float32(0)).astype(np.float32)
    return {"tokens": tok, "keep": keep, "base": tokens(interpolate_per_patch(erased, pix, 32).astype(np.float32))}


def _forward_run(inputs, checkpoint, weights_sha256):
    from ref.easz.model import forward

    params, cfg = _load_pinned(checkpoint, weights_sha256)
    base = inputs["base"] if cfg.residual else None
    return {"pred": np.asarray(forward(params, inputs["tokens"], inputs["keep"], cfg, base), np.float32)}


def _recon_inputs(gray: bool):
    def make():
        img = _eval_crop(32, 64, gray) if gray else _eval_crop(64, 64)
        keep = _keep(img.shape[0], img.shape[1], 4, 5)
        return {"image": np.where(keep[..., None], img, 0).astype(np.float32), "keep": keep}
    return make


def _recon_run(inputs, checkpoint, weights_sha256):
    from ref.easz import recon

    params, cfg = _load_pinned(checkpoint, weights_sha256)
    return {"recon": recon.reconstruct(params, inputs["image"], inputs["keep"], cfg)}


def _composite_inputs():
    img = _eval_crop(32, 64)
    crops = np.stack([img[:, :32], img[:, 32:]]).astype(np.float32)
    keep = np.random.default_rng(3).random((2, 1, 64)) >= 0.25
    return {"crops": crops, "keep": keep}


def _composite_run(inputs, checkpoint, weights_sha256):
    from ref.easz.loss import l1
    from ref.easz.train import composite_crops, interpolation_base

    params, cfg = _load_pinned(checkpoint, weights_sha256)
    base = interpolation_base(inputs["crops"], inputs["keep"], cfg) if cfg.residual else None
    y = np.asarray(composite_crops(params, inputs["crops"], inputs["keep"], cfg, base), np.float32)
    return {"composite": y, "l1": np.asarray(l1(inputs["crops"], y), np.float32).reshape(1)}


# --------------------------------------------------------------------------- loss / LPIPS
def synthetic_vgg(seed: int) -> dict[str, np.ndarray]:
    """Synthetic LPIPS-VGG16 weights from the spec's PCG32 ([core.prng_seed], [core.prng_uniform01]).

    One generator Pcg32(seed, stream 0); u = its next uniform01 values (float64, multiples of
    2**-24) consumed in this order: per conv layer in VGG16 order the kernel (3, 3, cin, cout)
    in C order, kernel = (2u - 1) * sqrt(6 / (9 cin)) (He-uniform), then the bias (cout,),
    bias = 0.01 * (2u - 1); then per LPIPS head l the (c_l,) weights 0.1 * u.  Every value is
    computed in float64 (IEEE, correctly rounded) and then cast to float32, so a port gets
    the same bits.  (The real VGG16 weights are not shipped; these pin the algorithm only.)
    """
    from ref.core.prng import Pcg32
    from ref.easz.lpips import LIN_CHANNELS, VGG_CFG

    rng = Pcg32(seed, 0)
    out, cin, i = {}, 3, 0
    for v in VGG_CFG:
        if v == "M":
            continue
        u = rng.uniform01_array(9 * cin * v).reshape(3, 3, cin, v)
        out[f"conv{i}.kernel"] = ((2.0 * u - 1.0) * np.sqrt(6.0 / (9 * cin))).astype(np.float32)
        out[f"conv{i}.bias"] = (0.01 * (2.0 * rng.uniform01_array(v) - 1.0)).astype(np.float32)
        cin, i = v, i + 1
    for l, c in enumerate(LIN_CHANNELS):
        out[f"lin{l}.kernel"] = (0.1 * rng.uniform01_array(c)).astype(np.float32)
    return out


def _loss_inputs():
    rng = np.random.default_rng(21)
    x = rng.uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).astype(np.float32)
    return {"x": x, "y": y}


def _loss_run(inputs, weight_seed: int, lam: float):
    from ref.easz import loss, lpips

    w = synthetic_vgg(weight_seed)
    x, y = inputs["x"], inputs["y"]
    d = np.asarray(lpips.lpips(w, x * np.float32(2 / 255) - 1, y * np.float32(2 / 255) - 1), np.float32)
    tot, a, p = loss.loss(x, y, w, lam=lam)
    return {"lpips": d, "l1": np.asarray(a, np.float32).reshape(1), "total": np.asarray(tot, np.float32).reshape(1)}


# --------------------------------------------------------------------------- training protocol
class _StoredUniforms:
    """Stands in for the training generator: ``random(shape)`` returns the stored draws."""

    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def random(self, shape):
        if tuple(shape) != self.u.shape:
            raise ValueError(f"stored uniforms have shape {self.u.shape}, asked for {tuple(shape)}")
        return self.u


def _train_inputs():
    # the training draws are made once here (numpy PCG64 of training seed 7) and stored,
    # so a port needs no NumPy generator: keep is a pure function of u
    return {"u": np.random.default_rng(7).random((2, 4, 64)),
            "steps": np.array([0, 1, 80, 160, 800, 1599, 1600], np.int64)}


def _train_run(inputs, ratio: float, steps: int, lr: float):
    from ref.easz.train import lr_schedule, random_keep

    keep = random_keep(_StoredUniforms(inputs["u"]), inputs["u"].shape, ratio)
    sched = lr_schedule(steps, lr)
    at = inputs["steps"]
    return {"keep": keep, "lr": np.asarray([sched(int(s)) for s in at], np.float32)}


VECTORS = [
    Vector(id="easz.model.forward_n32_b4", equations=("easz.model", "easz.C20", "easz.C21", "easz.C22",
                                                      "easz.C23", "easz.C24", "easz.C28"),
           function="ref.easz.model.forward", make_inputs=_forward_inputs,
           run=lambda inputs, checkpoint, weights_sha256: _forward_run(inputs, checkpoint, weights_sha256),
           params=dict(_CKPT), params_doc=dict(_CKPT_DOC), rules={"pred": ATOL_PIX},
           description="the reconstruction transformer on two 32 x 32 patches (n = 32, b = 4) with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"tokens": "float32 (2, 64, 48): per patch the T = 64 tokens u_t of [easz.C20] (b*b*C = 48 values in pixel units 0..255), erased tokens set to 0",
                       "keep": "bool (2, 64): k_t, True = kept token (about 25 % erased)",
                       "base": "float32 (2, 64, 48): B of [easz.C28]: the [easz.C16] interpolation of each patch from its kept pixels, tokenised like tokens"},
           outputs_doc={"pred": "float32 (2, 64, 48): x^_t of [easz.model] for every token (unclipped, pixel units) with the weights of the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28]): encoder attention restricted to kept tokens (logit -1e9), erased tokens enter the decoder as P_t, output B_t + 255 * 0.25 * (W_o y_t + b_o); allclose atol 0.02"},
    ),
    Vector(id="easz.model.recon_rgb_64x64", equations=("easz.model", "easz.C25"),
           function="ref.easz.recon.reconstruct", make_inputs=_recon_inputs(False),
           run=lambda inputs, checkpoint, weights_sha256: _recon_run(inputs, checkpoint, weights_sha256),
           params=dict(_CKPT), params_doc=dict(_CKPT_DOC), rules={"recon": ATOL_PIX},
           description="image-level reconstruction of a 64 x 64 RGB crop with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"image": "float32 (64, 64, 3): X_u: an evaluation crop with erased pixels set to 0 (pixel units)",
                       "keep": "bool (64, 64): per-pixel keep mask, constant on 4 x 4 sub-patches (30 % erased)"},
           outputs_doc={"recon": "float32 (64, 64, 3): ref.easz.recon.reconstruct of [easz.model]/[easz.C25]: per 32 x 32 patch the model prediction, erased pixels clip(x^, 0, 255), kept pixels returned unchanged; allclose atol 0.02"},
    ),
    Vector(id="easz.model.recon_gray_32x64", equations=("easz.model", "easz.C25"),
           function="ref.easz.recon.reconstruct", make_inputs=_recon_inputs(True),
           run=lambda inputs, checkpoint, weights_sha256: _recon_run(inputs, checkpoint, weights_sha256),
           params=dict(_CKPT), params_doc=dict(_CKPT_DOC), rules={"recon": ATOL_PIX},
           description="image-level reconstruction of a 32 x 64 grayscale crop with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"image": "float32 (32, 64, 1): X_u of a grayscale crop, erased pixels 0",
                       "keep": "bool (32, 64): per-pixel keep mask, constant on 4 x 4 sub-patches"},
           outputs_doc={"recon": "float32 (32, 64, 1): [easz.C25] grayscale path: the image replicated to 3 channels, reconstructed as in [easz.model], the 3 predicted channels averaged at erased pixels (clipped to 0..255), kept pixels unchanged; allclose atol 0.02"},
    ),
    Vector(id="easz.model.composite_l1", equations=("easz.2", "easz.C26", "easz.C28"),
           function="ref.easz.train.composite_crops", make_inputs=_composite_inputs,
           run=lambda inputs, checkpoint, weights_sha256: _composite_run(inputs, checkpoint, weights_sha256),
           params=dict(_CKPT), params_doc=dict(_CKPT_DOC), rules={"composite": ATOL_PIX, "l1": allclose(0.0, 1e-6)},
           description="the training composite of [easz.C26] and its L1 term, with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"crops": "float32 (2, 32, 32, 3): two 32 x 32 training crops (pixel units)",
                       "keep": "bool (2, 1, 64): per crop (one patch) the keep bit of each of the 64 tokens"},
           outputs_doc={"composite": "float32 (2, 32, 32, 3): [easz.C26] composite: kept sub-patches copied from crops, erased ones the model prediction (residual over the [easz.C16] fill of each erased crop, [easz.C28]); allclose atol 0.02",
                        "l1": "float32 (1,): L1 of [easz.2]: mean over all pixels and channels of |crops - composite| / 255"},
    ),
    Vector(id="easz.model.loss_synthetic_vgg", equations=("easz.2", "easz.lpips"),
           function="ref.easz.loss.loss", make_inputs=_loss_inputs,
           run=lambda inputs, weight_seed, lam: _loss_run(inputs, weight_seed, lam),
           params={"weight_seed": 1234, "lam": 0.3},
           rules={"lpips": allclose(1e-4, 1e-6), "l1": allclose(1e-6, 1e-7), "total": allclose(1e-4, 1e-6)},
           description="eq. 2 with LPIPS-VGG on synthetic VGG weights (the real VGG16 weights are not shipped)",
           params_doc={"weight_seed": "seed of the synthetic VGG16 + LPIPS head weights, drawn with the spec's PCG32: one generator seeded ([core.prng_seed]) with seed = weight_seed, stream = 0; u = its successive [core.prng_uniform01] values (float64), consumed in this order: for each of the 13 conv layers in VGG16 order (channels 64, 64, 128, 128, 256 x3, 512 x6; cin of the first = 3) the kernel, shape (3, 3, cin, cout) filled in C order, kernel = (2u - 1) * sqrt(6 / (9 cin)), then the bias (cout,), bias = 0.01 * (2u - 1); then for each of the 5 LPIPS heads (c = 64, 128, 256, 512, 512) the weights 0.1 * u; each value computed in float64 and then cast to float32 ([easz.lpips]; 14,716,928 draws in all). The real VGG16 weights are not shipped: this pins the algorithm, not the weights",
                       "lam": "lambda of [easz.2]"},
           inputs_doc={"x": "float32 (2, 16, 16, 3): target images in [0, 255]", "y": "float32 (2, 16, 16, 3): reconstructions in [0, 255]"},
           outputs_doc={"lpips": "float32 (2,): per image d(x, y) of [easz.lpips] on the images mapped to [-1, 1] (v * 2/255 - 1) with the synthetic weights",
                        "l1": "float32 (1,): mean |x - y| / 255 over all pixels and channels ([easz.2])",
                        "total": "float32 (1,): l1 + lam * mean(lpips) ([easz.2])"},
    ),
    Vector(id="easz.model.train_masks_lr", equations=("easz.C27", "easz.C30"),
           function="ref.easz.train.random_keep", make_inputs=_train_inputs,
           run=lambda inputs, ratio, steps, lr: _train_run(inputs, ratio, steps, lr),
           params={"ratio": 0.25, "steps": 1600, "lr": 2.8e-4},
           rules={"keep": EXACT, "lr": allclose(1e-6, 0.0)},
           description="training masks and learning-rate schedule of the training protocol",
           params_doc={"ratio": "erase probability r of [easz.C30]", "steps": "total training steps of the schedule",
                       "lr": "peak learning rate ([easz.C27])"},
           inputs_doc={"u": "float64 (2, 4, 64): the training generator's uniform draws U in [0, 1) for 2 batches of 4 patches of 64 sub-patches ([easz.C30]; made once with numpy default_rng(7).random((2, 4, 64)), training seed 7 of [easz.C27], and stored, so a port needs no NumPy generator)",
                       "steps": "int64 (7,): the steps at which the schedule is evaluated"},
           outputs_doc={"keep": "bool (2, 4, 64): [easz.C30] keep = u >= ratio, elementwise (float64 comparison)",
                        "lr": "float32 (7,): the [easz.C27] schedule at each input step: linear warm-up from 0 to lr over W = max(1, min(200, steps // 10)) steps, then cosine decay to 0.1 lr at step `steps` (optax.warmup_cosine_decay_schedule)"},
    ),
]
