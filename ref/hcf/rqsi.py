"""Rate-Quality Sensitivity Index (paper 001, eqs. 14-15; spec/hcf-cascade.md).

    RQS(pi_1, pi_2) = |M(x, x^{d+1}_{pi_2}) - M(x, x^d_{pi_1})|
                      / max(|R(y^{d+1}_{pi_2}) - R(y^d_{pi_1})|, eps)                 (15)
    eta^M(pi)       = 1/2 (RQS(pi, pi_*) + RQS(pi, pi^*))                            (14)

with pi_* = [0,..,0,1], pi^* = [1,..,1] (ref.hcf.policy) and, pinned by [hcf.C22]:

    M  = PSNR in dB (core.psnr, 8-bit reconstructions, peak 255), or
         MS-SSIM in dB: -10 log10(1 - MS-SSIM) (core.ms_ssim) -- the unit of Tab. 1's
         MS-SSIM column (values of 10-13);
    R  = rate in bits per pixel of the original image (core.bpp of the level's complete
         container, 8 * bytes / (H * W));
    eps = 1e-6 (bpp), the paper's example value;
    M and R are the means over the evaluation images (dataset-level eta, as Tab. 1 reports
    eta next to mean bpp and mean PSNR), not a mean of per-image etas.

x^k_pi and y^k_pi are decoded at level k under the policy truncated to k
(ref.hcf.policy.truncate_policy; eq. 10 with d = k).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ref.core.errors import InputError
from ref.core.registry import implements

#: [hcf.C22] eps of eq. 15, in bpp (the paper's "e.g. 1e-6").
EPSILON = 1e-6

__all__ = ["EPSILON", "RatePoint", "rqs", "rqsi", "ms_ssim_db"]


class RatePoint(NamedTuple):
    """One (quality, rate) measurement of a reconstruction.

    metric: M(x, x^k_pi), dB (PSNR or MS-SSIM dB, [hcf.C22]), float.
    rate:   R(y^k_pi), bits per pixel, float >= 0.
    """

    metric: float
    rate: float


def _finite(name: str, v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(f):
        raise InputError(f"{name} must be finite, got {f}")
    return f


@implements("hcf.15", "hcf.C22")
def rqs(point_d: RatePoint, ref_point_next: RatePoint, eps: float = EPSILON) -> float:
    """RQS(pi_1, pi_2) = |M_2^{d+1} - M_1^d| / max(|R_2^{d+1} - R_1^d|, eps)    (eq. 15)

    point_d:        (M(x, x^d_{pi_1}), R(y^d_{pi_1})) of the policy pi_1 at the destination d.
    ref_point_next: (M(x, x^{d+1}_{pi_2}), R(y^{d+1}_{pi_2})) of the reference pi_2 at d + 1.
    eps: > 0, in bpp.  Returns a float (dB per bpp).  Non-finite inputs: InputError.
    """
    m1, r1 = _finite("metric at d", point_d[0]), _finite("rate at d", point_d[1])
    m2, r2 = _finite("metric at d+1", ref_point_next[0]), _finite("rate at d+1", ref_point_next[1])
    eps = _finite("eps", eps)
    if eps <= 0:
        raise InputError(f"eps must be > 0, got {eps}")
    return abs(m2 - m1) / max(abs(r2 - r1), eps)


@implements("hcf.14", "hcf.C22")
def rqsi(point_d: RatePoint, min_ref_next: RatePoint, max_ref_next: RatePoint, eps: float = EPSILON) -> float:
    """eta^M(pi) = 1/2 (RQS(pi, pi_*) + RQS(pi, pi^*))    (eq. 14)

    point_d:      the policy pi at the destination level d (metric dB, rate bpp).
    min_ref_next: pi_* = [0,..,0,1] decoded at level d + 1 (policy truncated to d + 1).
    max_ref_next: pi^* = [1,..,1] decoded at level d + 1.
    Lower is better.  Returns a float (dB per bpp).
    """
    return 0.5 * (rqs(point_d, min_ref_next, eps) + rqs(point_d, max_ref_next, eps))


@implements("hcf.C22")
def ms_ssim_db(value: float) -> float:
    """MS-SSIM in dB: -10 log10(1 - MS-SSIM)  (MS-SSIM in [0, 1); 1 -> +inf).

    The unit of the MS-SSIM column of the paper's Tab. 1 and of M = MS-SSIM in eq. 15.
    """
    v = _finite("MS-SSIM", value)
    if not 0.0 <= v <= 1.0:
        raise InputError(f"MS-SSIM must be in [0, 1], got {v}")
    return math.inf if v == 1.0 else 0.0 - 10.0 * math.log10(1.0 - v)    # 0.0 - : no -0.0
