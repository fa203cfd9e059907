"""RQS / RQSI (eqs. 14-15) and the MS-SSIM dB unit (spec/hcf-cascade.md hcf.C22) on hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.core.metrics import ms_ssim, psnr
from ref.hcf.rqsi import EPSILON, RatePoint, ms_ssim_db, rqs, rqsi

pytestmark = pytest.mark.eq("hcf.14", "hcf.15", "hcf.C22")


def test_hand_worked_eta_10():
    # spec example: |31.0 - 30.0| / |0.30 - 0.20| = 10, |30.5 - 30.0| / |0.25 - 0.20| = 10
    p, lo, hi = RatePoint(30.0, 0.20), RatePoint(31.0, 0.30), RatePoint(30.5, 0.25)
    assert rqs(p, lo) == pytest.approx(10.0, rel=1e-12)
    assert rqs(p, hi) == pytest.approx(10.0, rel=1e-12)
    assert rqsi(p, lo, hi) == pytest.approx(10.0, rel=1e-12)


def test_hand_worked_asymmetric():
    # 1.5 / 0.06 = 25;  1.0 / 0.03 = 33.333...;  eta = (25 + 100/3) / 2 = 175/6
    p = (28.0, 0.10)
    assert rqsi(p, (29.5, 0.16), (29.0, 0.13)) == pytest.approx(175.0 / 6.0, rel=1e-12)
    # absolute values: a reference *below* the policy in quality and rate gives the same
    assert rqs(p, (26.5, 0.04)) == pytest.approx(25.0, rel=1e-12)


def test_epsilon_clamps_the_rate_difference():
    assert EPSILON == 1e-6
    assert rqs((12.0, 0.25), (13.0, 0.25)) == pytest.approx(1.0 / 1e-6, rel=1e-12)
    assert rqs((12.0, 0.25), (13.0, 0.25 + 4e-7)) == pytest.approx(1e6, rel=1e-12)
    assert rqs((12.0, 0.25), (13.0, 0.25 + 4e-6)) == pytest.approx(1.0 / 4e-6, rel=1e-9)
    assert rqs((12.0, 0.25), (13.0, 0.25), eps=0.5) == pytest.approx(2.0)
    assert rqs((12.0, 0.25), (12.0, 0.30)) == 0.0


def test_ms_ssim_db():
    assert ms_ssim_db(0.9) == pytest.approx(10.0, rel=1e-12)
    assert ms_ssim_db(0.99) == pytest.approx(20.0, rel=1e-12)
    assert ms_ssim_db(0.0) == 0.0
    assert ms_ssim_db(1.0) == math.inf
    # Tab. 1's 13.129 dB is MS-SSIM 1 - 10^-1.3129
    assert ms_ssim_db(1.0 - 10 ** -1.3129) == pytest.approx(13.129, abs=1e-9)


def test_with_measured_metrics_on_images():
    # eta from real PSNR / MS-SSIM values of three noisy reconstructions of one image
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (192, 192, 3)).astype(np.uint8)

    def noisy(sigma):
        return np.clip(x + rng.normal(0, sigma, x.shape), 0, 255).round().astype(np.uint8)

    a, b, c = noisy(8.0), noisy(4.0), noisy(6.0)
    pa, pb, pc = psnr(x, a), psnr(x, b), psnr(x, c)
    eta = rqsi((pa, 0.10), (pb, 0.30), (pc, 0.20))
    assert eta == pytest.approx(0.5 * (abs(pb - pa) / 0.20 + abs(pc - pa) / 0.10), rel=1e-12)
    ma, mb = ms_ssim_db(ms_ssim(x, a)), ms_ssim_db(ms_ssim(x, b))
    assert mb > ma                              # less noise, more dB
    assert rqs((ma, 0.1), (mb, 0.3)) == pytest.approx((mb - ma) / 0.2, rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda: rqs((math.nan, 0.1), (1.0, 0.2)), lambda: rqs((1.0, math.inf), (1.0, 0.2)),
    lambda: rqs((1.0, 0.1), (1.0, 0.2), eps=0.0), lambda: rqs((1.0, 0.1), (1.0, 0.2), eps=-1e-6),
    lambda: rqs(("a", 0.1), (1.0, 0.2)), lambda: ms_ssim_db(1.01), lambda: ms_ssim_db(-0.1),
    lambda: ms_ssim_db(math.nan),
])
def test_bad_input(call):
    with pytest.raises(InputError):
        call()
