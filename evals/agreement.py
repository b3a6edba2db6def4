"""Inter-rater agreement as pure functions: Krippendorff's alpha (interval or ordinal, any number
of raters, missing ratings allowed) and Cohen's kappa with quadratic weights for two raters.

Alpha follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": the values of
each unit rated by m >= 2 raters are paired (every ordered pair of different raters counts
1 / (m - 1)) into a coincidence matrix o[c, k]; n_c are its margins and n their total; then

    alpha = 1 - (n - 1) * sum o[c, k] d(c, k) / sum n_c n_k d(c, k)

with d(c, k) = (c - k)^2 (interval) or, ordinal, (sum of n_g for g from c to k, less
(n_c + n_k) / 2)^2. Units rated once carry no information and are left out. Alpha is None when
it is undefined: no unit rated twice, or a single value used throughout (no expected
disagreement).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def krippendorff_alpha(ratings: Sequence[Sequence[float | None]], level: str = "ordinal",
                       values: Sequence[float] | None = None) -> float | None:
    """Alpha over `ratings[r][u]`: rater r's value for unit u (None or NaN: not rated).

    level: "interval" or "ordinal". values: the scale (e.g. 1..5); by default the values used.
    An ordinal alpha depends on how often each value is used, not on which values exist, so a
    scale value nobody used changes nothing."""
    if level not in ("interval", "ordinal"):
        raise ValueError(f"level must be 'interval' or 'ordinal', got {level!r}")
    units = _units(ratings)
    used = sorted({v for u in units for v in u})
    scale = sorted(set(values) | set(used)) if values is not None else used
    if len(used) < 2:
        return None
    index = {v: i for i, v in enumerate(scale)}
    o = np.zeros((len(scale), len(scale)))
    for u in units:
        m = len(u)
        for i, a in enumerate(u):
            for j, b in enumerate(u):
                if i != j:
                    o[index[a], index[b]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d = _distances(np.asarray(scale, dtype=float), n_c, level)
    expected = float((np.outer(n_c, n_c) * d).sum())
    if expected == 0:
        return None
    return round(1.0 - (n - 1) * float((o * d).sum()) / expected, 4)


def _units(ratings: Sequence[Sequence[float | None]]) -> list[list[float]]:
    """The pairable values of each unit (units rated by at least two raters)."""
    if not ratings:
        return []
    width = max(len(r) for r in ratings)
    out = []
    for u in range(width):
        vals = [r[u] for r in ratings if u < len(r) and not _missing(r[u])]
        if len(vals) >= 2:
            out.append([float(v) for v in vals])
    return out


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _distances(scale: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    if level == "interval":
        return (scale[:, None] - scale[None, :]) ** 2
    k = len(scale)
    d = np.zeros((k, k))
    for c in range(k):
        for e in range(c + 1, k):
            d[c, e] = d[e, c] = (n_c[c:e + 1].sum() - (n_c[c] + n_c[e]) / 2) ** 2
    return d


def weighted_kappa(a: Sequence[int], b: Sequence[int], categories: Sequence[int] = (1, 2, 3, 4, 5)) -> float | None:
    """Cohen's kappa with quadratic weights between two raters' paired scores.

    Quadratic weights, because on a 1-5 scale a 1-vs-5 disagreement is worse than 4-vs-5.
    None when undefined (no pairs, or both raters used a single identical category).
    """
    if len(a) != len(b):
        raise ValueError("weighted_kappa needs paired scores")
    n, k = len(a), len(categories)
    if n == 0:
        return None
    index = {c: i for i, c in enumerate(categories)}
    observed = np.zeros((k, k))
    for x, y in zip(a, b):
        observed[index[x], index[y]] += 1
    observed /= n
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / (k - 1) ** 2
    denom = float((weights * expected).sum())
    if denom == 0:
        return None
    return round(1 - float((weights * observed).sum()) / denom, 4)
