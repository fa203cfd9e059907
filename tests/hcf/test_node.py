"""The intermediate node (ref/hcf/node.py, node_drf.py, node_hops.py; spec/hcf-cascade.md
"The intermediate node") on tiny random models: hop history against hand-written strings,
the node policy, the node's output against the cascade equations run on the image, the
ordinary decoder on the node's output, DRF = decode + encode, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from ref.core.errors import BitstreamError, InputError
from tests.hcf.tiny import tiny_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LEVELS = (2, 3, 4)
_MODELS: dict = {}


def models(level: int):
    if level not in LEVELS:
        raise InputError(f"no tiny model for level {level}")
    if level not in _MODELS:
        _MODELS[level] = tiny_model(seed=10 + level, level=level)
    return _MODELS[level]


def _cascade():
    import jax

    from ref.hcf.cascade_checkpoint import CascadeModules
    from ref.hcf.transform import init_cascade_modules

    mods = init_cascade_modules(jax.random.key(5), {k: 12 for k in LEVELS}, 4, 2)
    return CascadeModules(mods, {k: models(k).model_id for k in LEVELS}, {})


CASCADE = None


def cascade():
    global CASCADE
    if CASCADE is None:
        CASCADE = _cascade()
    return CASCADE


def _image():
    from ref.data.datasets import eval_image

    return np.ascontiguousarray(eval_image("motorcycle_left")[200:264, 300:428, :3])


def _stream(level=4):
    from ref.hcf.codec import encode_image

    return encode_image(_image(), level, models(level))


# --------------------------------------------------------------------------- hops
@pytest.mark.eq("hcf.hops")
def test_hops_parse_and_format_hand_written():
    from ref.hcf.node_hops import Hop, append_hop, check_hops, format_hops, parse_hops

    text = "6>3:hcf=1001,3>2:drf"
    hops = parse_hops(text, 2)
    assert hops == [Hop(6, 3, "hcf", (1, 0, 0, 1)), Hop(3, 2, "drf", None)]
    assert format_hops(hops) == text
    assert format_hops([(5, 4, "hcf", (1, 1)), (4, 1, "hcf", (1, 1, 0, 1))]) == "5>4:hcf=11,4>1:hcf=1101"
    assert append_hop(None, Hop(6, 5, "drf")) == "6>5:drf"
    assert append_hop("6>5:drf", Hop(5, 3, "hcf", (1, 0, 1))) == "6>5:drf,5>3:hcf=101"
    bad = ["", "6>3", "6>3:hcf", "6>3:hcf=", "6>3:hcf=101", "6>3:hcf=0001", "6>3:hcf=1000", "6>3:hcf=10021",
           "3>3:drf", "3>4:drf", "7>3:drf", "6>0:drf", "6>3:DRF", "6>3:drf ", " 6>3:drf", "6>3:drf,",
           "6>3:drf;3>2:drf", "6>3:drf,2>1:drf", "6>3:drf:x", "6>5:drf,5>4:drf,4>3:drf,3>2:drf,2>1:drf,1>1:drf",
           "6>3:drf=1001", "06>3:drf"]
    for b in bad:
        with pytest.raises(InputError):
            parse_hops(b)
    with pytest.raises(InputError, match="last hop ends at level 3"):
        parse_hops("6>3:drf", 2)
    with pytest.raises(BitstreamError, match="hops"):
        check_hops("6>3:drf", 4)
    with pytest.raises(InputError):
        format_hops([])


# --------------------------------------------------------------------------- policy
@pytest.mark.eq("hcf.node_policy")
def test_node_policy_syntax_default_and_refusals():
    from ref.hcf.node import check_node_levels, default_policy, parse_policy
    from ref.hcf.policy import edge_policy

    assert parse_policy("1,0,0,1", 6, 3) == (1, 0, 0, 1)
    assert parse_policy(" 1, 1,0 ,1", 6, 3) == (1, 1, 0, 1)
    assert parse_policy(None, 6, 3) == (1, 0, 0, 1) == default_policy(6, 3) == edge_policy(6, 3, 2)
    assert parse_policy(None, 4, 3) == (1, 1)
    assert default_policy(6, 1) == (1, 0, 0, 0, 0, 1)
    for text, msg in (("0,0,0,1", "must be 1"), ("1,0,0,0", "must be 1"), ("1,0,1", "needs 4"),
                      ("1,2,0,1", "0/1"), ("edge", "0/1"), ("1001", "0/1"), ("", "0/1")):
        with pytest.raises(InputError, match=msg):
            parse_policy(text, 6, 3)
    for k, K, msg in ((3, 4, "above"), (3, 3, "already at level 3"), (3, 0, "one of"), (3, 7, "one of")):
        with pytest.raises(InputError, match=msg):
            check_node_levels(k, K)


# --------------------------------------------------------------------------- the node
@pytest.mark.eq("hcf.node", "hcf.9", "hcf.10")
@pytest.mark.parametrize("pi", [(1, 0, 1), (1, 1, 1)])
def test_node_equals_the_cascade_equations_on_the_image(pi):
    """A level-4 stream of an image, transcoded to 2 by the node, carries the y^2 that eq. 10's
    C(4, 2, pi) computes from the image itself (ref.hcf.cascade with the hcf.C21 transmission):
    the node's decode -> phi^inter -> ... -> Q^2 is the cascade with its level-4 transmission
    carried by the input stream."""
    import jax.numpy as jnp

    from ref.core.container import unpack
    from ref.hcf.cascade import cascade as cascade_eq, coded_transmit
    from ref.hcf.codec import decode_latent, pad_image, to_network
    from ref.hcf.model import analysis
    from ref.hcf.node import transcode_hcf
    from ref.hcf.transform import phi_jit

    res = transcode_hcf(_stream(4), 2, pi, cascade=cascade(), models=models)
    x = jnp.asarray(to_network(pad_image(_image())))
    _, y_hat = cascade_eq(pi, 4, x, analysis_s=lambda v: analysis(models(4).params, v), synthesis_d=lambda y: y,
                          modules=cascade().modules, transmit=coded_transmit({k: models(k) for k in LEVELS}),
                          phi_fn=phi_jit)
    assert res.policy == pi
    assert np.abs(res.y_hat).max() > 0
    np.testing.assert_array_equal(res.y_hat, np.asarray(y_hat))
    # the ordinary decoder of level 2 reads the node's stream and gets the same y^2
    c = unpack(res.data)
    dec, (level, H, W, C), _ = decode_latent(c, models(2))
    np.testing.assert_array_equal(dec, res.y_hat)
    assert (level, H, W, C) == (2, 64, 128, 3)
    assert c.header["model"] == models(2).model_id and c.header["hops"] == "4>2:hcf=" + "".join(map(str, pi))


@pytest.mark.eq("hcf.node")
def test_node_uses_inter_first_and_does_not_requantise_the_input():
    """One hop 4 -> 3: y~^3 = phi^inter_4(y^4) exactly, y^4 as decoded (not re-quantised);
    swapping in the intra module changes the result."""
    from ref.core.container import unpack
    from ref.hcf.codec import decode_latent
    from ref.hcf.node import transcode_hcf
    from ref.hcf.transform import phi

    data = _stream(4)
    res = transcode_hcf(data, 3, None, cascade=cascade(), models=models)
    y4, _, _ = decode_latent(unpack(data), models(4))
    want = np.asarray(phi(cascade().modules[4]["inter"], y4))
    np.testing.assert_allclose(res.y_tilde, want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(res.y_tilde, np.asarray(phi(cascade().modules[4]["intra"], y4)), atol=1e-3)


@pytest.mark.eq("hcf.node_drf")
def test_drf_equals_decode_then_encode():
    from ref.core.container import unpack
    from ref.hcf.codec import decode_bytes, encode_image
    from ref.hcf.node_drf import transcode_drf

    data = _stream(4)
    res = transcode_drf(data, 2, models=models)
    pixels = decode_bytes(data, models(4))
    np.testing.assert_array_equal(res.pixels, pixels)
    ref_c = unpack(encode_image(pixels, 2, models(2)))
    c = unpack(res.data)
    assert c.sections == ref_c.sections
    assert {k: v for k, v in c.header.items() if k != "hops"} == ref_c.header
    assert c.header["hops"] == "4>2:drf" and "hops" not in ref_c.header
    # the ordinary decoder reads it
    out = decode_bytes(res.data, models(2))
    assert out.shape == pixels.shape


@pytest.mark.eq("hcf.hops", "hcf.node", "hcf.node_drf")
def test_two_hops_record_their_history_and_forged_hops_are_refused():
    from ref.core.container import pack, unpack
    from ref.hcf.codec import decode_latent
    from ref.hcf.node import transcode_hcf
    from ref.hcf.node_drf import transcode_drf

    a = transcode_hcf(_stream(4), 3, "1,1", cascade=cascade(), models=models)
    b = transcode_drf(a.data, 2, models=models)
    c = unpack(b.data)
    assert c.header["hops"] == "4>3:hcf=11,3>2:drf" and c.header["level"] == 2
    decode_latent(c, models(2))
    for forged in ("4>3:hcf=11", "4>3:hcf=11,3>1:drf", "3>2:hcf=10", "", "4>2:drf,3>2:drf"):
        f = pack("hcf", {**c.header, "hops": forged}, list(c.sections))
        with pytest.raises(BitstreamError, match="hops"):
            decode_latent(unpack(f), models(2))
    f = pack("hcf", {**c.header, "hops": 5}, list(c.sections))
    with pytest.raises(BitstreamError):
        decode_latent(unpack(f), models(2))


@pytest.mark.eq("hcf.node_policy")
def test_node_refusals():
    from ref.core.container import pack
    from ref.hcf.cascade_checkpoint import CascadeModules
    from ref.hcf.node import transcode_hcf
    from ref.hcf.node_drf import transcode_drf

    data = _stream(3)
    for K, pol, msg in ((4, None, "above"), (3, None, "already at level 3"), (2, "0,1", "must be 1"),
                        (2, "1,0,1", "needs 2")):
        with pytest.raises(InputError, match=msg):
            transcode_hcf(data, K, pol, cascade=cascade(), models=models)
    with pytest.raises(InputError, match="above"):
        transcode_drf(data, 4, models=models)
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 4
    for stream in (bytes(bad), data[:-3], pack("easz", {"x": 1}, [])):
        with pytest.raises(BitstreamError):
            transcode_hcf(stream, 2, None, cascade=cascade(), models=models)
        with pytest.raises(BitstreamError):
            transcode_drf(stream, 2, models=models)
    other = CascadeModules(cascade().modules, {**cascade().base_models, 2: "hcf_q2-0000000000000000"}, {})
    with pytest.raises(InputError, match="trained against base model"):
        transcode_hcf(data, 2, None, cascade=other, models=models)
    lacking = CascadeModules({4: cascade().modules[4]}, cascade().base_models, {})
    with pytest.raises(InputError, match="lacks"):
        transcode_hcf(data, 2, None, cascade=lacking, models=models)
