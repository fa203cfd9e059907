"""Banded synthesis (ref.hcf.codec.synthesize_u8) equals the one-call g_s on a real image.

g_s (hcf.5) is local: an output row depends on latent rows within 15/8 of it, so bands with
SYNTH_HALO = 2 latent rows of context must give the one-call pixels (up to float summation
order: at most 1 grey level after rounding; measured 0 on this image); with a halo of 1 they
must not (that is the check that the halo matters, i.e. that this test can fail).
"""

from __future__ import annotations

import numpy as np
import pytest

import jax.numpy as jnp

from ref.core.container import unpack
from ref.data.imageio import bundled_image_path, read_image
from ref.hcf.codec import SYNTH_HALO, _decoder_net, decode_latent, encode_image, synthesize_u8, to_uint8


@pytest.fixture(scope="module")
def latent():
    img = read_image(bundled_image_path())[:256, :320]
    y, (_, H, W, C), m = decode_latent(unpack(encode_image(img, 3)))
    one = to_uint8(_decoder_net(m.params, jnp.asarray(y)), H, W, C)
    return y, H, W, C, m, one


@pytest.mark.eq("hcf.5")
def test_banded_synthesis_equals_one_call(latent):
    y, H, W, C, m, one = latent
    # 2^14 output pixels per band -> bands of 4 latent rows (the minimum) on a 16-row latent
    band = synthesize_u8(m.params, y, H, W, C, band_pixels=1 << 14)
    assert band.shape == one.shape == (256, 320, 3)
    assert int(np.abs(band.astype(int) - one).max()) <= 1
    assert SYNTH_HALO >= 2


@pytest.mark.eq("hcf.5")
def test_banded_synthesis_needs_its_halo(latent):
    y, H, W, C, m, one = latent
    short = synthesize_u8(m.params, y, H, W, C, band_pixels=1 << 14, halo=1)
    assert int(np.abs(short.astype(int) - one).max()) > 1
