"""Result diversity: keep the best of near-duplicate passages (syndicated copies, overlapping
chunks), count a wire-copy cluster (rag.index.cluster) once, and cap passages per document so
one long article cannot crowd out the rest."""
from __future__ import annotations

from rag.text.arabic import analyze
from rag.types import Hit


def diversify(hits: list[Hit], k: int, per_doc_cap: int, dup_jaccard: float = 0.8) -> list[Hit]:
    """The first k hits that are no near-duplicate (term Jaccard >= dup_jaccard) of one kept
    before and within per_doc_cap per document (0: no cap); capped-out hits refill the list,
    in order, when too few remain.

    A story counts once: the first (best) document kept of a cluster (Chunk.cluster_id)
    represents it, and passages of its other copies are dropped; the representative's
    Chunk.also_in names them for the citation."""
    kept: list[Hit] = []
    kept_terms: list[set[str]] = []
    per_doc: dict[str, int] = {}
    overflow: list[Hit] = []
    story: dict[str, str] = {}  # cluster id -> the document that represents it
    for h in hits:
        cluster = h.chunk.cluster_id
        if cluster and story.get(cluster, h.chunk.doc_id) != h.chunk.doc_id:
            continue  # another copy of a story already kept
        terms = set(analyze(h.chunk.text))
        if any(jaccard(terms, t) >= dup_jaccard for t in kept_terms):
            continue
        if per_doc_cap and per_doc.get(h.chunk.doc_id, 0) >= per_doc_cap:
            overflow.append(h)
            continue
        kept.append(h)
        kept_terms.append(terms)
        if cluster:
            story[cluster] = h.chunk.doc_id
        per_doc[h.chunk.doc_id] = per_doc.get(h.chunk.doc_id, 0) + 1
        if len(kept) >= k:
            return kept
    return kept + overflow[: k - len(kept)]


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b|; 0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
