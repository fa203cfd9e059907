"""Golden vectors for the Easz reconstruction model, its loss and training protocol
(spec/easz.md "Reconstruction model": easz.model, easz.2, easz.lpips, easz.C20..C27).

Float outputs of the network are compared with ``allclose(rtol=0, atol=0.02)`` in pixel
units (0..255): a port computing in float32 with any summation order stays far inside
that; masks are EXACT.  The LPIPS vector uses *synthetic* VGG weights drawn from a seed
(the real VGG16 weights are not shipped), so it pins the algorithm, not the weights.
"""

from __future__ import annotations

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


def _forward_run(inputs):
    from ref.easz import recon
    from ref.easz.model import forward

    params, cfg = recon.load_default()
    base = inputs["base"] if cfg.residual else None
    return {"pred": np.asarray(forward(params, inputs["tokens"], inputs["keep"], cfg, base), np.float32)}


def _recon_inputs(gray: bool):
    def make():
        img = _eval_crop(32, 64, gray) if gray else _eval_crop(64, 64)
        keep = _keep(img.shape[0], img.shape[1], 4, 5)
        return {"image": np.where(keep[..., None], img, 0).astype(np.float32), "keep": keep}
    return make


def _recon_run(inputs):
    from ref.easz import recon

    params, cfg = recon.load_default()
    return {"recon": recon.reconstruct(params, inputs["image"], inputs["keep"], cfg)}


def _composite_inputs():
    img = _eval_crop(32, 64)
    crops = np.stack([img[:, :32], img[:, 32:]]).astype(np.float32)
    keep = np.random.default_rng(3).random((2, 1, 64)) >= 0.25
    return {"crops": crops, "keep": keep}


def _composite_run(inputs):
    from ref.easz import recon
    from ref.easz.loss import l1
    from ref.easz.train import composite_crops, interpolation_base

    params, cfg = recon.load_default()
    base = interpolation_base(inputs["crops"], inputs["keep"], cfg) if cfg.residual else None
    y = np.asarray(composite_crops(params, inputs["crops"], inputs["keep"], cfg, base), np.float32)
    return {"composite": y, "l1": np.asarray(l1(inputs["crops"], y), np.float32).reshape(1)}


# --------------------------------------------------------------------------- loss / LPIPS
def synthetic_vgg(seed: int) -> dict[str, np.ndarray]:
    """He-normal VGG16 kernels, zero-mean small biases and |N(0, .1)| lin heads from default_rng(seed)."""
    from ref.easz.lpips import LIN_CHANNELS, VGG_CFG

    rng = np.random.default_rng(seed)
    out, cin, i = {}, 3, 0
    for v in VGG_CFG:
        if v == "M":
            continue
        out[f"conv{i}.kernel"] = (rng.standard_normal((3, 3, cin, v)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)
        out[f"conv{i}.bias"] = (0.01 * rng.standard_normal(v)).astype(np.float32)
        cin, i = v, i + 1
    for l, c in enumerate(LIN_CHANNELS):
        out[f"lin{l}.kernel"] = np.abs(0.1 * rng.standard_normal(c)).astype(np.float32)
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
def _train_run(inputs, seed: int, ratio: float, steps: int, lr: float):
    from ref.easz.train import lr_schedule, random_keep

    keep = random_keep(np.random.default_rng(seed), (2, 4, 64), ratio)
    sched = lr_schedule(steps, lr)
    at = inputs["steps"]
    return {"keep": keep, "lr": np.asarray([sched(int(s)) for s in at], np.float32)}


VECTORS = [
    Vector(id="easz.model.forward_n32_b4", equations=("easz.model", "easz.C20", "easz.C21", "easz.C22",
                                                      "easz.C23", "easz.C24", "easz.C28"),
           function="ref.easz.model.forward", make_inputs=_forward_inputs,
           run=lambda inputs: _forward_run(inputs), rules={"pred": ATOL_PIX},
           description="the reconstruction transformer on two 32 x 32 patches (n = 32, b = 4) with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"tokens": "float32 (2, 64, 48): per patch the T = 64 tokens u_t of [easz.C20] (b*b*C = 48 values in pixel units 0..255), erased tokens set to 0",
                       "keep": "bool (2, 64): k_t, True = kept token (about 25 % erased)",
                       "base": "float32 (2, 64, 48): B of [easz.C28]: the [easz.C16] interpolation of each patch from its kept pixels, tokenised like tokens"},
           outputs_doc={"pred": "float32 (2, 64, 48): x^_t of [easz.model] for every token (unclipped, pixel units) with the weights of the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28]): encoder attention restricted to kept tokens (logit -1e9), erased tokens enter the decoder as P_t, output B_t + 255 * 0.25 * (W_o y_t + b_o); allclose atol 0.02"},
    ),
    Vector(id="easz.model.recon_rgb_64x64", equations=("easz.model", "easz.C25"),
           function="ref.easz.recon.reconstruct", make_inputs=_recon_inputs(False),
           run=lambda inputs: _recon_run(inputs), rules={"recon": ATOL_PIX},
           description="image-level reconstruction of a 64 x 64 RGB crop with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"image": "float32 (64, 64, 3): X_u: an evaluation crop with erased pixels set to 0 (pixel units)",
                       "keep": "bool (64, 64): per-pixel keep mask, constant on 4 x 4 sub-patches (30 % erased)"},
           outputs_doc={"recon": "float32 (64, 64, 3): ref.easz.recon.reconstruct of [easz.model]/[easz.C25]: per 32 x 32 patch the model prediction, erased pixels clip(x^, 0, 255), kept pixels returned unchanged; allclose atol 0.02"},
    ),
    Vector(id="easz.model.recon_gray_32x64", equations=("easz.model", "easz.C25"),
           function="ref.easz.recon.reconstruct", make_inputs=_recon_inputs(True),
           run=lambda inputs: _recon_run(inputs), rules={"recon": ATOL_PIX},
           description="image-level reconstruction of a 32 x 64 grayscale crop with the shipped default checkpoint ref/weights/easz_n32_b4.safetensors ([easz.C24], residual = 1 per [easz.C28])",
           inputs_doc={"image": "float32 (32, 64, 1): X_u of a grayscale crop, erased pixels 0",
                       "keep": "bool (32, 64): per-pixel keep mask, constant on 4 x 4 sub-patches"},
           outputs_doc={"recon": "float32 (32, 64, 1): [easz.C25] grayscale path: the image replicated to 3 channels, reconstructed as in [easz.model], the 3 predicted channels averaged at erased pixels (clipped to 0..255), kept pixels unchanged; allclose atol 0.02"},
    ),
    Vector(id="easz.model.composite_l1", equations=("easz.2", "easz.C26", "easz.C28"),
           function="ref.easz.train.composite_crops", make_inputs=_composite_inputs,
           run=lambda inputs: _composite_run(inputs), rules={"composite": ATOL_PIX, "l1": allclose(0.0, 1e-6)},
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
           params_doc={"weight_seed": "seed of the synthetic VGG16 + LPIPS head weights: numpy.random.default_rng(weight_seed) (PCG64), then for each conv layer in VGG16 order kernel = standard_normal((3, 3, cin, cout)) * sqrt(2 / (9 cin)) and bias = 0.01 * standard_normal(cout), then per LPIPS head |0.1 * standard_normal(c)|, all cast to float32 (ref.easz.model_vectors.synthetic_vgg)",
                       "lam": "lambda of [easz.2]"},
           inputs_doc={"x": "float32 (2, 16, 16, 3): target images in [0, 255]", "y": "float32 (2, 16, 16, 3): reconstructions in [0, 255]"},
           outputs_doc={"lpips": "float32 (2,): per image d(x, y) of [easz.lpips] on the images mapped to [-1, 1] (v * 2/255 - 1) with the synthetic weights",
                        "l1": "float32 (1,): mean |x - y| / 255 over all pixels and channels ([easz.2])",
                        "total": "float32 (1,): l1 + lam * mean(lpips) ([easz.2])"},
    ),
    Vector(id="easz.model.train_masks_lr", equations=("easz.C27", "easz.C30"),
           function="ref.easz.train.random_keep", make_inputs=lambda: {"steps": np.array([0, 1, 80, 160, 800, 1599, 1600], np.int64)},
           run=lambda inputs, seed, ratio, steps, lr: _train_run(inputs, seed, ratio, steps, lr),
           params={"seed": 7, "ratio": 0.25, "steps": 1600, "lr": 2.8e-4},
           rules={"keep": EXACT, "lr": allclose(1e-6, 0.0)},
           description="training masks and learning-rate schedule of the training protocol",
           params_doc={"seed": "training seed: numpy.random.default_rng(seed) (PCG64; training-time only, [easz.C27])",
                       "ratio": "erase probability r of [easz.C30]", "steps": "total training steps of the schedule",
                       "lr": "peak learning rate ([easz.C27])"},
           inputs_doc={"steps": "int64 (7,): the steps at which the schedule is evaluated"},
           outputs_doc={"keep": "bool (2, 4, 64): [easz.C30] keep = U >= ratio with U = default_rng(seed).random((2, 4, 64)) (2 batches of 4 patches of 64 sub-patches)",
                        "lr": "float32 (7,): the [easz.C27] schedule at each input step: linear warm-up from 0 to lr over W = max(1, min(200, steps // 10)) steps, then cosine decay to 0.1 lr at step `steps` (optax.warmup_cosine_decay_schedule)"},
    ),
]
