"""Golden vectors for the metrics (spec/core-metrics.md).

Metrics are float reductions, so most outputs are compared with ``allclose``; the
pooling step on integer images is exact (sums of four integers divided by 4).
Test images are made from the bundled demo image and the codecref PRNG (integer ops
only), so regenerating them needs nothing outside ``ref``.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector, allclose
from ref.core.metrics import avg_pool2_pytorch, bd_psnr, bd_rate, bpp, ms_ssim, psnr, ssim
from ref.core.prng import Pcg32

METRIC_RULE = allclose(rtol=0.0, atol=1e-9)
BD_RULE = allclose(rtol=1e-9, atol=1e-9)

PEER_PAIR = {
    "rate_anchor": [0.1, 0.2, 0.4, 0.8],
    "psnr_anchor": [28.0, 30.5, 33.2, 36.1],
    "rate_test": [0.09, 0.18, 0.37, 0.75],
    "psnr_test": [28.3, 30.9, 33.6, 36.4],
}


def _noisy(img: np.ndarray, seed: int, amp: int) -> np.ndarray:
    """img + uniform integer noise in [-amp, amp] from Pcg32(seed, 0), clipped to uint8."""
    noise = Pcg32(seed, 0).bounded_array(2 * amp + 1, img.size).astype(np.int64) - amp
    return np.clip(img.astype(np.int64) + noise.reshape(img.shape), 0, 255).astype(np.uint8)


def _rgb_inputs() -> dict:
    from ref.data.imageio import bundled_image_path, read_image

    a = read_image(bundled_image_path())[41:210, 300:477]  # 169 x 177 x 3: odd sides
    b = ((a.astype(np.int64) // 24) * 24 + 12).clip(0, 255).astype(np.uint8)  # coarse quantiser
    return {"a": a, "b": _noisy(b, 11, 6)}


def _gray_inputs() -> dict:
    from ref.data.imageio import bundled_image_path, read_image

    rgb = read_image(bundled_image_path())[200:371, 400:563].astype(np.int64)  # 171 x 163
    y = ((77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2] + 128) >> 8).astype(np.uint8)
    return {"a": y, "b": _noisy(y, 12, 20)}


def _quality(inputs) -> dict:
    a, b = inputs["a"], inputs["b"]
    return {"psnr": np.float64(psnr(a, b)), "ms_ssim": np.float64(ms_ssim(a, b)),
            "ssim": np.float64(ssim(a, b))}


def _pool(inputs) -> dict:
    x = inputs["x"].astype(np.float64)
    x = x[:, :, None] if x.ndim == 2 else x
    return {"pooled": avg_pool2_pytorch(x)[:, :, 0]}


def _bpp(inputs) -> dict:
    n, h, w = inputs["nbytes"], inputs["height"], inputs["width"]
    return {"bpp": np.array([bpp(int(a), int(b), int(c)) for a, b, c in zip(n, h, w)])}


def _bd(inputs) -> dict:
    args = (inputs["rate_anchor"], inputs["psnr_anchor"], inputs["rate_test"], inputs["psnr_test"])
    return {
        "bd_rate_cubic": np.float64(bd_rate(*args, method="cubic")),
        "bd_psnr_cubic": np.float64(bd_psnr(*args, method="cubic")),
        "bd_rate_pchip": np.float64(bd_rate(*args, method="pchip")),
        "bd_psnr_pchip": np.float64(bd_psnr(*args, method="pchip")),
    }


def _f64(d: dict) -> dict:
    return {k: np.asarray(v, dtype=np.float64) for k, v in d.items()}


_QUALITY_OUT = {
    "psnr": "float64 (1,): PSNR(a, b) of [core.psnr] with one MSE over all H*W*C samples and peak 255 ([core.C10]), dB",
    "ms_ssim": "float64 (1,): MS-SSIM(a, b) of [core.ms_ssim] in the pytorch_msssim convention of [core.C11] (window table, valid filtering, zero-padded pooling of odd sides, ReLU), mean over channels",
    "ssim": "float64 (1,): single-scale SSIM: channel mean of ssim at scale 1 of [core.ms_ssim] (no ReLU)",
}
_BD_IN = {"rate_anchor": "float64: anchor rates R_k in bpp (> 0)", "psnr_anchor": "float64: anchor PSNR D_k in dB",
          "rate_test": "float64: test-codec rates in bpp", "psnr_test": "float64: test-codec PSNR in dB"}
_BD_OUT = {
    "bd_rate_cubic": "float64 (1,): [core.bd_rate] in percent with the cubic fit of [core.C12] (least-squares cubic r = f(D), r = log10 R, integrated over the overlap of the D ranges)",
    "bd_psnr_cubic": "float64 (1,): [core.bd_psnr] in dB with the cubic fit (D = f(r), overlap of the log-rate ranges)",
    "bd_rate_pchip": "float64 (1,): [core.bd_rate] with the pchip (Fritsch-Butland) interpolant of [core.C12]",
    "bd_psnr_pchip": "float64 (1,): [core.bd_psnr] with the pchip interpolant",
}


VECTORS = [
    Vector(
        id="core.metrics.rgb_odd_169x177",
        equations=("core.psnr", "core.C10", "core.ms_ssim", "core.C11"),
        function="ref.core.metrics.ms_ssim",
        description="PSNR (one MSE over RGB), MS-SSIM and SSIM (pytorch_msssim convention) of a "
                    "169x177 crop of demo.png vs a quantised + noisy copy (odd sides: exercises "
                    "the zero-padded pooling)",
        make_inputs=_rgb_inputs,
        run=_quality,
        default_rule=METRIC_RULE,
        inputs_doc={"a": "uint8 (169, 177, 3): reference RGB image (crop of ref/data/demo.png)",
                    "b": "uint8 (169, 177, 3): distorted image (a coarsely quantised, plus integer noise)"},
        outputs_doc=_QUALITY_OUT,
    ),
    Vector(
        id="core.metrics.gray_odd_171x163",
        equations=("core.psnr", "core.ms_ssim", "core.C11"),
        function="ref.core.metrics.ms_ssim",
        description="same metrics on a single-channel (H, W) image, 171x163",
        make_inputs=_gray_inputs,
        run=_quality,
        default_rule=METRIC_RULE,
        inputs_doc={"a": "uint8 (171, 163): reference single-channel image (C = 1)",
                    "b": "uint8 (171, 163): a plus integer noise in [-20, 20], clipped"},
        outputs_doc=_QUALITY_OUT,
    ),
    Vector(
        id="core.metrics.avg_pool_odd",
        equations=("core.ms_ssim", "core.C11"),
        function="ref.core.metrics.avg_pool2_pytorch",
        description="pytorch_msssim pooling of a 5x7 integer image (zero row/column at the start "
                    "of odd sides, divide by 4): exact",
        make_inputs=lambda: {"x": np.arange(35, dtype=np.int32).reshape(5, 7) * 4 + 1},
        run=_pool,
        inputs_doc={"x": "int32 (5, 7): x[i, j] = 4 (7 i + j) + 1"},
        outputs_doc={"pooled": "float64 (3, 4): the [core.C11] pooling step: one zero row and one zero column prepended (odd sides), then out[i, j] = mean of the 2x2 block (2i..2i+1, 2j..2j+1) of the padded image, zeros counted"},
    ),
    Vector(
        id="core.metrics.bpp_cases",
        equations=("core.bpp",),
        function="ref.core.metrics.bpp",
        description="8 * nbytes / (H * W) for a few (nbytes, H, W)",
        make_inputs=lambda: {"nbytes": np.array([0, 1, 12, 34567, 10**9], dtype=np.int64),
                             "height": np.array([1, 1, 480, 480, 4096], dtype=np.int64),
                             "width": np.array([1, 3, 736, 736, 4096], dtype=np.int64)},
        run=_bpp,
        default_rule=allclose(rtol=1e-15, atol=0.0),
        inputs_doc={"nbytes": "int64 (5,): container sizes in bytes", "height": "int64 (5,): image heights H in pixels",
                    "width": "int64 (5,): image widths W in pixels"},
        outputs_doc={"bpp": "float64 (5,): [core.bpp] 8 * nbytes[i] / (height[i] * width[i]) per case"},
    ),
    Vector(
        id="core.metrics.bd_peer_pair",
        equations=("core.bd_rate", "core.bd_psnr", "core.C12"),
        function="ref.core.metrics.bd_rate",
        description="the bjontegaard-1.3.0 test pair of ../shared/notes/peers.md: cubic "
                    "-17.067673 % / +0.722073 dB, pchip -17.081567 % / +0.722369 dB",
        make_inputs=lambda: _f64(PEER_PAIR),
        run=_bd,
        default_rule=BD_RULE,
        inputs_doc={k: v + " (4 points)" for k, v in _BD_IN.items()},
        outputs_doc=_BD_OUT,
    ),
    Vector(
        id="core.metrics.bd_uneven_points",
        equations=("core.bd_rate", "core.bd_psnr", "core.C12"),
        function="ref.core.metrics.bd_psnr",
        description="5-point anchor (given in decreasing order, one nearly flat segment) vs "
                    "4-point test, partial overlap",
        make_inputs=lambda: _f64({
            "rate_anchor": [1.6, 0.8, 0.4, 0.2, 0.1],
            "psnr_anchor": [38.0, 35.5, 34.9, 31.0, 28.2],
            "rate_test": [0.15, 0.3, 0.6, 1.2],
            "psnr_test": [29.9, 32.8, 35.9, 38.4],
        }),
        run=_bd,
        default_rule=BD_RULE,
        inputs_doc={"rate_anchor": _BD_IN["rate_anchor"] + " (5 points, decreasing order: sort by the abscissa first)",
                    "psnr_anchor": _BD_IN["psnr_anchor"] + " (5 points)",
                    "rate_test": _BD_IN["rate_test"] + " (4 points)", "psnr_test": _BD_IN["psnr_test"] + " (4 points)"},
        outputs_doc=_BD_OUT,
    ),
]
