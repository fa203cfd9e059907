"""Whole-codec behaviour on a tiny in-memory model: padding, pixel convention, round trip with
the integer path, and every bad input as one clear error."""

from __future__ import annotations

import numpy as np
import pytest

from ref.core.errors import BitstreamError, InputError
from tests.hcf.tiny import tiny_model


@pytest.mark.eq("hcf.C3")
def test_padding_edge_replication_to_64():
    from ref.hcf.codec import pad_image

    img = np.arange(70 * 3 * 1, dtype=np.uint8).reshape(70, 3, 1)
    out = pad_image(img)
    assert out.shape == (128, 64, 1)
    assert np.array_equal(out[:70, :3], img)
    assert np.all(out[70:, :3, 0] == img[69, :, 0])          # rows repeat the last row
    assert np.all(out[:70, 3:, 0] == img[:, 2:3, 0])         # columns repeat the last column
    assert np.all(out[70:, 3:] == img[69, 2])                # the corner repeats the corner pixel
    assert pad_image(np.zeros((64, 128, 3), np.uint8)).shape == (64, 128, 3)


@pytest.mark.eq("hcf.C4")
def test_pixel_convention():
    from ref.hcf.codec import to_network, to_uint8

    g = np.array([[[0], [128], [255]]], np.uint8)
    x = to_network(g)
    assert x.shape == (1, 1, 3, 3) and x.dtype == np.float32
    assert np.all(x[0, 0, 1] == np.float32(128) / np.float32(255))
    xh = np.array([[[[-0.2, 0.5, 1.3], [0.5 / 255, 1.5 / 255, 2.5 / 255]]]], np.float32)
    rgb = to_uint8(xh, 1, 2, 3)
    assert rgb.tolist() == [[[0, 128, 255], [0, 2, 2]]]      # clip, round half to even (127.5 -> 128)
    grey = to_uint8(np.array([[[[0.0, 1.0 / 255, 1.0 / 255]]]], np.float32), 1, 1, 1)
    assert grey.tolist() == [[[1]]]                          # mean 2/3 -> 1


@pytest.mark.eq("hcf.3", "hcf.4", "hcf.C5", "hcf.C6")
def test_round_trip_decodes_the_encoders_latent_with_integer_indices():
    import jax.numpy as jnp

    from ref.core.container import unpack
    from ref.core.entropy_models import dequantize_conditional, quantize_conditional
    from ref.core.hyperprior import hyper_analysis
    from ref.core.intnet import int_conditional_indices
    from ref.hcf import codec
    from ref.hcf.model import analysis, synthesis

    m = tiny_model()
    img = (np.random.default_rng(7).random((40, 70, 3)) * 255).astype(np.uint8)
    data = codec.encode_image(img, 3, m)
    c = unpack(data, expect_system="hcf")
    assert c.header["height"] == 40 and c.header["width"] == 70 and c.header["model"] == m.model_id
    y_hat, (level, H, W, C), _ = codec.decode_latent(c, m)
    # independent recomputation of the encoder side: y~, z^, integer indices, r, y^
    x = jnp.asarray(np.pad(img, ((0, 24), (0, 58), (0, 0)), mode="edge")[None].astype(np.float32) / 255)
    y = np.asarray(analysis(m.params, x))
    z_hat = np.rint(np.asarray(hyper_analysis(m.params["hyper"], jnp.asarray(y)), np.float64)).astype(np.int64)
    idx = int_conditional_indices(m.p_int, z_hat)
    want = dequantize_conditional(quantize_conditional(y, idx), idx)
    assert np.array_equal(y_hat, want)
    assert np.any(want != np.rint(want)), "latents off the integer grid: the mean grid is in use"
    rec = codec.decode_container(c, m)
    x_hat = np.asarray(synthesis(m.params, jnp.asarray(y_hat)))[0, :40, :70]
    assert np.array_equal(rec, np.clip(np.rint(x_hat * 255), 0, 255).astype(np.uint8))


def test_grey_round_trip_and_size_limits():
    from ref.hcf import codec

    m = tiny_model()
    g = (np.random.default_rng(8).random((16, 20, 1)) * 255).astype(np.uint8)
    assert codec.decode_bytes(codec.encode_image(g, 3, m), m).shape == (16, 20, 1)
    with pytest.raises(InputError, match="16..8192"):
        codec.encode_image(np.zeros((15, 40, 3), np.uint8), 3, m)


def test_bad_streams_are_one_bitstream_error():
    from ref.core.container import pack, unpack
    from ref.hcf import codec

    m = tiny_model()
    img = (np.random.default_rng(9).random((32, 32, 3)) * 255).astype(np.uint8)
    data = codec.encode_image(img, 3, m)
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0x40
    with pytest.raises(BitstreamError):
        codec.decode_bytes(bytes(damaged), m)
    c = unpack(data)
    other = tiny_model(seed=1)                                   # another checkpoint of the same level
    with pytest.raises(BitstreamError, match="another checkpoint"):
        codec.decode_container(c, other)
    wrong_level = pack("hcf", {**c.header, "level": 9}, list(c.sections))
    with pytest.raises(BitstreamError, match="level 9"):
        codec.decode_bytes(wrong_level, m)
    # a valid container whose y stream was cut: ANS end check
    secs = [(n, p[:-4] if n == "y" else p) for n, p in c.sections]
    with pytest.raises(BitstreamError):
        codec.decode_bytes(pack("hcf", c.header, secs), m)
    with pytest.raises(BitstreamError, match="moc"):
        codec.decode_bytes(pack("moc", c.header, list(c.sections)), m)


def test_level_out_of_range():
    from ref.hcf.config import config_for

    for bad in (0, 7, "3", True):
        with pytest.raises(InputError, match="quality level"):
            config_for(bad)
