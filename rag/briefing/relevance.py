"""Which retrieved passages a briefing may use: inside the filters, and relevant to the topic.

Relevance is judged relative to the best hits of the same search, never by an absolute cosine
(e5 scores bunch at 0.8-0.9): closeness of the dense score to the top hit's, and how much of the
topic's analyzed terms the passage covers compared with the best-covering passage. Off-topic
articles the retriever returns to fill its k are dropped, so a small archive gives a short
briefing rather than a padded one.
"""
from __future__ import annotations

from typing import Iterable

from rag.text.arabic import analyze
from rag.text.dates import iso_date
from rag.types import Filters, Hit

# Relevance, relative to the best hits of the same search. A passage's dense signal falls from 1
# at the top hit's cosine to 0 at DENSE_MARGIN below it (e5 cosines of unrelated passages sit
# only ~0.05 under related ones); its lexical signal is its coverage of the topic's terms over
# the best passage's. A passage needs the mean of the available signals >= REL_MIN.
DENSE_MARGIN = 0.06
REL_MIN = 0.5


def allowed(hits: Iterable[Hit], f: Filters) -> list[Hit]:
    """Re-apply the filters: a briefing must never cite outside the period or sources asked for.

    An in-memory copy of the index's filter rules, kept small so it can give way to the index's
    own matcher; duplicate passages are dropped as well."""
    out, seen = [], set()
    for h in hits:
        c = h.chunk
        d = iso_date(c.date)
        if c.id in seen:
            continue
        if (f.since or f.until) and not d:
            continue
        if f.since and d[:len(f.since)] < f.since[:len(d)]:
            continue
        if f.until and d[:len(f.until)] > f.until[:len(d)]:
            continue
        if f.sources and c.source not in f.sources:
            continue
        if f.authors and c.author not in f.authors:
            continue
        if f.doc_ids and c.doc_id not in f.doc_ids:
            continue
        seen.add(c.id)
        out.append(h)
    return out


def _terms_of(h: Hit) -> frozenset[str]:
    return frozenset(analyze(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}"))


class Relevance:
    """Judges passages against the topic relative to the best hits (see the module docstring).

    Built on the topic's own search; `keep` filters that pool, `admit` the hits of later
    searches (per aspect or sub-question), which must also come from articles the pool found
    relevant, so an aspect query cannot bring an off-topic article back in.
    """

    def __init__(self, topic: str, pool: list[Hit]):
        self.terms = frozenset(analyze(topic))
        self.best_cov = max((self.coverage(h) for h in pool), default=0.0)
        self.rel: dict[str, float] = {}
        self.docs: set[str] = set()

    @property
    def lexical(self) -> bool:
        """Whether the topic's words occur in the passages at all (not so across languages)."""
        return self.best_cov > 0

    def coverage(self, h: Hit) -> float:
        return len(self.terms & _terms_of(h)) / len(self.terms) if self.terms else 0.0

    def scores(self, hits: list[Hit]) -> dict[str, float]:
        dense = [h.dense_score for h in hits if h.dense_score is not None]
        top_d = max(dense) if dense else None
        top_s = max((h.score for h in hits), default=0.0)
        out = {}
        for h in hits:
            parts = []
            if top_d is not None:
                d = h.dense_score if h.dense_score is not None else top_d - DENSE_MARGIN
                parts.append(min(1.0, max(0.0, 1 - (top_d - d) / DENSE_MARGIN)))
            if self.best_cov:
                parts.append(min(1.0, self.coverage(h) / self.best_cov))
            if not parts:  # neither signal: the fused score relative to the best
                parts.append(h.score / top_s if top_s > 0 else 1.0)
            out[h.chunk.id] = sum(parts) / len(parts)
        return out

    def keep(self, hits: list[Hit]) -> list[Hit]:
        """The relevant passages of the topic's own search, most relevant first."""
        rel = self.scores(hits)
        kept = sorted((h for h in hits if rel[h.chunk.id] >= REL_MIN),
                      key=lambda h: (-rel[h.chunk.id], -h.score, h.chunk.id))
        self.rel.update((h.chunk.id, rel[h.chunk.id]) for h in kept)
        self.docs.update(h.chunk.doc_id for h in kept)
        return kept

    def admit(self, hits: list[Hit]) -> list[Hit]:
        """Relevant hits of a follow-up search, from articles already judged relevant."""
        rel = self.scores(hits)
        out = [h for h in hits if h.chunk.doc_id in self.docs and rel[h.chunk.id] >= REL_MIN]
        for h in out:
            self.rel.setdefault(h.chunk.id, rel[h.chunk.id])
        return out
