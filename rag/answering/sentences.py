"""Candidate sentences of the top passages, their features, and the two-stage choice among them.

The answerer quotes whole sentences, so it chooses among the sentences of the ANSWER_HITS top
passages: first by a conditional logit over lexical fit and how both retrievers rank the
passage (SENTENCE_FEATURES), then the RERANK_SENTENCES best by e5 cosine as well, which sees
paraphrase where shared words tie. Cross-lingual questions (no shared words) rank by cosine
alone. Pure functions: the per-question state lives in rag.answering.question.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering.injection import is_instruction
from rag.answering.shortanswer import DATE, NUMBER, NUMBER_WORDS, question_type
from rag.index.boilerplate import normal_form
from rag.text.arabic import analyze, normalize, roots, sentences
from rag.types import Hit

ANSWER_HITS = 5  # passages the extractive answerer reads (Settings.k by default)
RERANK_SENTENCES = 6  # the lexical model's best candidates that e5 then reorders

Passage = tuple[tuple[str, tuple[str, ...], frozenset[str]], ...]  # (sentence, terms, roots) each
Ranked = list[tuple[float, "Sentence"]]

SENTENCE_FEATURES = ("coverage", "context", "proximity", "type_match", "fused_rank", "dense_rank",
                     "lexical_rank", "dense_gap", "bigram", "length", "root_coverage", "lexical_gap", "root_rank")


@dataclass(frozen=True, slots=True)
class Sentence:
    hit_index: int
    text: str
    terms: tuple[str, ...]
    context: frozenset[str]  # terms of the passage and its title (subjects named only there)
    roots: frozenset[str] = frozenset()  # roots of its words: derivations light stemming misses


def analyze_passage(text: str, boilerplate: Collection[str] = ()) -> Passage:
    """(sentence, its terms, its roots) for each sentence of a passage; a passage's own terms are
    their union. Sentences addressed to an assistant (rag.answering.injection) and the archive's
    boilerplate (normal forms, rag.index.boilerplate) are left out: they are neither quoted nor
    counted as support."""
    return tuple((text[s:e], tuple(analyze(text[s:e])), frozenset(roots(text[s:e])))
                 for s, e in sentences(text)
                 if not is_instruction(text[s:e]) and not (boilerplate and normal_form(text[s:e]) in boilerplate))


def candidates(hits: Sequence[Hit], passages: Sequence[Passage]) -> list[Sentence]:
    """The sentences (2 terms or more) of the ANSWER_HITS top passages."""
    out = []
    for i, (h, analyzed) in enumerate(zip(hits[:ANSWER_HITS], passages)):
        context = frozenset(analyze(h.chunk.title)).union(*(terms for _, terms, _ in analyzed))
        out.extend(Sentence(i, sent, terms, context, rts) for sent, terms, rts in analyzed if len(terms) >= 2)
    return out


def dense_candidates(hits: Sequence[Hit]) -> list[Sentence]:
    """The sentences (3 words or more) of the top passages, for the cross-lingual route."""
    return [Sentence(i, h.chunk.text[a:b], (), frozenset())
            for i, h in enumerate(hits[:ANSWER_HITS]) for a, b in sentences(h.chunk.text)
            if len(h.chunk.text[a:b].split()) >= 3 and not is_instruction(h.chunk.text[a:b])
            and normal_form(h.chunk.text[a:b]) not in h.chunk.boilerplate]


def idf(q_terms: set[str], docs: Sequence[Sequence[str]]) -> dict[str, float]:
    n = len(docs)
    return {t: math.log((n + 1) / (0.5 + sum(t in d for d in docs))) + 0.1 for t in q_terms}


def _proximity(q_terms: set[str], terms: Sequence[str]) -> float:
    """Distinct matched terms over the width of the tightest window holding them all."""
    pos = [(i, t) for i, t in enumerate(terms) if t in q_terms]
    want = {t for _, t in pos}
    if len(want) < 2:
        return 0.0
    best, have, left = len(terms), {}, 0
    for i, t in pos:
        have[t] = have.get(t, 0) + 1
        while len(have) == len(want):
            best = min(best, i - pos[left][0] + 1)
            lt = pos[left][1]
            have[lt] -= 1
            if not have[lt]:
                del have[lt]
            left += 1
    return len(want) / best


@dataclass(frozen=True, slots=True)
class _Query:
    """What every candidate sentence of one question is scored against."""

    terms: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    idf: dict[str, float]  # over the candidate sentences
    kind: str  # question_type
    dense_max: float
    lexical_max: float
    roots: frozenset[str]
    root_idf: dict[str, float]


def _sentence_features(s: Sentence, hit: Hit, q: _Query) -> tuple[float, ...]:
    """Lexical fit of the sentence, plus how well BOTH retrievers rank its passage."""
    total = sum(q.idf.values()) or 1.0
    cov = sum(q.idf[t] for t in q.terms if t in s.terms) / total
    ctx = sum(q.idf[t] for t in q.terms if t in s.context and t not in s.terms) / total
    norm = normalize(s.text)
    typed = (q.kind == "date" and bool(DATE.search(norm))) or (
        q.kind == "number" and bool(NUMBER.search(norm) or NUMBER_WORDS & set(norm.split())))
    return (
        cov, ctx, _proximity(q.terms, s.terms), float(typed), 1.0 / (1 + s.hit_index),
        1.0 / (1 + hit.dense_rank) if hit.dense_rank is not None else 0.0,
        1.0 / (1 + hit.lexical_rank) if hit.lexical_rank is not None else 0.0,
        hit.dense_score - q.dense_max if hit.dense_score is not None else -0.1,
        len(q.pairs & set(zip(s.terms, s.terms[1:]))) / (len(q.pairs) or 1),
        min(len(s.terms), 40) / 40,
        sum(q.root_idf[r] for r in q.roots if r in s.roots) / (sum(q.root_idf.values()) or 1.0),
        math.log(hit.lexical_score / q.lexical_max) if hit.lexical_score and q.lexical_max > 0 else -1.0,
        1.0 / (1 + hit.root_rank) if hit.root_rank is not None else 0.0,
    )


def feature_matrix(question: str, q_list: Sequence[str], q_roots: frozenset[str], hits: Sequence[Hit],
                   cands: Sequence[Sentence]) -> np.ndarray:
    """SENTENCE_FEATURES rows of `cands` (`q_list`: analyze(question); `q_roots`: its roots)."""
    q_terms = set(q_list)
    if not cands or not q_terms:
        return np.zeros((0, len(SENTENCE_FEATURES)))
    q = _Query(terms=frozenset(q_terms), pairs=frozenset(zip(q_list, q_list[1:])),
               idf=idf(q_terms, [s.terms for s in cands]), kind=question_type(question),
               dense_max=max((h.dense_score for h in hits if h.dense_score is not None), default=0.0),
               lexical_max=max((h.lexical_score for h in hits[:ANSWER_HITS] if h.lexical_score), default=0.0),
               roots=q_roots, root_idf=idf(q_roots, [s.roots for s in cands]))
    return np.asarray([_sentence_features(s, hits[s.hit_index], q) for s in cands], dtype=float)


def first_stage(cands: Sequence[Sentence], X: np.ndarray, weights: Sequence[float]) -> Ranked:
    """Candidates with their choice logit X.w, best first."""
    if not len(cands) or not len(X):
        return []
    scores = X @ np.asarray(weights)
    return sorted(zip(scores.tolist(), cands), key=lambda p: -p[0])


def rerank(ranked: Sequence[tuple[float, Sentence]], cos: np.ndarray, weights: Sequence[float]) -> Ranked:
    """The second stage over the first stage's ranking, `cos` the scores of its head (the first
    len(cos); the e5 cosines of RERANK_SENTENCES). The rest are scored as if their cosine were the
    head's lowest, so they stay below the head, in their first-stage order."""
    head, tail = ranked[:len(cos)], ranked[len(cos):]
    a, b = weights
    out = sorted(((a * score + b * c, s) for (score, s), c in zip(head, cos.tolist())), key=lambda p: -p[0])
    floor = b * float(cos.min())
    return out + [(a * score + floor, s) for score, s in tail]


def with_reader(ranked: Sequence[tuple[float, Sentence]], scores: Sequence[float], weight: float) -> Ranked:
    """The ranking with the reader's scores of its head (the first len(scores)) added, times
    `weight`; the rest keep their order below, scored as if the reader gave them the head's lowest."""
    return rerank(ranked, np.asarray(scores, dtype=float), (1.0, weight)) if len(scores) else list(ranked)


def rank_by_cosine(cands: Sequence[Sentence], cos: np.ndarray | None) -> Ranked:
    """Cross-lingual route: sentences by cosine to the question (e5 is multilingual, the lexical
    analyzer is not); without cosines (no embedder), the top passage's opening first."""
    if cos is None:
        return [(-float(s.hit_index) - 0.01 * n, s) for n, s in enumerate(cands)]
    # A small preference for better-ranked passages breaks near-ties between sentences.
    scored = [(float(c) + 0.01 / (1 + s.hit_index), s) for c, s in zip(cos, cands)]
    scored.sort(key=lambda p: -p[0])
    return scored


def cosines(embedder, question: str, texts: Sequence[str]) -> np.ndarray:
    """e5 cosine of `question` with each text (read-only)."""
    q = np.asarray(embedder.embed_query(question), dtype=float)
    embed = getattr(embedder, "embed_sentences", embedder.embed_documents)  # the ones that remember
    docs = np.asarray(embed(list(texts)), dtype=float)
    cos = docs @ q / (np.linalg.norm(docs, axis=1) * np.linalg.norm(q) + 1e-9)
    cos.setflags(write=False)
    return cos


def choice_probability(ranked: Sequence[tuple[float, Sentence]]) -> float:
    """Softmax share of the best candidate: how clearly it beats the other sentences."""
    if not ranked:
        return 0.0
    top = ranked[0][0]
    return 1.0 / sum(math.exp(score - top) for score, _ in ranked)
