"""The ecf bitstream layer ([ecf.bits], [ecf.C11]) on a TEST-ONLY stand-in integer model.

The stand-in (defined here, never shipped) has the IntEcf interface of ECF_CONTRACT.md: an
integer "h_s", an encoder single pass giving every group's mixture indices from the groups
before it, and a sequential decoder that gets the groups one by one.  It makes the framing,
the group order, the escape framing and every bad-input path testable before (and
independently of) the trained model and the real integer context model.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ref.core import ans
from ref.core.container import pack, unpack
from ref.core.errors import BitstreamError, CodecrefError, InputError
from ref.core.tables import mixture_tables

# --------------------------------------------------------------------------- stand-in model
CFG = SimpleNamespace(N=3, M=8, n_cs=4, mean_grid=8, radius=16)


def _positions(g, H, W, cfg=CFG):
    """(row, col, ch) of group g in (row, col, ch) raster order ([ecf.groups] sfo, [ecf.C1])."""
    p = cfg.M // cfg.n_cs
    seg, par = g // 2, g % 2
    rows, cols = np.nonzero((np.arange(H)[:, None] + np.arange(W)[None, :]) % 2 == par)
    ch = seg * p + np.arange(p)
    return np.stack([np.repeat(rows, p), np.repeat(cols, p), np.tile(ch, rows.size)], axis=1)


class _StandIn:
    """Integer-only toy index model: psi = z^ repeated 4x4 and summed over channels; group g's
    indices depend on psi and on the values of groups < g (the left and upper neighbours of
    the same channel and the previous segment's channel at the same position)."""

    def __init__(self, cfg=CFG):
        self.cfg = cfg

    def group_positions(self, g, H, W):
        return _positions(g, H, W)

    def hyper(self, z_hat):
        z = np.asarray(z_hat, np.int64)
        return np.repeat(np.repeat(z.sum(axis=-1), 4, 0), 4, 1)

    def _inputs(self, psi, known, g):
        H, W, _ = known.shape
        p = _positions(g, H, W)
        r, c, ch = p[:, 0], p[:, 1], p[:, 2]
        left = known[r, np.maximum(c - 1, 0), ch]
        up = known[np.maximum(r - 1, 0), c, ch]
        prev = known[r, c, np.maximum(ch - self.cfg.M // self.cfg.n_cs, 0)]
        base = psi[r, c]
        mean1 = 8 * (left + up) // 2 + base
        s = np.stack([np.clip(10 + np.abs(base) % 20, 0, 63), np.clip(20 + np.abs(prev) % 30, 0, 63),
                      np.full_like(base, 40)], axis=1)
        mu = np.stack([mean1, 8 * prev + 3, mean1 - 5 * g], axis=1)
        w1 = 30000 + (np.abs(up) % 7) * 1000
        w = np.stack([w1, 65536 - w1 - 5000, np.full_like(w1, 5000)], axis=1)
        return s.astype(np.int64), mu.astype(np.int64), w.astype(np.int64)

    def table_inputs_all(self, psi, y_hat):
        y = np.asarray(y_hat, np.int64)
        known = np.zeros_like(y)
        out = []
        for g in range(2 * self.cfg.n_cs):
            out.append(self._inputs(psi, known, g))
            p = _positions(g, *y.shape[:2])
            known[p[:, 0], p[:, 1], p[:, 2]] = y[p[:, 0], p[:, 1], p[:, 2]]
        return out

    def decoder(self, psi):
        outer = self

        class _Dec:
            def __init__(self):
                self.known, self.g = None, 0

            def table_inputs(self, g):
                if self.known is None:
                    self.known = np.zeros((psi.shape[0], psi.shape[1], outer.cfg.M), np.int64)
                assert g == self.g, "groups out of order"
                return outer._inputs(psi, self.known, g)

            def next_group(self, values):
                p = _positions(self.g, *self.known.shape[:2])
                self.known[p[:, 0], p[:, 1], p[:, 2]] = values
                self.g += 1

        return _Dec()


def _model(H=8, W=12):
    from ref.core.tables import gaussian_table, TableSet
    from ref.ecf.codec import EcfModel

    f = gaussian_table(np.full(CFG.N, 30), radius=CFG.radius)       # toy z tables, one per channel
    return EcfModel(quality=1, cfg=CFG, params={}, z_tables=TableSet(f, CFG.radius),
                    z_offsets=np.array([0, 1, -1]), int_model=_StandIn(), model_id="standin-0")


def _latents(H=8, W=12, seed=0, big=()):
    rng = np.random.default_rng(seed)
    y = rng.integers(-6, 7, size=(H, W, CFG.M))
    for (r, c, ch, v) in big:
        y[r, c, ch] = v
    z = rng.integers(-3, 4, size=(-(-H // 4), -(-W // 4), CFG.N))
    return y, z


def _container(y, z, m):
    from ref.ecf.codec import encode_latents

    return unpack(pack("ecf", {"t": 1}, encode_latents(y, z, m)))


# --------------------------------------------------------------------------- tests
@pytest.mark.eq("ecf.bits", "ecf.bits_bound")
def test_round_trip_with_escapes_and_far_values():
    from ref.ecf.codec import decode_latents

    m = _model()
    y, z = _latents(big=((0, 0, 0, 1000), (3, 5, 7, -32767), (7, 11, 4, 17)))
    y_dec, z_dec = decode_latents(_container(y, z, m), m, 8, 12)
    assert np.array_equal(y_dec, y) and np.array_equal(z_dec, z)


@pytest.mark.eq("ecf.bits")
def test_layout_read_independently_group_by_group():
    """A reader written from the spec text alone: shape varints, one rANS stream per group in
    its own section, escapes of group g located by [core.C7g] without reading the others."""
    from ref.core.escape import decode_values, escape_group_payload

    m = _model()
    y, z = _latents(seed=3, big=((2, 2, 2, 500), (5, 6, 7, -300)))
    c = _container(y, z, m)
    names = [n for n, _ in c.sections]
    assert names == ["shape", "z", "z_esc"] + [f"y{g}" for g in range(8)] + ["y_esc"]
    assert list(c.section("shape")) == [8, 12, 8, 2, 3, 3, 4, 8, 64]          # all < 128: one byte each
    ref_inputs = _StandIn().table_inputs_all(_StandIn().hyper(z), y)
    for g in (5, 2, 7, 0):                                                     # any order
        s, mu, w = ref_inputs[g]
        ts, centre = mixture_tables(s, mu, w, radius=64, mean_grid=8)
        d = ans.AnsDecoder(c.section(f"y{g}"))
        r = decode_values(d, np.arange(len(centre), dtype=np.int32), ts, escape_group_payload(c.section("y_esc"), g))
        d.finish()
        p = _positions(g, 8, 12)
        assert np.array_equal(r + centre, y[p[:, 0], p[:, 1], p[:, 2]])
    from ref.core.escape import split_escape_groups

    assert sum(len(e) > 0 for e in split_escape_groups(c.section("y_esc"), 8)) >= 2   # the two far values


def _reassemble(c, **replace):
    secs = [(n, replace.get(n, p)) for n, p in c.sections if replace.get(n, p) is not None]
    return unpack(pack("ecf", dict(c.header), secs))


@pytest.mark.eq("ecf.bits")
def test_missing_group_section_and_bad_framing_are_bitstream_errors():
    from ref.ecf.codec import decode_latents

    m = _model()
    y, z = _latents(seed=1, big=((1, 1, 1, 90),))
    c = _container(y, z, m)
    with pytest.raises(BitstreamError, match="missing y3"):
        decode_latents(_reassemble(c, y3=None), m, 8, 12)
    with pytest.raises(BitstreamError, match="after group 7"):
        decode_latents(_reassemble(c, y_esc=c.section("y_esc") + b"\0"), m, 8, 12)
    with pytest.raises(BitstreamError, match="truncated"):
        decode_latents(_reassemble(c, y_esc=c.section("y_esc")[:-1]), m, 8, 12)
    with pytest.raises(BitstreamError, match="shape section"):
        decode_latents(c, m, 8, 16)
    swapped = unpack(pack("ecf", {}, [(n, p) for n, p in c.sections[:3]] + list(reversed(c.sections[3:11]))
                          + [c.sections[11]]))
    with pytest.raises(BitstreamError, match="sections are not"):
        decode_latents(swapped, m, 8, 12)


@pytest.mark.eq("ecf.bits")
def test_damaged_group_streams_never_escape_the_error_contract():
    """Every truncation and every single-byte change of a group section: a BitstreamError or a
    decode (ANS has no checksum; the container CRC catches damage in a real file); never a
    hang, an int overflow or another exception (the ANS end check catches most truncations, not
    all; an empty section is a conforming stream of symbol 0 everywhere, as in core.hp_sections)."""
    from ref.ecf.codec import decode_latents

    m = _model(8, 8)
    y, z = _latents(8, 8, seed=5)
    c = _container(y, z, m)
    caught = 0
    for name in ("y0", "y4", "y7"):
        sec = c.section(name)
        for cut in range(1, len(sec)):
            try:
                decode_latents(_reassemble(c, **{name: sec[:cut]}), m, 8, 8)
            except BitstreamError as exc:
                assert str(exc).startswith("bitstream: group")
                caught += 1
        for i in range(len(sec)):
            bad = bytearray(sec)
            bad[i] ^= 0x5A
            try:
                decode_latents(_reassemble(c, **{name: bytes(bad)}), m, 8, 8)
            except BitstreamError:
                caught += 1
    assert caught > len(c.section("y0"))      # most damage is caught


@pytest.mark.eq("ecf.bits_bound")
def test_latent_bound_both_sides():
    from ref.ecf.codec import Y_BOUND, decode_latents, encode_latents

    m = _model()
    y, z = _latents()
    y[0, 0, 0] = Y_BOUND
    with pytest.raises(InputError, match="magnitude"):
        encode_latents(y, z, m)
    # a stream whose escape decodes to |y^| >= 2^15: craft it by coding with a wider bound
    import ref.ecf.codec as codec

    old = codec.Y_BOUND
    codec.Y_BOUND = 1 << 20
    try:
        c = _container(y, z, m)
    finally:
        codec.Y_BOUND = old
    with pytest.raises(BitstreamError, match="magnitude"):
        decode_latents(c, m, 8, 12)


@pytest.mark.eq("ecf.bits_image")
def test_padding_and_pixel_convention():
    from ref.ecf.codec import latent_size, pad_image, to_network, to_uint8

    img = np.arange(70 * 3, dtype=np.uint8).reshape(70, 3, 1)
    out = pad_image(img)
    assert out.shape == (128, 128, 1)
    assert np.all(out[70:, :3, 0] == img[69, :, 0]) and np.all(out[:70, 3:, 0] == img[:, 2:3, 0])
    assert latent_size(70, 3) == (8, 8, 2, 2) and latent_size(512, 768) == (32, 48, 8, 12)
    x = to_network(np.array([[[0], [128], [255]]], np.uint8))
    assert x.shape == (1, 1, 3, 3) and x[0, 0, 1, 2] == np.float32(128) / np.float32(255)
    xh = np.array([[[[-0.2, 0.5, 1.3], [0.5 / 255, 1.5 / 255, 2.5 / 255]]]], np.float32)
    assert to_uint8(xh, 1, 2, 3).tolist() == [[[0, 128, 255], [0, 2, 2]]]


def test_header_checks_before_decoding():
    from ref.ecf.codec import decode_container

    m = _model()
    y, z = _latents()
    from ref.ecf.codec import encode_latents

    secs = encode_latents(y, z, m)
    good = {"quality": 1, "model": "standin-0", "height": 100, "width": 150, "channels": 3}
    cases = {
        "quality 2": dict(good, quality=2),
        "another checkpoint": dict(good, model="other"),
        "too small": dict(good, height=8),
        "channels": dict(good, channels=2),
        "extra field": dict(good, extra=1),
    }
    for name, hdr in cases.items():
        with pytest.raises(BitstreamError):
            decode_container(unpack(pack("ecf", hdr, secs)), m)
    with pytest.raises(BitstreamError, match="not ecf"):
        decode_container(unpack(pack("hcf", good, secs)), m)


def test_error_classes_have_exit_codes():
    assert BitstreamError.exit_code == 3 and InputError.exit_code == 2 and issubclass(BitstreamError, CodecrefError)
