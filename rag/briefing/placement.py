"""Under which heading a sentence goes, and what a discovered heading is called, judged with the
embedder.

A sentence goes under the aspect whose name it is closest to (e5 cosine, query prompt for the
name), when that cosine reaches `aspect` and leads the next aspect's by `aspect_margin`; else it
stays out of every section (it may still be quoted in the summary). Both are fitted on hand
labels of the briefing dev set's tune half (evals/fit_briefing_aspects.py: which heading each
on-topic sentence is about). Cosines standardised over the briefing's sentences were tried for
this and placed worse on those labels (a briefing whose sentences all fit its one heading, or
none do, still has half of them above average), as did the cosine to the heading less the
cosine to the topic.

A discovered aspect is renamed from its own content: among its alternatives (the section
headings, key phrases and, for a one-article aspect, the title lead of its passages; see
rag.briefing.aspects) the name its own sentences are most about, less how much the sentences of
the aspect closest to that name are about it. Here "about" is the cosine standardised over the
aspects' sentences (z): raw e5 cosines bunch and favour names close to everything (the topic's
own words, «الولايات المتحدة» in world news), which would make every heading read like the
topic; it is averaged over documents, so one long article cannot name a section of several.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

MIN_POPULATION = 4  # sentences needed to standardise over
HEADING_PRIOR = 0.1  # a human-written section heading is preferred at equal affinity (z units)


def cosines(vecs, name_vecs) -> np.ndarray:
    """cos[i, j]: sentence i against name j (rows need not be normalised)."""
    m = np.asarray(vecs, dtype=np.float32)
    q = np.asarray(name_vecs, dtype=np.float32).reshape(len(name_vecs), -1)
    mn = np.linalg.norm(m, axis=1, keepdims=True)
    qn = np.linalg.norm(q, axis=1, keepdims=True)
    return (m / np.where(mn == 0, 1, mn)) @ (q / np.where(qn == 0, 1, qn)).T


def place(raw: Sequence[float], aspect: float, margin: float = 0.0) -> int | None:
    """The aspect a sentence goes under (its index), or None: the one whose name it is closest
    to, when that cosine reaches `aspect` and leads the runner-up's by `margin`."""
    if not len(raw):
        return None
    order = sorted(range(len(raw)), key=lambda j: -raw[j])
    best = order[0]
    if raw[best] < aspect or (len(order) > 1 and raw[best] - raw[order[1]] < margin):
        return None
    return best


def standardise(cos: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """Each column's cosines as z-scores over `rows`; zeros with fewer than MIN_POPULATION."""
    cos = np.asarray(cos, dtype=np.float64)
    if len(rows) < MIN_POPULATION or cos.size == 0:
        return np.zeros_like(cos)
    pop = cos[list(rows)]
    return (cos - pop.mean(axis=0)) / np.maximum(pop.std(axis=0), 1e-3)


def choose_names(options: Sequence[Sequence[str]], members: Sequence[Sequence[int]],
                 vecs, embed_query: Callable[[str], object], headings: Sequence[set[str]] = (),
                 docs: Sequence[str] | None = None, trace: list | None = None) -> list[int]:
    """For each aspect, the index into its `options` (the first being its current name) of the
    name its own sentences (`members[j]`, rows of `vecs`) are most about, less how much the
    sentences of the aspect closest to that name are about it (when they are at all). "About":
    the cosine standardised over all members' sentences, averaged per document first (`docs[i]`:
    row i's document) so that one long article cannot name a section of several; with a single
    aspect, the plain cosine. An aspect with fewer than two member sentences keeps its current
    name; no name is used twice."""
    flat = list(dict.fromkeys(o for opts in options for o in opts))
    rows = sorted({i for m in members for i in m})
    if not flat or not rows:
        return [0] * len(options)
    cos = cosines(vecs, [embed_query(o) for o in flat])
    several = sum(1 for m in members if len(m)) > 1
    z = standardise(cos, rows) if several else cos
    col = {o: k for k, o in enumerate(flat)}
    means = [_doc_mean(z, m, docs) if len(m) else None for m in members]
    chosen: list[int] = []
    taken: set[str] = set()
    for j, opts in enumerate(options):
        if means[j] is None or len(members[j]) < 2:
            chosen.append(0)
            taken.add(opts[0] if opts else "")
            continue
        best, best_s = 0, -1e9
        for i, o in enumerate(opts):
            if o in taken:
                continue
            k = col[o]
            rival = max((float(means[x][k]) for x in range(len(options)) if x != j and means[x] is not None),
                        default=0.0)
            prior = (HEADING_PRIOR if several else HEADING_PRIOR / 20) \
                if j < len(headings) and o in headings[j] else 0.0
            s = float(means[j][k]) - max(rival, 0.0) + prior
            if trace is not None:
                trace.append((j, o, round(float(means[j][k]), 3), round(rival, 3), round(s, 3)))
            if s > best_s:
                best, best_s = i, s
        chosen.append(best)
        taken.add(opts[best])
    return chosen


def _doc_mean(z: np.ndarray, rows: Sequence[int], docs: Sequence[str] | None) -> np.ndarray:
    """Mean of z over `rows`, each document's rows averaged first."""
    if docs is None:
        return z[list(rows)].mean(axis=0)
    by: dict[str, list[int]] = {}
    for i in rows:
        by.setdefault(docs[i], []).append(i)
    return np.mean([z[r].mean(axis=0) for r in by.values()], axis=0)
