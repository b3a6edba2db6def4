"""Which retrieved passages a briefing may use: inside the filters, and relevant to the topic.

Relevance is judged relative to the best hits of the same search, never by an absolute cosine
(e5 scores bunch at 0.8-0.9): closeness of the dense score to the top hit's, and how much of the
topic's analyzed terms the passage covers compared with the best-covering passage. Off-topic
articles the retriever returns to fill its k are dropped, so a small archive gives a short
briefing rather than a padded one.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.briefing.placement import place
from rag.index.filters import matches
from rag.text.arabic import analyze
from rag.types import Filters, Hit

# Relevance, relative to the best hits of the same search. A passage's dense signal falls from 1
# at the top hit's cosine to 0 at DENSE_MARGIN below it (e5 cosines of unrelated passages sit
# only ~0.05 under related ones); its lexical signal is its coverage of the topic's terms over
# the best passage's. A passage needs the mean of the available signals >= REL_MIN.
DENSE_MARGIN = 0.06
REL_MIN = 0.5


def allowed(hits: Iterable[Hit], f: Filters) -> list[Hit]:
    """Re-apply the filters with the index's own in-memory matcher (rag.index.filters.matches, the
    twin of its SQL and Chroma translations): a briefing must never cite outside the period or
    sources asked for, whatever `search` returned. Duplicate passages are dropped as well."""
    out, seen = [], set()
    for h in hits:
        if h.chunk.id not in seen and matches(f, h.chunk):
            seen.add(h.chunk.id)
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


# -- sentences: about the topic, about their section's aspect -----------------------------------

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"


@dataclass(frozen=True)
class Thresholds:
    """When a sentence is about the topic and about an aspect (rag/briefing/thresholds.json,
    fitted per embedding model by evals.briefing_eval --fit on the dev set's tune half).

    topic:  w * cos(sentence, topic) + (1 - w) * cos(its article's title, topic)
            + lex_weight * (share of the topic's terms in the sentence)
            + passage_lex_weight * (IDF-weighted share of the topic's terms in its passage)
            must reach this (e5 query/passage cosines; w = sentence_weight: a sentence is about
            the topic when it, and the article it comes from, are; the IDF, over the sentences
            judged together, makes the topic's rare word count: in an archive about extremism,
            «تمويل» and not «الجماعات المتطرفة» tells a financing passage);
    aspect: cos(sentence, aspect) + aspect_lex_weight * (share of the aspect's own terms)
            must reach this, ahead of the next-best aspect by aspect_margin, and the sentence
            goes to its best-fitting aspect only (the aspect's vector: its name's, plus
            aspect_centroid_weight times the centroid of the passages it was discovered from;
            rag.briefing.placement); aspect and aspect_margin are fitted on hand labels of the
            tune half (evals.fit_briefing_aspects) for discovered aspects, the other weights by
            evals.briefing_eval; asked_aspect / asked_aspect_margin, when set, apply instead to
            aspects a trainer asked for (no tune-half topic asks for any, so those were not
            refitted with the discovered ones);
    min_support: sentences an aspect needs, else it is dropped (an open question when asked for);
    thin: on-topic documents under this make a briefing say the archive barely covers the topic.
    Without a model entry (no embedder, or another model) the judgement is lexical only: a
    sentence needs the file's "lexical" share of the topic's terms (`topic`), or to fit an
    aspect while its article has on-topic sentences.
    """

    topic: float = 0.0
    aspect: float = 0.0
    lex_weight: float = 0.1
    sentence_weight: float = 0.5
    passage_lex_weight: float = 0.0
    aspect_lex_weight: float = 0.0
    aspect_centroid_weight: float = 0.0
    aspect_margin: float = 0.0
    asked_aspect: float | None = None  # for aspects a trainer asked for; None: as `aspect`
    asked_aspect_margin: float | None = None
    min_support: int = 2
    thin: int = 2
    model: str = ""  # "" = lexical only

    @property
    def dense(self) -> bool:
        return bool(self.model)


def load_thresholds(model_id: str | None, path: Path = THRESHOLDS_FILE) -> Thresholds:
    """The fitted thresholds for `model_id` (or for the model whose cosine scale it shares, as
    int8 vectors share fp32's); lexical-only ones when there are none for it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    lexical = data.get("lexical", {})
    base = Thresholds(topic=float(lexical.get("topic", 0.0)),
                      min_support=int(lexical.get("min_support", 2)), thin=int(lexical.get("thin", 2)))
    from rag.index.embeddings import cosine_scale

    models = data.get("models") or {}
    entry = models.get(model_id or "") or models.get(cosine_scale(model_id or ""))
    if not model_id or not entry:
        return base
    return Thresholds(topic=float(entry["topic"]), aspect=float(entry["aspect"]),
                      lex_weight=float(entry.get("lex_weight", 0.1)),
                      sentence_weight=float(entry.get("sentence_weight", 0.5)),
                      passage_lex_weight=float(entry.get("passage_lex_weight", 0.0)),
                      aspect_lex_weight=float(entry.get("aspect_lex_weight", 0.0)),
                      aspect_centroid_weight=float(entry.get("aspect_centroid_weight", 0.0)),
                      aspect_margin=float(entry.get("aspect_margin", 0.0)),
                      asked_aspect=_opt(entry.get("asked_aspect")),
                      asked_aspect_margin=_opt(entry.get("asked_aspect_margin")),
                      min_support=int(entry.get("min_support", base.min_support)),
                      thin=int(entry.get("thin", base.thin)), model=model_id)


def _opt(x) -> float | None:
    return None if x is None else float(x)


def _cos_rows(m, v):
    import numpy as np

    m = np.asarray(m, dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    mn = np.linalg.norm(m, axis=1)
    vn = float(np.linalg.norm(v)) or 1.0
    return (m @ v) / np.where(mn == 0, 1, mn) / vn


class SentenceJudge:
    """Scores sentences against the topic and the aspects (see Thresholds); lexical only
    without an embedder or fitted thresholds."""

    def __init__(self, topic: str, embedder=None, thresholds: Thresholds | None = None):
        self.topic = topic
        self.terms = frozenset(analyze(topic))
        self.t = thresholds or load_thresholds(getattr(embedder, "model_id", None))
        self.embedder = embedder if self.t.dense and embedder is not None else None
        self._q = self.embedder.embed_query(topic) if self.embedder else None

    def lex(self, terms: frozenset[str], words: set[str]) -> float:
        return len(terms & words) / len(terms) if terms else 0.0

    def vectors(self, texts: list[str]):
        return self.embedder.embed_documents(texts) if self.embedder and texts else None

    def topic_scores(self, texts: list[str], vecs, titles: list[str] | None = None,
                     passages: list[str] | None = None) -> list[float]:
        words = [set(analyze(t)) for t in texts]
        lex = [self.lex(self.terms, w) for w in words]
        if vecs is None:
            return lex
        if passages is not None and self.t.passage_lex_weight:
            n = len(words)
            df = {t: sum(1 for w in words if t in w) for t in self.terms}
            idf = {t: math.log((n + 1) / (df[t] + 0.5)) for t in self.terms}
            total = sum(idf.values()) or 1.0
            memo: dict[str, float] = {}
            for p in passages:
                if p not in memo:
                    memo[p] = sum(idf[t] for t in self.terms & set(analyze(p))) / total
            plex = [memo[p] for p in passages]
        else:
            plex = [0.0] * len(texts)
        cos = _cos_rows(vecs, self._q)
        w = self.t.sentence_weight
        if titles is not None and w < 1:
            names = list(dict.fromkeys(titles))
            tv = dict(zip(names, _cos_rows(self.embedder.embed_documents(names), self._q)))
            cos = [w * float(c) + (1 - w) * float(tv[t]) for c, t in zip(cos, titles)]
        return [float(c) + self.t.lex_weight * x + self.t.passage_lex_weight * px
                for c, x, px in zip(cos, [self.lex(self.terms, w) for w in words], plex)]

    def topic_cosines(self, vecs):
        """Each sentence's cosine to the topic (query prompt), None without an embedder."""
        return None if vecs is None or self._q is None else _cos_rows(vecs, self._q)

    def on_topic(self, score: float) -> bool:
        """Dense: the fitted threshold; lexical: a share of the topic's terms (at least one)."""
        return score >= self.t.topic if self.t.dense else score > 0 and score >= self.t.topic

    def aspect_scores(self, texts: list[str], vecs, names: list[str],
                      terms: list[frozenset[str]],
                      members: list[list[int]] | None = None) -> list[list[float]]:
        """scores[i][j]: sentence i against aspect j: its name's vector, plus (weight
        aspect_centroid_weight) the mean vector of the sentences of the passages the aspect was
        discovered from (`members[j]`, indexes into `texts`; [] for an aspect asked for)."""
        words = [set(analyze(t)) for t in texts]
        # an aspect's own words: its name's and distinctive terms, not the topic's
        own = [frozenset(tt - self.terms) or tt for tt in terms]
        lex = [[self.lex(o, w) for o in own] for w in words]
        if vecs is None or not names:
            return lex
        import numpy as np

        out = [[0.0] * len(names) for _ in texts]
        for j, name in enumerate(names):
            v = np.asarray(self.embedder.embed_query(name), dtype=np.float32)
            own_rows = (members or [[]] * len(names))[j]
            if own_rows and self.t.aspect_centroid_weight:
                c = np.asarray(vecs, dtype=np.float32)[own_rows].mean(axis=0)
                v = v / (np.linalg.norm(v) or 1) + self.t.aspect_centroid_weight * c / (np.linalg.norm(c) or 1)
            cos = _cos_rows(vecs, v)
            for i in range(len(texts)):
                out[i][j] = float(cos[i]) + self.t.aspect_lex_weight * lex[i][j]
        return out

    def place(self, row, asked: bool = False) -> int | None:
        """The aspect a sentence with these aspect scores goes under, or None; `asked`: the
        aspects are the ones a trainer asked for (their own thresholds, when the file has them)."""
        if not len(row):
            return None
        if self.t.dense:
            t = self.t
            if asked and t.asked_aspect is not None:
                margin = t.aspect_margin if t.asked_aspect_margin is None else t.asked_aspect_margin
                return place(row, t.asked_aspect, margin)
            return place(row, t.aspect, t.aspect_margin)
        best = max(range(len(row)), key=lambda j: (row[j], -j))
        return best if row[best] > 0 else None
