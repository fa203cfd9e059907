"""Golden vectors for the data policy (spec/data.md): the evaluation downscale and the
training crop stream.  Both EXACT (uint8 / integer outputs)."""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector


def _image(h, w, c, seed):
    """Smooth + noisy test picture (uint8), deterministic."""
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.Generator(np.random.PCG64(seed))
    base = (127.5 + 100 * np.sin(x / 7.0 + np.arange(c)[:, None, None]) * np.cos(y / 11.0)).transpose(1, 2, 0)
    return np.clip(base + rng.normal(0, 12, (h, w, c)), 0, 255).astype(np.uint8)


def _downscale(inputs, short: int) -> dict:
    from ref.data.datasets import eval_downscale, eval_size

    out = {}
    for k in ("rgb", "gray"):
        img = inputs[k]
        out[k + "_size"] = np.array(eval_size(img.shape[1], img.shape[0], short), np.int64)
        out[k + "_out"] = eval_downscale(img, short)
    return out


def _crops(inputs, crop: int, seed: int, batch: int, halve_min_side: int) -> dict:
    from ref.data.crops import CropStream

    imgs = [inputs["img0"], inputs["img1"], inputs["img2"]]
    src = [(f"img{i}", im.shape[:2], lambda im=im: im) for i, im in enumerate(imgs)]
    s = CropStream(crop, seed, sources=src, halve_min_side=halve_min_side)
    first = s.batch(batch)
    second = s.batch(batch)
    return {"crops": np.concatenate([first, second]), "halved0": s.image(0)}


VECTORS = [
    Vector(
        id="core.data.eval_downscale",
        equations=("core.eval_downscale",),
        function="ref.data.datasets.eval_downscale",
        make_inputs=lambda: {"rgb": _image(45, 70, 3, 1), "gray": _image(61, 40, 1, 2)},
        run=_downscale,
        params={"short": 24},
        description="Evaluation downscale to a short side (24 here instead of 768, same rule).",
        inputs_doc={"rgb": "uint8 (45, 70, 3) test picture", "gray": "uint8 (61, 40, 1) test picture"},
        params_doc={"short": "target short side (the policy uses 768)"},
        outputs_doc={"rgb_size": "(W', H') int64 = eval_size(70, 45, 24) by the integer rounding rule of "
                                 "core.eval_downscale: (37, 24)",
                     "rgb_out": "uint8 (H', W', 3): Pillow LANCZOS resize (reducing_gap=None) of the RGB image",
                     "gray_size": "(W', H') for the (61, 40) gray image: (24, 37)",
                     "gray_out": "uint8 (H', W', 1): the same resize of the single plane"},
    ),
    Vector(
        id="core.data.train_crops_seed3",
        equations=("core.train_crops",),
        function="ref.data.crops.CropStream",
        make_inputs=lambda: {"img0": _image(40, 52, 3, 3), "img1": _image(20, 30, 3, 4),
                             "img2": _image(9, 12, 3, 5)},
        run=_crops,
        params={"crop": 8, "seed": 3, "batch": 6, "halve_min_side": 40},
        description="Crop stream over three images: halving, area-weighted choice, offsets, flips.",
        inputs_doc={"img0": "uint8 (40, 52, 3): halved (short side >= halve_min_side) to (20, 26)",
                    "img1": "uint8 (20, 30, 3): used as is", "img2": "uint8 (9, 12, 3): used as is"},
        params_doc={"crop": "crop side S", "seed": "PCG64 seed of the stream",
                    "batch": "crops per batch (two batches are drawn)",
                    "halve_min_side": "short side from which step 0 halves an image (1400 in the policy)"},
        outputs_doc={"crops": "uint8 (12, 8, 8, 3): two consecutive batches of core.train_crops draws "
                              "(image by area, y, x, left-right flip, up-down flip per crop)",
                     "halved0": "uint8 (20, 26, 3): img0 after step 0 (Pillow Image.reduce(2))"},
    ),
]
