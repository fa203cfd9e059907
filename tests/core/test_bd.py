"""BD-rate / BD-PSNR (spec/core-metrics.md [core.bd_rate], [core.bd_psnr], [core.C12])
against the bjontegaard 1.3.0 package (a test-only peer) and scipy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.interpolate import PchipInterpolator

from ref.core.errors import InputError
from ref.core.metrics import bd_psnr, bd_rate, cubic_fit, pchip_slopes

bjontegaard = pytest.importorskip("bjontegaard")

ANCHOR_R = [0.1, 0.2, 0.4, 0.8]
ANCHOR_D = [28.0, 30.5, 33.2, 36.1]
TEST_R = [0.09, 0.18, 0.37, 0.75]
TEST_D = [28.3, 30.9, 33.6, 36.4]
# ../shared/notes/peers.md (bjontegaard 1.3.0 on this pair)
PEERS_MD = {("cubic", "rate"): -17.067673, ("cubic", "psnr"): 0.722073,
            ("pchip", "rate"): -17.081567, ("pchip", "psnr"): 0.722369}


def _pkg(kind: str, method: str, *args) -> float:
    f = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(f(*args, method=method, require_matching_points=False, min_overlap=0))


@pytest.mark.eq("core.bd_rate", "core.bd_psnr", "core.C12")
@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_peer_pair(method):
    args = (ANCHOR_R, ANCHOR_D, TEST_R, TEST_D)
    r = bd_rate(*args, method=method)
    p = bd_psnr(*args, method=method)
    assert r == pytest.approx(_pkg("rate", method, *args), abs=1e-9)
    assert p == pytest.approx(_pkg("psnr", method, *args), abs=1e-9)
    assert round(r, 6) == PEERS_MD[(method, "rate")]
    assert round(p, 6) == PEERS_MD[(method, "psnr")]


def _curve(draw, n: int, r0: float):
    steps_r = draw(st.lists(st.floats(0.15, 1.2), min_size=n - 1, max_size=n - 1))
    steps_d = draw(st.lists(st.floats(0.4, 4.0), min_size=n - 1, max_size=n - 1))
    d0 = draw(st.floats(24.0, 30.0))
    log_r = np.log10(r0) + np.concatenate([[0.0], np.cumsum(steps_r)])
    d = d0 + np.concatenate([[0.0], np.cumsum(steps_d)])
    return (10.0**log_r).tolist(), d.tolist()


@st.composite
def rd_pairs(draw):
    na = draw(st.integers(4, 6))
    nt = draw(st.integers(4, 6))
    ra, da = _curve(draw, na, draw(st.floats(0.02, 0.2)))
    rt, dt = _curve(draw, nt, draw(st.floats(0.02, 0.2)))
    return ra, da, rt, dt


def _overlap(a, b) -> float:
    lo, hi = max(min(a), min(b)), min(max(a), max(b))
    return hi - lo


@pytest.mark.eq("core.bd_rate", "core.bd_psnr", "core.C12")
@settings(max_examples=150, deadline=None)
@given(rd_pairs(), st.sampled_from(["cubic", "pchip"]))
def test_random_monotone_curves_match_package(pair, method):
    ra, da, rt, dt = pair
    assume(_overlap(da, dt) > 0.05 and _overlap(np.log10(ra), np.log10(rt)) > 0.01)
    want_r = _pkg("rate", method, ra, da, rt, dt)
    want_p = _pkg("psnr", method, ra, da, rt, dt)
    assert bd_rate(ra, da, rt, dt, method=method) == pytest.approx(want_r, abs=1e-6, rel=1e-9)
    assert bd_psnr(ra, da, rt, dt, method=method) == pytest.approx(want_p, abs=1e-9, rel=1e-9)


@pytest.mark.eq("core.C12")
def test_point_order_does_not_matter():
    perm = [2, 0, 3, 1]
    for method in ("cubic", "pchip"):
        a = bd_rate(ANCHOR_R, ANCHOR_D, TEST_R, TEST_D, method=method)
        b = bd_rate([ANCHOR_R[i] for i in perm], [ANCHOR_D[i] for i in perm],
                    TEST_R[::-1], TEST_D[::-1], method=method)
        assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.eq("core.C12")
def test_pchip_slopes_match_scipy():
    cases = [
        ([0.0, 1.0, 2.5, 3.0, 5.0], [0.0, 2.0, 2.0, 1.0, 4.0]),   # zero slope and sign change
        ([0.0, 0.1, 0.3, 1.0], [1.0, 3.0, 3.5, 3.6]),
        ([-2.0, -1.0, 0.5, 0.7, 3.0], [5.0, 1.0, 0.9, -4.0, -4.5]),
        ([0.0, 1.0, 2.0], [0.0, 10.0, 0.0]),                       # end-slope clamp to 3*m0
        ([0.0, 1.0], [1.0, 3.0]),
    ]
    for x, y in cases:
        x, y = np.array(x), np.array(y)
        want = PchipInterpolator(x, y).derivative()(x)
        assert np.allclose(pchip_slopes(x, y), want, rtol=1e-13, atol=1e-13)


@pytest.mark.eq("core.C12")
def test_cubic_fit_matches_polyfit():
    x = np.array([28.0, 30.5, 33.2, 36.1, 38.0])
    y = np.log10([0.1, 0.2, 0.4, 0.8, 1.3])
    assert np.allclose(cubic_fit(x, y), np.polyfit(x, y, 3), rtol=1e-10, atol=1e-12)
    assert np.allclose(cubic_fit(x[:4], y[:4]), np.polyfit(x[:4], y[:4], 3), rtol=1e-10, atol=1e-12)


@pytest.mark.eq("core.bd_rate", "core.C12")
def test_log_base_does_not_matter_and_identity():
    # Same curve -> 0; a test curve at exactly half the rate -> -50 % (any method).
    for method in ("cubic", "pchip"):
        assert bd_rate(ANCHOR_R, ANCHOR_D, ANCHOR_R, ANCHOR_D, method=method) == pytest.approx(0, abs=1e-12)
        half = [r / 2 for r in ANCHOR_R]
        assert bd_rate(ANCHOR_R, ANCHOR_D, half, ANCHOR_D, method=method) == pytest.approx(-50.0, abs=1e-9)
        up = [d + 0.5 for d in ANCHOR_D]
        assert bd_psnr(ANCHOR_R, ANCHOR_D, ANCHOR_R, up, method=method) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.eq("core.bd_rate", "core.bd_psnr")
def test_bd_input_errors():
    with pytest.raises(InputError, match="overlap"):
        bd_rate([0.1, 0.2, 0.3, 0.4], [20, 21, 22, 23], [0.1, 0.2, 0.3, 0.4], [30, 31, 32, 33])
    with pytest.raises(InputError, match="positive"):
        bd_rate([0, 0.2, 0.4, 0.8], ANCHOR_D, TEST_R, TEST_D)
    with pytest.raises(InputError, match="method"):
        bd_psnr(ANCHOR_R, ANCHOR_D, TEST_R, TEST_D, method="akima")
    with pytest.raises(InputError, match=">= 4"):
        bd_rate(ANCHOR_R[:3], ANCHOR_D[:3], TEST_R, TEST_D, method="cubic")
    with pytest.raises(InputError, match="repeated"):
        bd_rate(ANCHOR_R, [28.0, 28.0, 33.2, 36.1], TEST_R, TEST_D)
    with pytest.raises(InputError):
        bd_rate(ANCHOR_R, ANCHOR_D[:3], TEST_R, TEST_D)
    with pytest.raises(InputError):
        bd_psnr(ANCHOR_R, [28.0, np.nan, 33.2, 36.1], TEST_R, TEST_D)
    # pchip works from 2 points (a straight line in the log domain)
    assert bd_rate(ANCHOR_R[:2], ANCHOR_D[:2], TEST_R[:2], TEST_D[:2], method="pchip") < 0
