"""The equal-rate comparison of `codecref analyze ecf rd --compare` on hand-computed cases."""

from __future__ import annotations

import math

from ref.ecf.evaluate import compare, hcf_psnr_at_rate


def test_log_rate_interpolation_hand_cases():
    pts = [(0.4, 30.0), (0.1, 24.0), (0.2, 27.0)]                       # unsorted on purpose
    assert hcf_psnr_at_rate(pts, 0.2) == 27.0
    # halfway in log-rate between 0.1 and 0.4 is 0.2: the point itself
    assert math.isclose(hcf_psnr_at_rate(pts, math.sqrt(0.1 * 0.4)), 27.0)
    # between 0.2 and 0.4 at 0.3: t = ln 1.5 / ln 2
    assert math.isclose(hcf_psnr_at_rate(pts, 0.3), 27.0 + 3.0 * math.log(1.5) / math.log(2.0))
    assert hcf_psnr_at_rate(pts, 0.05) is None and hcf_psnr_at_rate(pts, 0.5) is None


def test_compare_uses_the_same_image_only():
    hcf = {"rows": [{"codec": "hcf", "image": "a", "bpp": 0.1, "psnr": 24.0},
                    {"codec": "hcf", "image": "a", "bpp": 0.4, "psnr": 30.0},
                    {"codec": "jpeg420", "image": "a", "bpp": 0.2, "psnr": 99.0},
                    {"codec": "hcf", "image": "b", "bpp": 0.1, "psnr": 10.0},
                    {"codec": "hcf", "image": "b", "bpp": 0.4, "psnr": 12.0}]}
    rows = [{"image": "a", "quality": 3, "bpp": 0.2, "psnr": 28.0}, {"image": "c", "quality": 3, "bpp": 0.2, "psnr": 1.0}]
    out = compare(rows, hcf)
    assert math.isclose(out[0]["hcf_psnr_at_rate"], 27.0) and math.isclose(out[0]["delta_db"], 1.0)
    assert out[1]["delta_db"] is None


def test_bd_against_hcf_is_minus_ten_percent_for_a_uniform_ten_percent_saving():
    import math

    from ref.ecf.evaluate import bd_against_hcf

    # HCF: log-rate exactly linear in PSNR (x2 rate per 3 dB), so pchip is exact; ecf needs
    # 0.9x the rate at two of HCF's qualities -> BD-rate exactly -10 % over their overlap
    hcf = {"rows": [{"codec": "hcf", "image": im, "setting": k, "bpp": 0.1 * 2 ** (k - 1), "psnr": 25.0 + 3 * (k - 1)}
                    for im in ("a", "b") for k in (1, 2, 3, 4)]}
    rows = [{"image": im, "quality": q, "bpp": 0.9 * 0.1 * 2 ** (q - 1), "psnr": 25.0 + 3 * (q - 1)}
            for im in ("a", "b") for q in (2, 3)]
    bd = bd_against_hcf(rows, hcf)
    assert math.isclose(bd["bd_rate_pct"], -10.0, abs_tol=1e-9)
    assert "error" in bd_against_hcf(rows[:1], hcf)                        # one quality: no BD-rate
    assert "error" in bd_against_hcf(rows + [{**rows[0], "image": "c"}], hcf)   # images must match
