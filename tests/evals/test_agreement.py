"""Inter-rater agreement, pure: Krippendorff's alpha against values computed by hand and the
published worked example, and quadratic-weighted kappa."""
from __future__ import annotations

import math

import pytest

from evals.agreement import krippendorff_alpha, weighted_kappa

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units
# example: interval 0.849, ordinal 0.815 (nominal 0.743).
PUBLISHED = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
             [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
             [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
             [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]


def test_alpha_by_hand_interval_and_ordinal():
    # two raters, two units: (1, 2) and (3, 3). Values 1, 2, 3, 3: n = 4, n1 = n2 = 1, n3 = 2.
    # Observed: o12 = o21 = 1. Interval: D = 2 * 1; E = 2 * (1*1*1 + 1*2*4 + 1*2*1) = 22;
    # alpha = 1 - (n - 1) * 2 / 22 = 1 - 6/22 = 8/11.
    assert krippendorff_alpha([[1, 3], [2, 3]], "interval") == round(8 / 11, 4)
    # Ordinal: d12 = (2 - 1)^2 = 1, d13 = (4 - 1.5)^2 = 6.25, d23 = (3 - 1.5)^2 = 2.25;
    # E = 2 * (1 + 12.5 + 4.5) = 36; alpha = 1 - 3 * 2 / 36 = 5/6.
    assert krippendorff_alpha([[1, 3], [2, 3]], "ordinal") == round(5 / 6, 4)
    # a scale value nobody used changes nothing
    assert krippendorff_alpha([[1, 3], [2, 3]], "ordinal", values=range(1, 6)) == round(5 / 6, 4)


def test_alpha_matches_the_published_example_with_missing_ratings():
    assert krippendorff_alpha(PUBLISHED, "interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(PUBLISHED, "ordinal") == pytest.approx(0.815, abs=5e-4)
    as_nan = [[math.nan if v is None else v for v in row] for row in PUBLISHED]
    assert krippendorff_alpha(as_nan, "ordinal") == krippendorff_alpha(PUBLISHED, "ordinal")


def test_alpha_perfect_opposed_and_undefined():
    assert krippendorff_alpha([[1, 2, 5], [1, 2, 5]]) == 1.0
    assert krippendorff_alpha([[1, 5], [5, 1]], "interval") < 0  # systematic disagreement
    assert krippendorff_alpha([[3, 3], [3, 3]]) is None  # one value throughout
    assert krippendorff_alpha([[1, N], [N, 2]]) is None  # no unit rated twice
    assert krippendorff_alpha([]) is None
    with pytest.raises(ValueError):
        krippendorff_alpha([[1, 2], [1, 2]], "nominal")


def test_alpha_agrees_with_the_krippendorff_package():
    krippendorff = pytest.importorskip("krippendorff")
    import numpy as np

    rng = np.random.default_rng(7)
    for _ in range(5):
        m = rng.integers(1, 6, size=(3, 9)).astype(float)
        m[rng.random(m.shape) < 0.2] = np.nan
        for level in ("interval", "ordinal"):
            want = krippendorff.alpha(reliability_data=m, level_of_measurement=level)
            assert krippendorff_alpha(m.tolist(), level) == pytest.approx(want, abs=1e-4)


def test_weighted_kappa_by_hand():
    assert weighted_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    # scores (1,2) and (2,1), categories 1..3: observed weight 2 * 1/4 / 2 = 1/4; the margins
    # are 1/2, 1/2 on 1 and 2 for both, so expected = 2 * (1/4 * 1/4) = 1/8; kappa = 1 - 2 = -1
    assert weighted_kappa([1, 2], [2, 1], categories=(1, 2, 3)) == -1.0
    assert weighted_kappa([], []) is None and weighted_kappa([4, 4], [4, 4]) is None
    with pytest.raises(ValueError):
        weighted_kappa([1], [1, 2])
