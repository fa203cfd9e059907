"""moc lossless packing (mosaic, WebP/PNG, ANS) and the whole codec."""

import numpy as np
import pytest

import ref.moc  # noqa: F401
import jax

from ref.core.container import pack, unpack
from ref.core.errors import BitstreamError, InputError
from ref.moc.bottleneck import encoder_init
from ref.moc.codec import decode_bytes, encode_image, get_model, pad_image, read_symbols, to_input, to_uint8
from ref.moc.config import MocConfig
from ref.moc.packing import (ans_decode, ans_encode, counts_from_bytes, fit_counts, freqs_from_counts,
                             image_decode, image_encode, mosaic_layout, mosaic_pack, mosaic_unpack)

RNG = np.random.default_rng(7)


def _sym(shape, spread=6):
    return np.clip(np.rint(RNG.standard_normal(shape) * spread) + 128, 1, 255).astype(np.uint8)


@pytest.mark.eq("moc.C9")
def test_mosaic_layout_and_walloc_order():
    assert mosaic_layout(12) == (3, 2, 2) and mosaic_layout(48) == (3, 4, 4)
    assert mosaic_layout(4) == (1, 2, 2) and mosaic_layout(6) == (3, 1, 2) and mosaic_layout(5) == (1, 1, 5)
    s = _sym((3, 5, 12))
    m = mosaic_pack(s)
    assert m.shape == (6, 10, 3)
    # walloc: 'b (c nh nw) h w -> b (nh h) (nw w) c' with c=3, nh=nw=2
    ref = s.transpose(2, 0, 1).reshape(3, 2, 2, 3, 5).transpose(1, 3, 2, 4, 0).reshape(6, 10, 3)
    assert np.array_equal(m, ref)
    assert np.array_equal(mosaic_unpack(m, 12), s)
    with pytest.raises(BitstreamError):
        mosaic_unpack(m[:5], 12)


@pytest.mark.eq("moc.C11")
@pytest.mark.parametrize("fmt", ["webp", "png"])
@pytest.mark.parametrize("M", [12, 4])
def test_lossless_image_roundtrip(fmt, M):
    m = mosaic_pack(_sym((8, 6, M)))
    P = mosaic_layout(M)[0]
    data = image_encode(m, fmt)
    assert np.array_equal(image_decode(data, P), m)
    with pytest.raises(BitstreamError):
        image_decode(b"junk" + data[4:20], P)


@pytest.mark.eq("moc.C12")
def test_fitted_table_and_ans_roundtrip():
    s = _sym((12, 9, 12), spread=3)
    counts = fit_counts(s)
    assert np.all(counts.sum(axis=1) == 4096)
    assert np.all((counts > 0) == (np.stack([np.bincount(s[..., m].ravel(), minlength=256) for m in range(12)]) > 0))
    f = freqs_from_counts(counts)
    assert np.all(f.sum(axis=1) == 2**24) and f.min() >= 1
    table, stream = ans_encode(s)
    assert np.array_equal(counts_from_bytes(table, 12), counts)
    assert np.array_equal(ans_decode(table, stream, s.shape), s)
    big = _sym((64, 64, 12), spread=3)
    t2, st2 = ans_encode(big)
    assert big.size / (len(t2) + len(st2)) > 2.0  # ~3.3 bits/symbol of entropy
    with pytest.raises(BitstreamError):
        counts_from_bytes(table[:-1], 12)
    with pytest.raises(BitstreamError):
        ans_decode(table, stream[:-4], s.shape)


@pytest.mark.eq("moc.C12")
def test_fit_counts_many_distinct_symbols():
    s = np.arange(256, dtype=np.uint8).repeat(40).reshape(-1, 1)[:5000]  # 125 symbols, forced ones
    c = fit_counts(s)
    assert c.sum() == 4096 and np.count_nonzero(c) == len(np.unique(s))
    s2 = RNG.integers(1, 256, (6000, 1)).astype(np.uint8)
    c2 = fit_counts(s2)
    assert c2.sum() == 4096 and np.all(c2[0, np.unique(s2)] >= 1)


@pytest.mark.eq("moc.C10", "moc.C13")
def test_pad_and_pixel_maps():
    img = RNG.integers(0, 256, (5, 7, 1), dtype=np.uint8)
    p = pad_image(img, 4)
    assert p.shape == (8, 8, 1) and np.array_equal(p[:5, :7], img)
    assert np.array_equal(p[5, :7], img[4]) and np.array_equal(p[:5, 7], img[:, 6])
    x = to_input(img)
    assert x.dtype == np.float32 and float(x.min()) >= -0.5 and float(x.max()) <= 0.5
    assert np.array_equal(to_uint8(x), img)


@pytest.mark.eq("moc.C14", "moc.C15", "moc.C16")
@pytest.mark.parametrize("mode", ["webp", "png", "ans"])
def test_codec_roundtrip_linear_gray_odd_size(mode):
    img = np.clip(np.add.outer(np.arange(37), np.arange(45)) * 2 + RNG.integers(0, 20, (37, 45)), 0, 255)
    img = img.astype(np.uint8)[..., None]
    params, cfg, _ = get_model("linear_gray_4x")
    data, info = encode_image(img, params, cfg, model="linear_gray_4x", lossless=mode)
    c = unpack(data, expect_system="moc")
    assert c.header["lossless"] == mode and c.header["h"] == 37 and c.header["w"] == 45
    assert read_symbols(c).shape == (5, 6, 16)
    rec = decode_bytes(data)
    assert rec.shape == img.shape
    assert 10 * np.log10(255**2 / np.mean((rec.astype(float) - img) ** 2)) > 30
    assert info.latent_raw == 5 * 6 * 16 and info.multiplier > 0


@pytest.mark.eq("moc.C13", "moc.C14", "moc.analysis")
def test_grey_through_the_shipped_rgb_model_decodes_as_the_channel_mean():
    """A grey image coded with rgb_16x: its latent symbols are those of the same image
    replicated to RGB (spec moc.C13), and its decoded pixels are round_half_even of the mean
    of the three channels decoded from the RGB file -- computed here from that file."""
    from ref.moc.data import load_image

    params, cfg, _ = get_model("rgb_16x")
    grey = load_image("astronaut")[100:164, 150:230].mean(axis=2, keepdims=True).round().astype(np.uint8)
    data_g, _ = encode_image(grey, params, cfg, model="rgb_16x", lossless="ans")
    data_rgb, _ = encode_image(np.repeat(grey, 3, axis=2), params, cfg, model="rgb_16x", lossless="ans")
    cg, crgb = unpack(data_g), unpack(data_rgb)
    assert cg.header["c"] == 1 and crgb.header["c"] == 3
    assert np.array_equal(read_symbols(cg), read_symbols(crgb))
    dec_g, dec_rgb = decode_bytes(data_g), decode_bytes(data_rgb)
    assert dec_g.shape == grey.shape and dec_rgb.shape == grey.shape[:2] + (3,)
    want = np.rint(dec_rgb.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
    assert np.array_equal(dec_g, want)
    assert 10 * np.log10(255**2 / np.mean((dec_g.astype(float) - grey) ** 2)) > 24   # a real decode


@pytest.mark.eq("moc.C14")
def test_codec_errors():
    params, cfg, _ = get_model("linear_gray_16x")
    with pytest.raises(InputError):
        encode_image(np.zeros((8, 8, 3), np.uint8), params, cfg)
    with pytest.raises(InputError):
        encode_image(np.zeros((8, 8, 1), np.float32), params, cfg)
    with pytest.raises(InputError):
        encode_image(np.zeros((8, 8, 1), np.uint8), params, cfg, lossless="jpeg")
    with pytest.raises(InputError):
        get_model("nope")
    bad = pack("moc", {"model": "linear_gray_16x", "h": 8, "w": 8, "c": 1, "levels": 3,
                       "latent_channels": 4, "latent_bits": 8, "lossless": "ans"}, [("table", b"\x00"), ("ans", b"")])
    with pytest.raises(BitstreamError):
        decode_bytes(bad)
    with pytest.raises(BitstreamError):
        decode_bytes(pack("moc", {"model": "x"}, []))


@pytest.mark.eq("moc.bottleneck_structured", "moc.analysis", "moc.C8", "moc.C13")
def test_codec_with_structured_bottleneck_stores_the_spec_latent():
    """The stored symbols of a structured-bottleneck encode equal the spec chain computed
    here in float64: x = u8/255 - 1/2, pywt WaveletPacket2D (natural order, channel-major),
    the dense matrix W[i g2 + j, k M/h + o] = A[i, j, k] B[k, i, o] of the two stages,
    companding Lmax erf(z / (s sqrt 2)), round half even, + 2^(b-1).  The codec runs in
    float32 (moc.C15): symbols may differ by one only next to a rounding tie."""
    import math

    import pywt

    cfg = MocConfig(name="s", latent_channels=48, bottleneck="structured")
    params = {"encoder": encoder_init(jax.random.PRNGKey(2), cfg)}
    # random weights x 300, so that the latents use much of the 8-bit range
    params["encoder"]["stage_a"] = params["encoder"]["stage_a"] * 300.0
    img = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    data, info = encode_image(img, params, cfg, lossless="png")
    sym = read_symbols(unpack(data)).astype(np.int64)
    x = img.astype(np.float64) / 255 - 0.5
    w = np.stack([n.data for c in range(3) for n in
                  pywt.WaveletPacket2D(x[..., c], "bior4.4", mode="periodization", maxlevel=3).get_level(3, "natural")],
                 axis=-1)                                                     # (2, 2, 192)
    A = np.asarray(params["encoder"]["stage_a"], np.float64)
    B = np.asarray(params["encoder"]["stage_b"], np.float64)
    W = np.einsum("ijk,kio->ijko", A, B).reshape(192, 48)
    z = w @ W + np.asarray(params["encoder"]["bias"], np.float64)
    s, lmax = 127 / 1.85, 127 + 0.5 - 1e-3
    y = lmax * np.vectorize(math.erf)(z / (s * math.sqrt(2)))
    want = np.rint(y).astype(np.int64) + 128
    assert sym.shape == (2, 2, 48)
    near_tie = np.abs(np.abs(y - np.floor(y)) - 0.5) < 1e-3
    assert np.array_equal(sym[~near_tie], want[~near_tie]) and np.all(np.abs(sym - want) <= 1)
    assert len(np.unique(sym)) > 10                     # not a degenerate (constant) latent
