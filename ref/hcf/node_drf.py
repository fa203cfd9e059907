"""The DRF intermediate node (paper 001 Fig. 1, the Distributed Recompression Framework
baseline; spec/hcf-cascade.md hcf.node_drf): decode a level-k stream to pixels with level k,
re-encode the pixels at level K with the same base codec.

    x^   = D^k, g_s^k of the input container      (ref.hcf.codec.decode_container: hcf.4, hcf.5, hcf.C4)
    out  = encode_image(x^, K)                    (hcf.1, hcf.2, hcf.3, hcf.C5, hcf.C6)
           with hops = the input's hops + "k>K:drf" (hcf.hops)

The uint8 reconstruction is what is re-encoded (a DRF node delivers an image between the
two codecs, as a decoder followed by an encoder would).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from ref.core.registry import implements
from ref.hcf.node_hops import Hop, append_hop

__all__ = ["DrfResult", "transcode_drf"]


class DrfResult(NamedTuple):
    """data: output container bytes; pixels: the uint8 (H, W, C) image the node re-encoded;
    hops: the output's hops field."""

    data: bytes
    pixels: np.ndarray
    hops: str


@implements("hcf.node_drf")
def transcode_drf(data: bytes, K: int, *, models=None, times: dict | None = None) -> DrfResult:
    """The DRF node on a level-k container ``data``: level-K container of its decoded pixels.

    K: target level (< k, [hcf.node_policy] levels rule); models: level -> HcfModel (default
    the shipped checkpoints); times: if a dict, receives milliseconds of decode (entropy
    decoding incl. integer h_s), transform (g_s^k and g_a^K + h_a^K, the networks) and
    encode (integer h_s, rANS, container) -- the same split as ref.hcf.node.transcode_hcf.
    BitstreamError for a damaged / foreign stream, InputError for bad levels.
    """
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.core import hyperprior as HP
    from ref.core.intnet import int_conditional_indices
    from ref.hcf import codec
    from ref.hcf.node import _levels_and_policy, _shipped

    models = models or _shipped
    c = ctr.unpack(data, expect_system="hcf")
    k, _ = _levels_and_policy(c, K, None)
    m_k, m_K = models(k), models(K)
    t0 = time.perf_counter()
    y_hat, (_, H, W, C), _ = codec.decode_latent(c, m_k)
    t1 = time.perf_counter()
    pixels = codec.synthesize_u8(m_k.params, y_hat, H, W, C)
    y, z = codec._encoder_nets(m_K.params, jnp.asarray(codec.to_network(codec.pad_image(pixels))))
    y = np.asarray(y)
    z_hat = HP.quantize_z(z)
    t2 = time.perf_counter()
    idx = int_conditional_indices(m_K.p_int, z_hat)
    sections, _ = HP.encode_hyperprior(y, z_hat, m_K.z_tables, m_K.z_offsets, lambda _z: idx, radius=m_K.cfg.radius)
    hops = append_hop(c.header.get("hops"), Hop(k, K, "drf"))
    header = {"level": K, "model": m_K.model_id, "height": H, "width": W, "channels": C, "hops": hops}
    out = ctr.pack("hcf", header, [(n, sections[n]) for n in HP.SECTIONS])
    if times is not None:
        times.update(decode_ms=(t1 - t0) * 1e3, transform_ms=(t2 - t1) * 1e3,
                     encode_ms=(time.perf_counter() - t2) * 1e3)
    return DrfResult(out, pixels, hops)
