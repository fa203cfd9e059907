"""Golden vectors of the moc encoder side (ids ``moc.wpt.*``, ``moc.bottleneck.*``,
``moc.compand.*``, ``moc.pack.*``, ``moc.codec.*``, ``moc.baseline.*``).

Float transforms (WPT, bottleneck, companding) run in float64 and are compared with
allclose (atol 1e-12 for the WPT); integer-domain outputs (quantised latents, symbols,
mosaics, fitted tables, ANS streams, container bytes, MAC counts) are EXACT.  WebP/PNG bytes
depend on the libwebp/zlib build, so only their decoded mosaics are pinned.  Inputs are
made with the core PRNG (``Pcg32``) so a port can regenerate them.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import EXACT, Vector, allclose, psnr_at_least
from ref.core.prng import Pcg32

WPT_TOL = allclose(0.0, 1e-12)


def _uniform(shape, seed: int, lo: float = -0.5, hi: float = 0.5) -> np.ndarray:
    """float64 in [lo, hi): PCG32 stream 2, u32 / 2^32."""
    n = int(np.prod(shape))
    u = Pcg32(seed, 2).u32_array(n).astype(np.float64) / 2.0**32
    return (lo + (hi - lo) * u).reshape(shape)


def _u8(shape, seed: int) -> np.ndarray:
    """Smooth-ish uint8 test image: PCG32 bytes averaged with a ramp."""
    raw = (Pcg32(seed, 1).u32_array(int(np.prod(shape))) & 0xFF).astype(np.int64).reshape(shape)
    yy, xx = np.indices(shape[:2])
    ramp = ((yy * 5 + xx * 3) % 256)[:, :, None]
    return ((raw + 3 * ramp) // 4).astype(np.uint8)


# --------------------------------------------------------------------------- WPT
def _run_wpt(inputs, levels, axes, wavelet="bior4.4"):
    import jax.numpy as jnp

    from ref.moc.wpt import wpt_forward

    return {"coeffs": np.asarray(wpt_forward(jnp.asarray(inputs["x"]), wavelet, levels, tuple(axes)))}


def _run_wpt_inverse(inputs, levels, axes, wavelet="bior4.4"):
    import jax.numpy as jnp

    from ref.moc.wpt import wpt_forward, wpt_inverse

    z = jnp.asarray(inputs["coeffs"])
    x = wpt_inverse(z, wavelet, levels, tuple(axes))
    xr = wpt_inverse(wpt_forward(jnp.asarray(inputs["x"]), wavelet, levels, tuple(axes)), wavelet,
                     levels, tuple(axes), refine=1)
    return {"x": np.asarray(x), "roundtrip_refined": np.asarray(xr)}


def _wpt_vectors() -> list[Vector]:
    eq = ("moc.wpt", "moc.wpt_level", "moc.C1", "moc.C2", "moc.C3")
    out = [
        Vector(id="moc.wpt.bior44_2d_J3", equations=eq, function="ref.moc.wpt.wpt_forward",
               make_inputs=lambda: {"x": _uniform((16, 24, 3), 1)}, run=_run_wpt,
               params={"levels": 3, "axes": [0, 1]}, rules={"coeffs": WPT_TOL},
               description="RGB 16x24, J=3: (2, 3, 192), channel c*64 + WaveletPacket2D natural leaf",
params_doc={"levels": "J, packet levels ([moc.wpt])", "axes": "the spatial axes transformed, in order (batch axes before them, channel axis last)"},
               inputs_doc={"x": "float64 (16, 24, 3): signal, spatial axes 0, 1, channel last"},
               outputs_doc={"coeffs": "float64 (2, 3, 192): [moc.wpt] J-level packet analysis with [moc.wpt_level] periodized bior4.4 ([moc.C1]) along axis 0 then 1; channel c * 64 + leaf, leaf = sum_l d_l 4^(J-l), d_l = b_(l,0) + 2 b_(l,1) ([moc.C3], pywt WaveletPacket2D natural order)"},
    ),
        Vector(id="moc.wpt.bior44_1d_J4", equations=("moc.wpt", "moc.wpt_level", "moc.C3"),
               function="ref.moc.wpt.wpt_forward",
               make_inputs=lambda: {"x": _uniform((64, 2), 2)}, run=_run_wpt,
               params={"levels": 4, "axes": [0]}, rules={"coeffs": WPT_TOL},
               description="1-D, 2 channels, J=4: (4, 32) (WaveletPacket natural order)",
params_doc={"levels": "J, packet levels ([moc.wpt])", "axes": "the spatial axes transformed, in order (batch axes before them, channel axis last)"},
               inputs_doc={"x": "float64 (64, 2): 1-D signal of length 64 with 2 channels"},
               outputs_doc={"coeffs": "float64 (4, 32): [moc.wpt] with D = 1, J = 4: channel c * 16 + leaf, leaf = sum_l b_l 2^(J-l) ([moc.C3], pywt WaveletPacket natural order)"},
    ),
        Vector(id="moc.wpt.bior44_3d_J2", equations=("moc.wpt", "moc.wpt_level", "moc.C3"),
               function="ref.moc.wpt.wpt_forward",
               make_inputs=lambda: {"x": _uniform((8, 12, 16, 1), 3)}, run=_run_wpt,
               params={"levels": 2, "axes": [0, 1, 2]}, rules={"coeffs": WPT_TOL},
               description="3-D volume, J=2: (2, 3, 4, 64)",
params_doc={"levels": "J, packet levels ([moc.wpt])", "axes": "the spatial axes transformed, in order (batch axes before them, channel axis last)"},
               inputs_doc={"x": "float64 (8, 12, 16, 1): 3-D volume, one channel"},
               outputs_doc={"coeffs": "float64 (2, 3, 4, 64): [moc.wpt] with D = 3, J = 2: leaf = sum_l d_l 8^(J-l), d_l = sum_i b_(l,i) 2^i ([moc.C3])"},
    ),
        Vector(id="moc.wpt.db2_2d_J2_small", equations=("moc.wpt", "moc.wpt_level"),
               function="ref.moc.wpt.wpt_forward",
               make_inputs=lambda: {"x": _uniform((4, 8, 1), 4)}, run=_run_wpt,
               params={"levels": 2, "axes": [0, 1], "wavelet": "db2"}, rules={"coeffs": WPT_TOL},
               description="signal shorter than the equivalent filter (multiple wrap-around)",
params_doc={"levels": "J, packet levels ([moc.wpt])", "axes": "the spatial axes transformed, in order (batch axes before them, channel axis last)", "wavelet": "pywt wavelet name whose filters [moc.wpt_level] uses (default bior4.4)"},
               inputs_doc={"x": "float64 (4, 8, 1): signal shorter than the equivalent filter at level 2"},
               outputs_doc={"coeffs": "float64 (1, 2, 16): [moc.wpt] with wavelet db2 (pywt filters, L = 4), the periodic index (2k + L/2 - j) mod N of [moc.wpt_level] wrapping several times"},
    ),
    ]

    def inv_inputs():
        import jax.numpy as jnp

        from ref.moc.wpt import wpt_forward

        x = _uniform((16, 24, 3), 5)
        return {"x": x, "coeffs": np.asarray(wpt_forward(jnp.asarray(x), "bior4.4", 3, (0, 1)))}

    out.append(Vector(id="moc.wpt.inverse_2d_J3", equations=("moc.wpt_inverse", "moc.C4"),
                      function="ref.moc.wpt.wpt_inverse", make_inputs=inv_inputs, run=_run_wpt_inverse,
                      params={"levels": 3, "axes": [0, 1]},
                      rules={"x": WPT_TOL, "roundtrip_refined": WPT_TOL},
                      description="synthesis of stored coefficients; refine=1 round trip",
params_doc={"levels": "J ([moc.wpt_inverse])", "axes": "spatial axes (0, 1)"},
               inputs_doc={"x": "float64 (16, 24, 3): a signal", "coeffs": "float64 (2, 3, 192): its [moc.wpt] coefficients (bior4.4, J = 3)"},
               outputs_doc={"x": "float64 (16, 24, 3): [moc.wpt_inverse] of coeffs: [moc.wpt_level] synthesis with pywt's rec_lo/rec_hi from level J up, along each axis ([moc.C4])",
                            "roundtrip_refined": "float64 (16, 24, 3): wpt_inverse(wpt_forward(x)) with refine = 1: x1 = wpt_inverse(z), then x1 + wpt_inverse(z - wpt_forward(x1)) ([moc.C4])"},
    ))
    return out


# --------------------------------------------------------------------------- bottleneck
def _run_dense(inputs):
    import jax.numpy as jnp

    from ref.moc.bottleneck import dense_apply, dense_macs

    p = {"kernel": jnp.asarray(inputs["kernel"]), "bias": jnp.asarray(inputs["bias"])}
    z = dense_apply(p, jnp.asarray(inputs["y"]))
    N, M = inputs["kernel"].shape
    return {"z": np.asarray(z), "macs": np.array([dense_macs(N, M)], np.int64)}


def _run_structured(inputs):
    import jax.numpy as jnp

    from ref.moc.bottleneck import structured_apply, structured_macs, structured_shape

    p = {k: jnp.asarray(inputs[k]) for k in ("stage_a", "stage_b", "bias")}
    z = structured_apply(p, jnp.asarray(inputs["y"]))
    table = []
    for N, M in ((192, 12), (192, 48), (768, 48), (768, 192), (256, 16), (64, 4)):
        g1, g2, h = structured_shape(N, M)
        table.append([N, M, g1, g2, h, structured_macs(N, M, g1, h)])
    return {"z": np.asarray(z), "shapes_macs": np.array(table, np.int64)}


def _bottleneck_vectors() -> list[Vector]:
    def dense_in():
        return {"y": _uniform((5, 192), 10, -1, 1), "kernel": _uniform((192, 12), 11, -0.1, 0.1),
                "bias": _uniform((12,), 12, -1, 1)}

    def struct_in():
        return {"y": _uniform((5, 192), 13, -1, 1), "stage_a": _uniform((12, 16, 6), 14, -0.3, 0.3),
                "stage_b": _uniform((6, 12, 8), 15, -0.3, 0.3), "bias": _uniform((48,), 16, -1, 1)}

    return [
        Vector(id="moc.bottleneck.dense_192_12", equations=("moc.bottleneck_dense",),
               function="ref.moc.bottleneck.dense_apply", make_inputs=dense_in, run=_run_dense,
               rules={"z": allclose(1e-12, 1e-12)}, description="dense 1x1 192 -> 12 and its MACs",
inputs_doc={"y": "float64 (5, 192): WPT coefficients, 5 positions", "kernel": "float64 (192, 12): W", "bias": "float64 (12,): b"},
               outputs_doc={"z": "float64 (5, 12): [moc.bottleneck_dense] z[., m] = sum_n y[., n] W[n, m] + b[m]",
                            "macs": "int64 (1,): multiply-accumulates per position, N M = 2304"},
    ),
        Vector(id="moc.bottleneck.structured_192_48",
               equations=("moc.bottleneck_structured", "moc.C6"),
               function="ref.moc.bottleneck.structured_apply", make_inputs=struct_in, run=_run_structured,
               rules={"z": allclose(1e-12, 1e-12)},
               description="structured 1x1 (g1=12, g2=16, h=6) and default (N, M, g1, g2, h, MACs) table",
inputs_doc={"y": "float64 (5, 192): WPT coefficients", "stage_a": "float64 (12, 16, 6): A (g1, g2, h)",
                           "stage_b": "float64 (6, 12, 8): Bm (h, g1, M/h)", "bias": "float64 (48,): b"},
               outputs_doc={"z": "float64 (5, 48): [moc.bottleneck_structured]: u[., i, k] = sum_j y[., 16 i + j] A[i, j, k], z[., 8 k + o] = sum_i u[., i, k] Bm[k, i, o] + b[8 k + o]",
                            "shapes_macs": "int64 (6, 6): rows [N, M, g1, g2, h, MACs] of the default [moc.C6] factor sizes for (N, M) = (192, 12), (192, 48), (768, 48), (768, 192), (256, 16), (64, 4); MACs = N h + g1 M"},
    ),
    ]


# --------------------------------------------------------------------------- companding
def _run_compand(inputs, bits):
    import jax.numpy as jnp

    from ref.moc.companding import compand, expand, quantize, to_symbols

    y = compand(jnp.asarray(inputs["z"]), bits)
    q = quantize(y)
    ties = quantize(jnp.asarray(inputs["ties"]))
    return {"y": np.asarray(y), "q": np.asarray(q).astype(np.int32), "symbols": to_symbols(q, bits),
            "zhat": np.asarray(expand(q, bits)), "ties_rounded": np.asarray(ties).astype(np.int32)}


def _run_analysis(inputs):
    import jax.numpy as jnp

    from ref.moc.config import MocConfig
    from ref.moc.encoder import analysis

    cfg = MocConfig(name="golden")
    p = {"encoder": {"kernel": jnp.asarray(inputs["kernel"]), "bias": jnp.asarray(inputs["bias"])}}
    y = analysis(p, jnp.asarray(inputs["x"]), cfg)
    return {"y": np.asarray(y), "q": np.asarray(jnp.round(y)).astype(np.int32)}


def _compand_vectors() -> list[Vector]:
    def comp_in():
        z = np.concatenate([np.linspace(-400.0, 400.0, 81), _uniform((40,), 20, -150, 150), [0.0]])
        return {"z": z, "ties": np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 126.5, -126.5])}

    def ana_in():
        return {"x": _uniform((16, 24, 3), 21), "kernel": _uniform((192, 12), 22, -60, 60),
                "bias": _uniform((12,), 23, -5, 5)}

    eq = ("moc.compand", "moc.quantize", "moc.expand", "moc.C7", "moc.C8", "moc.C15")
    return [
        Vector(id="moc.compand.b8", equations=eq, function="ref.moc.companding.compand",
               make_inputs=comp_in, run=_run_compand, params={"bits": 8},
               rules={"y": allclose(1e-12, 1e-10), "zhat": allclose(1e-9, 1e-9)},
               description="companding, rounding (half to even), symbols, expand, 8 bits",
params_doc={"bits": "b, latent bits ([moc.C7])"},
               inputs_doc={"z": "float64 (122,): bottleneck outputs: -400..400 in steps of 10, 40 values in [-150, 150), 0", "ties": "float64 (8,): exact .5 values for the tie rule"},
               outputs_doc={"y": "float64 (122,): [moc.compand] y = 2 Lmax (Phi(z / s) - 1/2), s = (2^(b-1) - 1) / 1.85, Lmax = 2^(b-1) - 1 + 0.5 - 1e-3",
                            "q": "int32 (122,): [moc.quantize] round_half_even(y)",
                            "symbols": "uint8 (122,): [moc.C8] q + 2^(b-1)",
                            "zhat": "float64 (122,): [moc.expand] s Phi^-1(clip(q / (2 Lmax) + 1/2, 1e-4, 1 - 1e-4))",
                            "ties_rounded": "int32 (8,): round_half_even(ties) ([moc.C15])"},
    ),
        Vector(id="moc.compand.b5", equations=eq, function="ref.moc.companding.compand",
               make_inputs=comp_in, run=_run_compand, params={"bits": 5},
               rules={"y": allclose(1e-12, 1e-10), "zhat": allclose(1e-9, 1e-9)},
               description="the same at 5 bits",
params_doc={"bits": "b, latent bits ([moc.C7])"},
               inputs_doc={"z": "float64 (122,): as moc.compand.b8", "ties": "float64 (8,): exact .5 values"},
               outputs_doc={"y": "float64 (122,): [moc.compand] with b = 5 (s = 15 / 1.85, Lmax = 15.499)",
                            "q": "int32 (122,): [moc.quantize] round_half_even(y), in [-15, 15]",
                            "symbols": "uint8 (122,): [moc.C8] q + 16",
                            "zhat": "float64 (122,): [moc.expand] of q",
                            "ties_rounded": "int32 (8,): round_half_even(ties) ([moc.C15])"},
    ),
        Vector(id="moc.compand.analysis_rgb16x", equations=("moc.analysis",),
               function="ref.moc.encoder.analysis", make_inputs=ana_in, run=_run_analysis,
               rules={"y": allclose(1e-10, 1e-10)},
               description="WPT J=3 -> dense 192->12 -> compand (float64) and the rounded latent",
inputs_doc={"x": "float64 (16, 24, 3): image-domain input", "kernel": "float64 (192, 12): dense bottleneck W", "bias": "float64 (12,): b"},
               outputs_doc={"y": "float64 (2, 3, 12): [moc.analysis] compand(dense(wpt_forward(x, bior4.4, J = 3, axes (0, 1)))) with b = 8 (float64 throughout)",
                            "q": "int32 (2, 3, 12): round_half_even(y)"},
    ),
    ]


# --------------------------------------------------------------------------- packing
def _sym(shape, seed):
    g = (Pcg32(seed, 3).u32_array(int(np.prod(shape))) % 9).astype(np.int64)
    return (128 + g - 4 + (np.arange(int(np.prod(shape))) % 5)).astype(np.uint8).reshape(shape)


def _run_mosaic(inputs):
    from ref.moc.packing import mosaic_pack, mosaic_unpack

    m = mosaic_pack(inputs["symbols"])
    assert np.array_equal(mosaic_unpack(m, inputs["symbols"].shape[-1]), inputs["symbols"])
    return {"mosaic": m, "mosaic_bytes": m.tobytes()}


def _run_lossless(inputs):
    from ref.moc.packing import image_decode, image_encode, mosaic_layout, mosaic_pack

    m = mosaic_pack(inputs["symbols"])
    P = mosaic_layout(inputs["symbols"].shape[-1])[0]
    return {"webp_decoded": image_decode(image_encode(m, "webp"), P),
            "png_decoded": image_decode(image_encode(m, "png"), P)}


def _run_ans(inputs, bits):
    from ref.moc.packing import ans_decode, ans_encode, fit_counts, freqs_from_counts

    s = inputs["symbols"]
    table, stream = ans_encode(s, bits)
    assert np.array_equal(ans_decode(table, stream, s.shape, bits), s)
    counts = fit_counts(s, bits)
    return {"counts": counts, "freqs": freqs_from_counts(counts), "table": table, "stream": stream}


def _pack_vectors() -> list[Vector]:
    return [
        Vector(id="moc.pack.mosaic_m12", equations=("moc.C9", "moc.C8"),
               function="ref.moc.packing.mosaic_pack",
               make_inputs=lambda: {"symbols": _sym((3, 5, 12), 30)}, run=_run_mosaic,
               description="12 channels -> RGB mosaic of 2x2 tiles (6, 10, 3)",
inputs_doc={"symbols": "uint8 (3, 5, 12): latent symbols (h, w, M) of [moc.C8]"},
               outputs_doc={"mosaic": "uint8 (6, 10, 3): [moc.C9] M = 12: P = 3 planes, T = 4 tiles, nw = nh = 2; mosaic[ti h + y, tj w + x, p] = symbols[y, x, p T + ti nw + tj]",
                            "mosaic_bytes": "the mosaic's raw bytes in C order (row, column, plane): the pixel bytes handed to the lossless image codec ([moc.C11]); 6 * 10 * 3 = 180 bytes"},
    ),
        Vector(id="moc.pack.mosaic_m4", equations=("moc.C9",), function="ref.moc.packing.mosaic_pack",
               make_inputs=lambda: {"symbols": _sym((3, 5, 4), 31)}, run=_run_mosaic,
               description="4 channels -> grey mosaic of 2x2 tiles (6, 10, 1)",
inputs_doc={"symbols": "uint8 (3, 5, 4): latent symbols (h, w, M)"},
               outputs_doc={"mosaic": "uint8 (6, 10, 1): [moc.C9] M = 4: P = 1 plane, T = 4 tiles, nw = nh = 2",
                            "mosaic_bytes": "the mosaic's raw bytes in C order (row, column, plane): 60 bytes"},
    ),
        Vector(id="moc.pack.lossless_roundtrip", equations=("moc.C11",),
               function="ref.moc.packing.image_encode",
               make_inputs=lambda: {"symbols": _sym((6, 8, 12), 32)}, run=_run_lossless,
               description="decode(encode(mosaic)) for WebP and PNG equals the mosaic",
inputs_doc={"symbols": "uint8 (6, 8, 12): latent symbols (h, w, M)"},
               outputs_doc={"webp_decoded": "uint8 (12, 16, 3): the [moc.C9] mosaic of symbols encoded as lossless WebP ([moc.C11]) and decoded (equals the mosaic; the WebP bytes are not pinned)",
                            "png_decoded": "uint8 (12, 16, 3): the same through PNG ([moc.C11])"},
    ),
        Vector(id="moc.pack.ans_m12", equations=("moc.C12",), function="ref.moc.packing.ans_encode",
               make_inputs=lambda: {"symbols": _sym((6, 8, 12), 33)}, run=_run_ans, params={"bits": 8},
               description="fitted 12-bit counts, 24-bit freqs, table bytes, ANS stream",
params_doc={"bits": "b, latent bits: the alphabet is 0 .. 2^b - 1 (here 256 symbols)"},
               inputs_doc={"symbols": "uint8 (6, 8, 12): latent symbols (h, w, M), M = 12 channels"},
               outputs_doc={"counts": "int64 (12, 256): per channel the fitted counts n of [moc.C12] (histogram normalised to 2^12, forced ones, largest-remainder increments)",
                            "freqs": "uint32 (12, 256): per channel the histogram form of [core.C3] on counts with N = 2^12 (rows sum to 2^24, entries >= 1)",
                            "table": "[core.counts_bytes] serialisation of counts, channels in order ([moc.C12] table bytes)",
                            "stream": "[core.ans_bytes] stream of one group: the 576 symbols in C order of (h, w, M), table index = channel, tables freqs ([moc.C12])"},
    ),
    ]


# --------------------------------------------------------------------------- codec
def _gray_model(inputs):
    import jax.numpy as jnp

    from ref.moc.config import MocConfig, latent_channels_for

    cfg = MocConfig(name="golden_gray_16x", in_channels=1, latent_channels=latent_channels_for(16, 1))
    p = {"encoder": {"kernel": jnp.asarray(inputs["kernel"], jnp.float32),
                     "bias": jnp.asarray(inputs["bias"], jnp.float32)},
         "linear": {"mean": jnp.zeros((64,), jnp.float32),
                    "basis": jnp.asarray(inputs["basis"], jnp.float32),
                    "gain": jnp.asarray(inputs["gain"], jnp.float32)}}
    return p, cfg


def _run_codec(inputs, lossless):
    import jax
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.moc.codec import encode_image, pad_image, read_symbols, to_input, to_uint8
    from ref.moc.companding import from_symbols
    from ref.moc.encoder import synthesis
    from ref.moc.linear import linear_decode

    p, cfg = _gray_model(inputs)
    img = inputs["image"]
    data, _ = encode_image(img, p, cfg, model=cfg.name, lossless=lossless)
    c = ctr.unpack(data, expect_system="moc")
    q = jnp.asarray(from_symbols(read_symbols(c), cfg.latent_bits))
    rec = to_uint8(synthesis(p, q, cfg, linear_decode))[: img.shape[0], : img.shape[1]]
    return {"container": data, "padded": pad_image(img, 8),
            "x": np.asarray(to_input(img)), "decoded": rec}


def _codec_vectors() -> list[Vector]:
    def inputs():
        basis = np.linalg.qr(_uniform((64, 4), 41, -1, 1))[0]
        gain = np.array([20.0, 40.0, 60.0, 80.0])
        return {"image": _u8((21, 30, 1), 40), "basis": basis.astype(np.float32),
                "gain": gain.astype(np.float32), "kernel": (basis * gain).astype(np.float32),
                "bias": np.zeros((4,), np.float32)}

    eq = ("moc.C10", "moc.C13", "moc.C14", "moc.C5", "moc.C15")
    return [
        Vector(id="moc.codec.gray21x30_ans", equations=eq, function="ref.moc.codec.encode_image",
               make_inputs=inputs, run=_run_codec, params={"lossless": "ans"},
               rules={"x": allclose(0.0, 0.0), "decoded": psnr_at_least(60.0)},
               description="grey 21x30 (padded to 24x32), linear 64->4 model, ANS container; "
                           "decoded through the linear synthesis",
params_doc={"lossless": "lossless stage of [moc.C14]: 'ans' = [moc.C12]"},
               inputs_doc={"image": "uint8 (21, 30, 1): grey image",
                           "basis": "float32 (64, 4): decoder basis V (orthonormal columns) of the [moc.C16] linear model, mean 0",
                           "gain": "float32 (4,): per-channel gains g", "kernel": "float32 (64, 4): dense encoder kernel = basis * gain",
                           "bias": "float32 (4,): dense encoder bias (0)"},
               outputs_doc={"container": "[moc.C14] container bytes: header model = 'golden_gray_16x', h = 21, w = 30, c = 1, levels = 3, latent_channels = 4, latent_bits = 8, lossless = 'ans'; sections table, ans ([moc.C12]); the encoder runs in float32 ([moc.C15]): pad [moc.C10], x = u8/255 - 1/2 [moc.C13], WPT bior4.4 J = 3, dense 64 -> 4, compand, round, symbols",
                            "padded": "uint8 (24, 32, 1): [moc.C10] symmetric padding (NumPy mode 'symmetric') at the bottom and right to multiples of 8",
                            "x": "float32 (21, 30, 1): [moc.C13] x = u8 / 255 - 1/2 of the unpadded image",
                            "decoded": "uint8 (21, 30, 1): the container decoded with the linear decoder of [moc.C16] (w = (expand(q) / g) V^T, mean 0), wpt_inverse, output mapping clip(round_half_even((x + 1/2) 255), 0, 255) of [moc.C13], cropped; psnr >= 60 dB"},
    ),
    ]


# --------------------------------------------------------------------------- baselines
def _run_resample(inputs, k):
    from ref.moc.analyses import resample_baseline

    rec, _ = resample_baseline(inputs["image"], k)
    return {"reconstruction": rec}


def _run_pca(inputs, m):
    from ref.moc.linear import fit_pca

    mu, V, sd = fit_pca(inputs["coeffs"], m)
    return {"mean": mu, "basis": V, "std": sd}


def _run_linear_decode(inputs):
    import jax.numpy as jnp

    from ref.moc.config import MocConfig
    from ref.moc.linear import linear_decode

    p = {"linear": {k: jnp.asarray(inputs[k]) for k in ("mean", "basis", "gain")}}
    return {"coeffs": np.asarray(linear_decode(p, jnp.asarray(inputs["e"]), MocConfig()))}


def _baseline_vectors() -> list[Vector]:
    def pca_in():
        a = _uniform((300, 8), 50, -1, 1) * np.array([3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.4, 0.2])
        return {"coeffs": a}

    def lin_in():
        return {"mean": _uniform((8,), 51), "basis": np.linalg.qr(_uniform((8, 3), 52))[0],
                "gain": np.array([10.0, 20.0, 30.0]), "e": _uniform((5, 3), 53, -100, 100)}

    return [
        Vector(id="moc.baseline.resample_k1", equations=("moc.C17",),
               function="ref.moc.analyses.resample_baseline",
               make_inputs=lambda: {"image": _u8((20, 27, 3), 54)}, run=_run_resample, params={"k": 1},
               description="box /2, uint8, bicubic x2 (Pillow), crop",
params_doc={"k": "reduction exponent: 2^k per axis ([moc.C17])"},
               inputs_doc={"image": "uint8 (20, 27, 3): image (W odd: padded first)"},
               outputs_doc={"reconstruction": "uint8 (20, 27, 3): [moc.C17]: pad per [moc.C10] to (20, 28), 2 x 2 box mean in float64, clip(round_half_even, 0, 255) to uint8 (10, 14, 3), each channel upsampled to (20, 28) by Pillow Image.resize(..., BICUBIC) (generated and checked with Pillow 13.0.0), cropped to (20, 27). Pillow's BICUBIC is separable, horizontal pass first (uint8 (10, 14) -> (10, 28)), then vertical ((10, 28) -> (20, 28)), each in fixed point with PRECISION_BITS = 22: kernel k(x) = (1.5|x| - 2.5)|x|^2 + 1 for |x| < 1, -0.5(|x|^3 - 5|x|^2 + 8|x| - 4) for 1 <= |x| < 2, else 0 (a = -0.5, support 2; upsampling, so no kernel stretch); for output index o of an axis of n_in -> n_out samples: c = (o + 0.5) n_in / n_out, taps j = xmin .. xmax - 1 with xmin = max(0, trunc(c - 2 + 0.5)), xmax = min(n_in, trunc(c + 2 + 0.5)), w_j = k(j - c + 0.5) in float64 divided by their sum, integer weights W_j = trunc(w_j 2^22 + 0.5) (trunc(w_j 2^22 - 0.5) for w_j < 0), out = clip((2^21 + sum_j W_j in_j) >> 22, 0, 255) (arithmetic shift), stored as uint8 after each pass. Informative: the resample baseline is a comparison codec, on no system's decoder path"},
    ),
        Vector(id="moc.baseline.pca_fit", equations=("moc.C16",), function="ref.moc.linear.fit_pca",
               make_inputs=pca_in, run=_run_pca, params={"m": 3},
               rules={"mean": allclose(1e-10, 1e-12), "basis": allclose(1e-8, 1e-10),
                      "std": allclose(1e-10, 1e-12)},
               description="PCA: mean, top-3 eigenvectors (sign: largest entry positive), stds",
params_doc={"m": "number of principal components kept"},
               inputs_doc={"coeffs": "float64 (300, 8): one coefficient vector per row"},
               outputs_doc={"mean": "float64 (8,): mu, the column means ([moc.C16])",
                            "basis": "float64 (8, 3): V, eigenvectors of the covariance of the rows for the m largest eigenvalues, descending, each column's largest-magnitude entry made positive ([moc.C16])",
                            "std": "float64 (3,): sigma, the principal standard deviations (square roots of those eigenvalues)"},
    ),
        Vector(id="moc.baseline.linear_decode", equations=("moc.C16",),
               function="ref.moc.linear.linear_decode", make_inputs=lin_in, run=_run_linear_decode,
               rules={"coeffs": allclose(1e-12, 1e-12)}, description="mu + (e / gain) V^T",
inputs_doc={"mean": "float64 (8,): mu", "basis": "float64 (8, 3): V_M", "gain": "float64 (3,): gains g", "e": "float64 (5, 3): expanded latents expand(q)"},
               outputs_doc={"coeffs": "float64 (5, 8): [moc.C16] decoder w = mu + (e / g) V_M^T"},
    ),
    ]


VECTORS: list[Vector] = (_wpt_vectors() + _bottleneck_vectors() + _compand_vectors()
                         + _pack_vectors() + _codec_vectors() + _baseline_vectors())
