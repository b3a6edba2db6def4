"""Weighted reciprocal-rank fusion, as pure functions over ranked id lists.

RRF instead of score mixing: e5 cosines bunch at 0.8-0.9 and BM25 scores are unbounded, so
ranks are the only scale the sides share. Ties break by chunk id so results are reproducible.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def ranks(ids: Sequence[str]) -> dict[str, int]:
    """Each id's 0-based rank in a best-first list."""
    return {cid: i for i, cid in enumerate(ids)}


def fuse(rankings: Iterable[tuple[float, Sequence[str]]], rrf_k: int) -> dict[str, float]:
    """Sum of weight / (rrf_k + rank + 1) over the (weight, best-first ids) rankings that hold
    each id; an id missing from a ranking gets nothing from it."""
    fused: dict[str, float] = {}
    for weight, ids in rankings:
        for cid, r in ranks(ids).items():
            fused[cid] = fused.get(cid, 0.0) + weight / (rrf_k + r + 1)
    return fused


def fused_order(fused: dict[str, float]) -> list[str]:
    """Ids best first: higher fused score, then chunk id."""
    return sorted(fused, key=lambda c: (-fused[c], c))


def standout(scores: Sequence[float]) -> float:
    """How far a ranking's best score stands above the rest of its list, in the rest's standard
    deviations (0 for a list too short to tell). Scale-free, so cosines and BM25 compare."""
    if len(scores) < 3:
        return 0.0
    rest = scores[1:]
    mean = sum(rest) / len(rest)
    sd = (sum((x - mean) ** 2 for x in rest) / len(rest)) ** 0.5
    return max(0.0, (scores[0] - mean) / (sd + 1e-9))


def adaptive_weights(weights: Sequence[float], scores: Sequence[Sequence[float]]) -> list[float]:
    """Each side's weight scaled by how much its best result stands out on this query, relative
    to the sides' mean: a side that is sure of its top passage counts for more."""
    outs = [standout(s) for s in scores]
    live = [o for o, w, s in zip(outs, weights, scores) if w and s]
    mean = sum(live) / len(live) if live else 0.0
    if mean <= 0:
        return list(weights)
    return [w * (o / mean if s else 0.0) for w, o, s in zip(weights, outs, scores)]
