"""Choosing a briefing's sentences: candidates from passages, then MMR with per-article caps.

MMR picks the most representative sentences while penalising near-repeats and articles already
used, so the briefing spreads over many articles and dates rather than quoting one; a coverage
pass then gives each on-topic article left uncited its best sentence.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.briefing.aspects import TfIdf
from rag.text.arabic import analyze, normalize, sentences
from rag.types import Chunk, Hit

# Zero-width and bidi control characters (ZWSP/ZWNJ/ZWJ, LRM/RLM/ALM, embeddings, overrides,
# isolates, BOM, soft hyphen) that scraped pages leave in text: invisible, they break search,
# copying and the handout's layout, so quoted text is stripped of them.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean_text(text: str) -> str:
    """`text` without zero-width / bidi control characters, spaces collapsed."""
    return " ".join(_INVISIBLE.sub("", text).split())


PER_DOC = 3  # sentences one article may give the sections (coverage pass aside), many articles
SUMMARY_MIN, SUMMARY_MAX = 3, 5


@dataclass
class Cand:
    """A sentence (or LLM-written claim) with the passages it rests on."""

    text: str
    chunks: tuple[Chunk, ...]
    offset: int = 0  # position in its article, for reading order
    rel: float = 0.0
    vec: Any = field(default=None, repr=False)
    prel: float = 1.0  # relevance of its passage to the topic
    aspect: int = 0
    topic_score: float = 0.0  # the sentence's own score against the topic (SentenceJudge)
    aspect_raw: tuple = ()  # its score against each aspect judged (SentenceJudge.aspect_scores)
    topic_cos: float = 0.0  # its e5 cosine to the topic alone (SentenceJudge.topic_cosines)

    @property
    def doc(self) -> str:
        return self.chunks[0].doc_id


def candidates(hits: Iterable[Hit], rel: dict[str, float] | None = None,
                topic_terms: frozenset[str] = frozenset(), aspect_terms: frozenset[str] | None = None,
                aspect: int = 0) -> list[Cand]:
    """Sentences of `hits` worth quoting. With `aspect_terms`, a sentence must share a term with
    the topic, or with its aspect when its passage's own words (title and text, not a section
    heading that happens to share a word) touch the topic."""
    out = []
    for h in hits:
        c = h.chunk
        about = not topic_terms or bool(topic_terms & set(analyze(f"{c.title} {c.text}")))
        for s, e in spans(c.text):
            text = clean_text(c.text[s:e])
            n_words = len(text.split())
            words = set(analyze(text))
            if len(words) < 4 or n_words > 70 or normalize(text) == normalize(c.title):
                continue
            if aspect_terms is not None and not (
                    words & topic_terms or (about and words & aspect_terms)):
                continue
            out.append(Cand(text, (c,), offset=c.start + s,
                             prel=(rel or {}).get(c.id, 1.0), aspect=aspect))
    return out


def spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, a clause ending in «؛» or «:» joined to what follows on the same line."""
    out: list[tuple[int, int]] = []
    for s, e in sentences(text):
        if out and text[out[-1][1] - 1] in "؛:" and "\n" not in text[out[-1][1]:s] \
                and len(text[out[-1][0]:e].split()) <= 70:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


class Selector:
    """MMR over sentences with per-article caps; its state spans the whole briefing."""

    def __init__(self, cands: list[Cand], topic: str, per_doc: int = PER_DOC):
        tf = TfIdf([c.text for c in cands] + [topic])
        for c, v in zip(cands, tf.transform([c.text for c in cands])):
            c.vec = v
        self.q = tf.transform([topic])[0]
        self.cap = per_doc
        self.chosen: list[np.ndarray] = []
        self.per_doc: Counter = Counter()
        self.seen: set[str] = set()
        self.summary_docs: set[str] = set()  # articles the summary quotes

    def score(self, cands: list[Cand]) -> None:
        """Relevance = closeness to the section's centroid and to the topic, and the passage's
        own relevance to the topic; leads get a nudge."""
        if not cands:
            return
        centroid = np.sum([c.vec for c in cands], axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1)
        for c in cands:
            lead = 0.05 if c.chunks[0].ordinal == 0 and c.offset == c.chunks[0].start else 0.0
            c.rel = (0.5 * float(c.vec @ centroid) + 0.5 * float(c.vec @ self.q) + lead
                     + 0.3 * c.prel)

    def usable(self, c: Cand) -> bool:
        return normalize(c.text) not in self.seen and self._sim(c) <= 0.85

    def _sim(self, c: Cand) -> float:
        return max((float(c.vec @ v) for v in self.chosen), default=0.0)

    def take(self, c: Cand, count: bool = True) -> None:
        self.chosen.append(c.vec)
        if count:
            self.per_doc[c.doc] += 1
        self.seen.add(normalize(c.text))

    def best(self, cands: Iterable[Cand], ok: Callable[[Cand], bool] = lambda c: True):
        best, best_s = None, -1e9
        for c in cands:
            if not ok(c) or not self.usable(c):
                continue
            s = c.rel - 0.4 * self._sim(c) - 0.1 * self.per_doc[c.doc]
            if s > best_s:
                best, best_s = c, s
        return best

    def pick(self, cands: list[Cand], n: int, score: bool = True) -> list[Cand]:
        if score:
            self.score(cands)
        docs = {c.doc for c in cands}
        section_cap = 1 if len(docs) >= n else 2 if len(docs) > 1 else n
        here: Counter = Counter()
        picked: list[Cand] = []
        while len(picked) < n:
            c = self.best(cands, lambda c: c not in picked and here[c.doc] < section_cap
                          and self.per_doc[c.doc] < self.cap)
            if c is None:
                break
            picked.append(c)
            here[c.doc] += 1
            self.take(c)
        return picked

    def summary(self, per_aspect: list[list[Cand]], n: int | None = None) -> list[Cand]:
        """The most central sentences across aspects: each aspect's best, then the next best
        overall, SUMMARY_MIN..SUMMARY_MAX of them (fewer only when fewer exist), each from a
        source not used yet while other sources remain."""
        pool = [c for cs in per_aspect for c in cs]
        self.score(pool)  # centrality over the whole briefing
        if n is None:
            n = min(max(SUMMARY_MIN, len([cs for cs in per_aspect if cs]) + 1), SUMMARY_MAX)
        picked: list[Cand] = []
        docs: set[str] = set()

        def fresh(c: Cand) -> bool:
            return c not in picked and c.doc not in docs

        for cs in per_aspect:
            c = self.best(cs, fresh)
            if c is not None and len(picked) < n:
                picked.append(c)
                docs.add(c.doc)
                self.take(c, count=False)
        while len(picked) < n:
            c = self.best(pool, fresh) or self.best(pool, lambda c: c not in picked)
            if c is None:
                break
            picked.append(c)
            docs.add(c.doc)
            self.take(c, count=False)
        self.summary_docs |= {c.doc for c in picked}
        return sorted(picked, key=lambda c: (c.aspect, -c.rel))



def cover(sel: Selector, per_aspect: list[list[Cand]], chosen: list[list[Cand]],
           docs: set[str]) -> None:
    """Give every on-topic article not yet cited its best sentence, in the section it fits."""
    cited = {c.doc for ch in chosen for c in ch}
    for doc in sorted(docs - cited):
        options = [(c.rel, i, c) for i, cs in enumerate(per_aspect) for c in cs
                   if c.doc == doc and normalize(c.text) not in sel.seen]
        if options:
            _, i, c = max(options, key=lambda o: o[0])
            chosen[i].append(c)
            sel.take(c)



def spread(hits: list[Hit], n: int, per_doc: int) -> list[Hit]:
    """The first `n` hits taking at most `per_doc` from one article, so the LLM sees several."""
    out, count = [], Counter()
    for h in hits:
        if count[h.chunk.doc_id] < per_doc:
            out.append(h)
            count[h.chunk.doc_id] += 1
        if len(out) == n:
            break
    return out

