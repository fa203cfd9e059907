"""Attention cost of pixel tokens vs two-stage patchify (paper III-B; easz.complexity, easz.C15).

Counts are multiply-accumulate counts of one self-attention score matrix divided by
d_model (tokens^2), as in the paper:

    full_pixel      = (h w)^2                         pixel tokens over the whole image
    stage1          = (h w)^2 / n^4 = (h w / n^2)^2   patch tokens over the whole image
    per_patch_pixel = (n^2)^2 = n^4                   pixel tokens inside one n x n patch
    two_stage       = (h w / n^2) * (n^2 / b^2)^2     sub-patch tokens, attention inside
                    = h w n^2 / b^4                   each patch (paper's formula)
    paper_ratio     = full_pixel / per_patch_pixel    the paper's "reduced by 4096 times"

256 x 256, n = 32, b = 4:  full_pixel = 4,294,967,296; per_patch_pixel = 1,048,576
(the paper's quoted number); paper_ratio = 4096; the formula two_stage = 262,144
(a 16384x reduction).  The paper's example number is n^4, not its formula (easz.C15).
"""

from __future__ import annotations

from dataclasses import dataclass

from ref.core.errors import InputError
from ref.core.registry import implements


@dataclass(frozen=True)
class AttentionCost:
    """Exact integer counts (units of d_model); see the module docstring."""

    full_pixel: int
    stage1: int
    per_patch_pixel: int
    two_stage: int
    paper_ratio: int
    formula_ratio: int


@implements("easz.complexity", "easz.C15")
def attention_cost(h: int, w: int, n: int, b: int) -> AttentionCost:
    """Counts for an h x w single-channel image, patch n, sub-patch b (n | h, n | w, b | n)."""
    for name, v in (("h", h), ("w", w), ("n", n), ("b", b)):
        if not isinstance(v, int) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if h % n or w % n or n % b:
        raise InputError(f"need n | h, n | w and b | n (h={h}, w={w}, n={n}, b={b})")
    hw = h * w
    full = hw * hw
    stage1 = (hw // (n * n)) ** 2
    per_patch = n ** 4
    two_stage = (hw // (n * n)) * (n * n // (b * b)) ** 2
    return AttentionCost(full, stage1, per_patch, two_stage, full // per_patch, full // two_stage)
