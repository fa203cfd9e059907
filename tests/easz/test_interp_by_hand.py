"""easz.C16 interpolation on hand-worked cases (row and column estimates averaged)."""

from __future__ import annotations

import numpy as np
import pytest

from ref.easz.interp import interpolate

pytestmark = pytest.mark.eq("easz.C16")


def test_centre_pixel_is_the_mean_of_row_and_column_estimates():
    """    .  100   .          row estimate of the centre:    (10 + 30) / 2   = 20
          10   ?   30         column estimate of the centre: (100 + 300) / 2 = 200
           .  300   .         output: (20 + 200) / 2 = 110
    Corners are erased too: (0,0) has row neighbour 100 (right only) -> 100 and column
    neighbour 10 (below only) -> 10, mean 55; (2,2): row 300, column 30 -> 165."""
    x = np.zeros((3, 3, 1))
    keep = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool)
    x[0, 1], x[1, 0], x[1, 2], x[2, 1] = 100, 10, 30, 300
    out = interpolate(x, keep)[:, :, 0]
    assert out[1, 1] == 110
    assert out[0, 0] == 55 and out[2, 2] == 165 and out[0, 2] == (100 + 30) / 2 and out[2, 0] == (300 + 10) / 2
    assert out[0, 1] == 100 and out[1, 0] == 10            # kept pixels unchanged


def test_unequal_distances_and_a_line_without_kept_pixels():
    """Row 0 = [0, ?, ?, 90]: estimates 30 and 60 (t = 1/3, 2/3).  Column 1 has no kept pixel
    (all of rows 0..1 erased there), so row 0's pixels use the row estimate alone; column 3
    of row 1 has kept pixel 90 above -> 90 (row 1 has no kept pixel at all)."""
    x = np.zeros((2, 4, 1))
    keep = np.array([[1, 0, 0, 1], [0, 0, 0, 0]], bool)
    x[0, 0], x[0, 3] = 0, 90
    out = interpolate(x, keep)[:, :, 0]
    assert out[0, 1] == pytest.approx(30, abs=1e-12) and out[0, 2] == pytest.approx(60, abs=1e-12)
    assert out[1, 0] == 0 and out[1, 3] == 90
