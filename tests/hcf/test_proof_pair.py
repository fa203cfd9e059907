"""Issue 12's proof pair, on a real HCF stream (shipped level-3 checkpoint, a crop of a bundled
photograph), not on synthetic scales:

(a) the float path is not portable: if one element's float scale sits on a scale-table
    boundary on the encoder's machine and is one ulp above it on the decoder's, the decoder
    picks another table and the real stream decodes wrong ([core.C32]);
(b) the integer path is immune to the same kind of drift: one ulp added to every element of
    the float hyper-synthesis input changes the float path's scales, while the integer
    path only ever reads the integer z_hat that the stream carries (a float input is refused),
    so its indices, and the decoded latent of the shipped stream, stay bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from ref.core import ans
from ref.core import container as ctr
from ref.core import entropy_models as E
from ref.core import hyperprior as HP
from ref.core import tables as T
from ref.core.errors import BitstreamError, InputError

LEVEL = 3


@pytest.fixture(scope="module")
def real():
    import jax.numpy as jnp

    from ref.data.datasets import load_image
    from ref.hcf import codec

    img = load_image("astronaut")[128:256, 160:288]                  # 128 x 128 RGB crop
    m = codec.get_model(LEVEL)
    y, z = codec._encoder_nets(m.params, jnp.asarray(codec.to_network(codec.pad_image(img))))
    z_hat = HP.quantize_z(z)
    return img, m, np.asarray(y), z_hat


def _float_scales(m, z_in):
    import jax.numpy as jnp

    scale, mean = HP.hyper_synthesis(m.params["hyper"]["h_s"], jnp.asarray(z_in, jnp.float32))
    return np.asarray(scale), np.asarray(mean)


def _code_and_decode(y, enc_idx, dec_idx):
    """Encode the real latent with the encoder's indices, decode with the decoder's -> (r, r_dec
    or None when the decoder raised)."""
    r = E.quantize_conditional(y, enc_idx)
    groups, pay = E.encode_conditional(r, enc_idx)
    data = ans.encode_groups(groups)
    dec = ans.AnsDecoder(data)
    try:
        out = E.decode_conditional(dec, dec_idx, pay)
        dec.finish()
    except (BitstreamError, InputError):
        out = None
    return r, out


@pytest.mark.eq("core.C32", "core.C4")
def test_a_float_scale_one_ulp_over_a_boundary_corrupts_a_real_stream(real):
    _, m, y, z_hat = real
    scale, mean = _float_scales(m, z_hat)
    s = T.scale_table()
    # the real element whose scale is closest (relatively) to a table boundary s_k it does not exceed
    k = np.clip(np.searchsorted(s[:-1], scale.astype(np.float64), side="left"), 0, 62)
    rel = np.abs(s[k] - scale) / s[k]
    e = np.unravel_index(int(np.argmin(rel)), scale.shape)
    enc_scale = scale.copy()
    enc_scale[e] = np.float32(s[k[e]])                                 # the encoder's value lands on s_k
    if float(enc_scale[e]) > s[k[e]]:                                  # float32(s_k) rounded up: step down onto it
        enc_scale[e] = np.nextafter(enc_scale[e], np.float32(-np.inf))
    dec_scale = enc_scale.copy()
    dec_scale[e] = np.nextafter(enc_scale[e], np.float32(np.inf))      # the decoder's: one ulp more
    enc = E.conditional_indices(mean, enc_scale, m.cfg.mean_grid)
    dec = E.conditional_indices(mean, dec_scale, m.cfg.mean_grid)
    flipped = enc.scale_idx != dec.scale_idx
    assert flipped.sum() == 1 and flipped[e]                           # one index, one ulp
    r, out = _code_and_decode(y, enc, dec)
    assert out is None or not np.array_equal(out, r)                   # the real stream is corrupted
    r2, out2 = _code_and_decode(y, enc, enc)                           # the encoder's own indices decode
    assert np.array_equal(out2, r2)


@pytest.mark.eq("core.intnet_hs", "core.C32")
def test_the_same_drift_moves_float_scales_but_not_integer_indices(real):
    from ref.core.intnet import int_conditional_indices
    from ref.hcf import codec

    img, m, y, z_hat = real
    z_f = z_hat.astype(np.float32)
    z_drift = np.nextafter(z_f, np.float32(np.inf))                    # one ulp on every element
    s0, _ = _float_scales(m, z_f)
    s1, _ = _float_scales(m, z_drift)
    assert np.count_nonzero(s0 != s1) > 0                              # the float path moves
    with pytest.raises(InputError):                                    # the integer path takes no floats
        int_conditional_indices(m.p_int, z_drift)
    i0 = int_conditional_indices(m.p_int, z_hat)
    i1 = int_conditional_indices(m.p_int, np.rint(z_drift).astype(np.int64))
    assert np.array_equal(i0.scale_idx, i1.scale_idx) and np.array_equal(i0.mean_idx, i1.mean_idx)
    # and the shipped stream of the same image decodes to the latent the encoder coded
    data = codec.encode_image(img, LEVEL, m)
    y_hat, _, _ = codec.decode_latent(ctr.unpack(data), m)
    r = E.quantize_conditional(y, i0.crop(y.shape))
    assert np.array_equal(y_hat, E.dequantize_conditional(r, i0.crop(y.shape)))
