"""Aspects of a topic discovered from retrieved passages, without an LLM or embeddings.

Passages are clustered on TF-IDF over analyzed terms (spherical k-means, deterministic
farthest-point seeds) with the topic's own terms left out, since every passage shares them and
they would blur the split. Each cluster is named by its most distinctive two-word phrase in the
writers' own surface forms ("شبكات التهريب" reads better as a heading than the stems).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from rag.arabic import STOPWORDS, analyze, normalize, stem
from rag.types import Hit

# Words that are frequent in news prose but name no aspect.
_NAMING_STOP = frozenset(normalize(w) for w in (
    "قال وقال قالت وقالت أضاف وأضاف أضافت أكد وأكد أكدت أعلن وأعلن أعلنت أشار وأشار أشارت "
    "يقول تقول مصدر مصادر العام عام سنة الماضي الحالي الجاري اليوم أمس يوم شهر الذي إنه إنها "
    "كانوا وكان وكانت بينما وفق وفقا حسب لكنه ولكن said says also new year"
).split()) | frozenset(normalize(w) for w in STOPWORDS)
_WORD = re.compile(r"[^\W\d_]{2,}")
_CLITIC = re.compile(r"^(?:[وف]?[بكل]?ال|لل|[وف]ال)")


class TfIdf:
    """TF-IDF over analyzed terms, L2-normalized rows; enough for clustering and MMR."""

    def __init__(self, texts: Sequence[str], drop: frozenset[str] = frozenset()):
        self.drop = drop
        docs = [self._terms(t) for t in texts]
        df = Counter(t for d in docs for t in set(d))
        self.vocab = {t: i for i, t in enumerate(sorted(df))}
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in sorted(df)], dtype=np.float32)

    def _terms(self, text: str) -> list[str]:
        return [t for t in analyze(text) if t not in self.drop and not t.isdigit()]

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        m = np.zeros((len(texts), max(len(self.vocab), 1)), dtype=np.float32)
        for r, text in enumerate(texts):
            for t, c in Counter(self._terms(text)).items():
                if t in self.vocab:
                    m[r, self.vocab[t]] = (1 + math.log(c)) * self.idf[self.vocab[t]]
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms == 0, 1, norms)


@dataclass
class Aspect:
    name: str
    hits: list[Hit] = field(default_factory=list)

    def query(self, topic: str) -> str:
        return f"{topic} {self.name}".strip()


def discover_aspects(topic: str, hits: Sequence[Hit], max_aspects: int = 4) -> list[Aspect]:
    """Cluster `hits` into at most `max_aspects` named aspects (best-ranked cluster first)."""
    if not hits:
        return []
    topic_terms = frozenset(analyze(topic))
    texts = [_passage_text(h) for h in hits]
    vecs = TfIdf(texts, drop=topic_terms).transform(texts)
    k = max(1, min(max_aspects, round(math.sqrt(len(hits) / 2))))
    labels = _kmeans(vecs, k)
    groups = [[i for i in range(len(hits)) if labels[i] == c] for c in range(k)]
    groups = [g for g in _merge_singletons(groups, vecs, len(hits)) if g]
    groups.sort(key=lambda g: min(g))  # the cluster holding the best hit leads
    names = _names([[texts[i] for i in g] for g in groups], topic_terms)
    return [Aspect(name, [hits[i] for i in g]) for name, g in zip(names, groups)]


def _passage_text(h: Hit) -> str:
    return f"{h.chunk.section}\n{h.chunk.text}" if h.chunk.section else h.chunk.text


def _kmeans(vecs: np.ndarray, k: int, iters: int = 15) -> list[int]:
    n = len(vecs)
    if k <= 1 or n <= k:
        return [0] * n if k <= 1 else list(range(n))
    seeds = [0]  # the top hit, then farthest-point seeding: deterministic and spread out
    while len(seeds) < k:
        sims = vecs @ vecs[seeds].T
        seeds.append(int(np.argmin(sims.max(axis=1))))
    centers = vecs[seeds].copy()
    labels = np.zeros(n, dtype=int)
    for _ in range(iters):
        new = np.argmax(vecs @ centers.T, axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = vecs[labels == c]
            if len(members):
                v = members.sum(axis=0)
                centers[c] = v / (np.linalg.norm(v) or 1)
    return labels.tolist()


def _merge_singletons(groups: list[list[int]], vecs: np.ndarray, n: int) -> list[list[int]]:
    """With enough passages, a one-passage cluster is noise: fold it into its nearest cluster."""
    if n < 8:
        return groups
    big = [g for g in groups if len(g) > 1]
    if not big:
        return groups
    for g in groups:
        if len(g) == 1:
            centers = np.stack([vecs[b].sum(axis=0) for b in big])
            big[int(np.argmax(centers @ vecs[g[0]]))].append(g[0])
    return [sorted(b) for b in big]


def _surface(word: str) -> str:
    word = "".join(ch for ch in unicodedata.normalize("NFC", word) if not unicodedata.combining(ch))
    word = word.replace("\u0640", "")
    return _CLITIC.sub("ال", word, count=1) if len(word) > 4 else word


def _phrases(text: str) -> dict[tuple[str, ...], str]:
    """Candidate key phrases of one passage: key (stems) -> surface form; bigrams and unigrams."""
    out: dict[tuple[str, ...], str] = {}
    prev = None
    for m in _WORD.finditer(text):
        word = m.group()
        norm = normalize(word)
        ok = norm not in _NAMING_STOP and len(stem(norm)) >= 2
        if ok:
            out.setdefault((stem(norm),), _surface(word))
        if prev and ok and prev[1] and not text[prev[0].end():m.start()].strip():
            out.setdefault((stem(normalize(prev[0].group())), stem(norm)),
                           f"{_surface(prev[0].group())} {_surface(word)}")
        prev = (m, ok)
    return out


def _names(groups: list[list[str]], topic_terms: frozenset[str]) -> list[str]:
    """Name each group by its most distinctive phrase; bigrams preferred, no name used twice."""
    per_group = []
    for texts in groups:
        df: Counter = Counter()
        surfaces: dict[tuple[str, ...], Counter] = {}
        for t in texts:
            for key, surf in _phrases(t).items():
                df[key] += 1
                surfaces.setdefault(key, Counter())[surf] += 1
        per_group.append((df, surfaces, len(texts)))
    names: list[str] = []
    used: set[tuple[str, ...]] = set()
    for gi, (df, surfaces, size) in enumerate(per_group):
        others = [(d, s) for j, (d, _, s) in enumerate(per_group) if j != gi]

        def score(key: tuple[str, ...]) -> float:
            inside = df[key] / size
            outside = max((d[key] / s for d, s in others), default=0.0)
            bigram = 0.35 if len(key) == 2 and df[key] >= min(2, size) else 0.0
            return inside - outside + bigram + 0.01 * df[key]

        keys = [k for k in df if not set(k) <= topic_terms and k not in used]
        if not keys:
            names.append("")
            continue
        best = max(keys, key=lambda k: (score(k), len(k), surfaces[k].most_common(1)[0][0]))
        used.add(best)
        names.append(surfaces[best].most_common(1)[0][0])
    return names
