"""HCF base-codec configuration: channel widths, quality levels, image limits (spec/hcf.md).

Everything a checkpoint's architecture depends on lives here; the numbers are normative
([hcf.C1] widths, [hcf.C2] lambda per level, [hcf.C3] padding, [hcf.C6] image limits).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ref.core.errors import InputError
from ref.core.registry import implements

#: [hcf.C2] rate-distortion weight of each quality level k = 1 (lowest rate) .. 6.
#: Loss = lambda * 255^2 * MSE(x, x_hat) + bits / pixels, x in [0, 1] (CompressAI convention).
LAMBDAS: dict[int, float] = {1: 0.0012, 2: 0.0030, 3: 0.0075, 4: 0.0180, 5: 0.0450, 6: 0.1100}
LEVELS = tuple(sorted(LAMBDAS))

#: [hcf.C3] image sizes are padded up to a multiple of 2^6 = 64 (four stride-2 layers in
#: g_a, two more in h_a).
PAD_MULTIPLE = 64
#: [hcf.C6] accepted image sizes (pixels per side)
MIN_SIDE = 16
MAX_SIDE = 8192


@dataclass(frozen=True)
class HcfConfig:
    """Architecture of one HCF level ([hcf.C1]).

    N: channels of the hidden layers of g_a, g_s and of the hyper-latent z.
    M: channels of the latent y.
    level: quality level k in 1..6; lam: its lambda ([hcf.C2]).
    mean_grid: mean grid M_g of the Gaussian-conditional tables (core.C5).
    radius: support radius of the Gaussian and factorized tables.
    """

    level: int
    lam: float
    N: int = 64
    M: int = 96
    mean_grid: int = 8
    radius: int = 256

    def to_dict(self) -> dict:
        return asdict(self)


@implements("hcf.C1", "hcf.C2")
def config_for(level: int) -> HcfConfig:
    """The configuration of quality level ``level`` (1..6); InputError otherwise."""
    if isinstance(level, bool) or not isinstance(level, int) or level not in LAMBDAS:
        raise InputError(f"hcf quality level must be one of {', '.join(map(str, LEVELS))}, got {level!r}")
    return HcfConfig(level=level, lam=LAMBDAS[level])
