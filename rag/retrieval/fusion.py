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
