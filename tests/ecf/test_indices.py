"""Integer table indices from the KV-cached decoder's contexts equal the single-pass encoder's
(random weights; a random linear map stands in for g_e until part 2 builds it).  Exact
equality is what coding needs; in float32 it holds here because the contexts differ by ~1e-8
and no parameter lands within that distance of an index boundary (spec [ecf.kv])."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.core.entropy_models import mean_index, scale_index
from ref.ecf.context_model import ContextConfig, init_context_model
from ref.ecf.egr import egr_pack
from ref.ecf.sfg import decoder_contexts, encoder_contexts


@pytest.mark.slow
@pytest.mark.eq("ecf.kv")
def test_cached_decoder_gives_the_encoders_integer_indices():
    cfg = ContextConfig(n_cs=4, p_cs=4, K=8, layers=4, d_e=32, heads=4, d_out=16)
    p = init_context_model(jax.random.PRNGKey(3), cfg)
    for layer in p["layers"]:
        layer["rel_bias"] = layer["rel_bias"] * 50
    rng = np.random.default_rng(3)
    r = egr_pack(rng.normal(0, 2, size=(1, 4, 32, 32, 4)).astype(np.float32), "sfo")
    enc = np.asarray(encoder_contexts(p, cfg, r))
    _, dec = decoder_contexts(p, cfg, (1, 32, 16), lambda g, c: r[:, g])
    A = jnp.asarray(rng.normal(0, 1, (16, 8)).astype(np.float32))

    def indices(c):
        x = np.asarray(jnp.asarray(c) @ A, np.float64)
        return scale_index(np.exp(x[..., :4])), mean_index(4 * x[..., 4:], 8)

    (se, me), (sd, md) = indices(enc), indices(np.asarray(dec))
    assert np.array_equal(se, sd) and np.array_equal(me, md)       # ... index flips are not
    assert len(np.unique(se)) > 10 and len(np.unique(me)) > 10     # indices actually vary
