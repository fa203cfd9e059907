"""Issue 15: on the SHIPPED checkpoint and a real photograph, the KV-cached group-by-group
integer decoder yields exactly the integer table indices of the single-pass masked encoder
(ref.ecf.int_model), group by group -- and the decoded stream gives back the coded latent."""

from __future__ import annotations

import numpy as np
import pytest

from ref.ecf.codec import shipped_qualities

pytestmark = pytest.mark.skipif(3 not in shipped_qualities(), reason="ecf quality 3 is not shipped")


@pytest.mark.eq("ecf.kv", "ecf.int_gc", "ecf.sfg")
def test_cached_decoder_equals_single_pass_on_a_real_image():
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.core.quantization import to_symbols
    from ref.data.datasets import eval_image
    from ref.ecf import codec

    m = codec.get_model(3)
    img = np.ascontiguousarray(eval_image("motorcycle_left")[100:228, 200:456, :3])     # 128 x 256
    enc, _ = codec._nets()
    y, z = enc(m.params, jnp.asarray(codec.to_network(codec.pad_image(img))))
    y_hat = to_symbols(np.asarray(y, np.float64))[0].astype(np.int32)
    z_hat = to_symbols(np.asarray(z, np.float64))[0].astype(np.int32)
    assert np.count_nonzero(y_hat) > 0.05 * y_hat.size                  # a real, non-trivial latent
    psi = m.int_model.hyper(z_hat)
    single = m.int_model.table_inputs_all(psi, y_hat)
    dec = m.int_model.decoder(psi)
    H, W = y_hat.shape[:2]
    for g in range(m.int_model.n_groups):
        got = dec.table_inputs(g)
        for a, b in zip(got, single[g]):
            assert np.array_equal(np.asarray(a), np.asarray(b)), f"group {g}"
        p = m.int_model.group_positions(g, H, W)
        dec.next_group(y_hat[p[:, 0], p[:, 1], p[:, 2]])
    lat: dict = {}
    data = codec.encode_image(img, 3, m)
    codec.decode_container(ctr.unpack(data), m, latent=lat)
    assert np.array_equal(lat["y_hat"], y_hat)
