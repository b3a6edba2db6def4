"""One question's analysis over its passages, built once and read by every answering step.

The refusal rule, the answerer and the short answer all need the question's terms and roots,
the passages' sentences, the candidate sentences' features and their first-stage ranking, and
(with an embedder) the cosines of the head sentences. `QuestionAnalysis` holds them for one
question: no module-level cache, so concurrent questions cannot read each other's state. The
cosines are computed on first use and memoised on the instance (the refusal rule and then the
rerank ask for the same ones).
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.answering import weights as weights_module
from rag.answering.sentences import (
    RERANK_SENTENCES,
    Passage,
    Ranked,
    Sentence,
    analyze_passage,
    candidates,
    cosines,
    dense_candidates,
    feature_matrix,
    first_stage,
    rank_by_cosine,
    rerank,
    with_reader,
)
from rag.answering.shortanswer import question_type
from rag.answering.weights import Models
from rag.text.arabic import analyze, crosses_script, roots
from rag.types import Hit


def cross_lingual(question: str, hits: Sequence[Hit]) -> bool:
    """A Latin-script question over Arabic passages: lexical matching cannot work, dense can."""
    return bool(hits) and crosses_script(question, hits[0].chunk.text)


@dataclass(frozen=True, slots=True, eq=False)
class QuestionAnalysis:
    """What the answering stage knows about one question and its retrieved passages."""

    question: str
    hits: tuple[Hit, ...]
    terms: tuple[str, ...]  # analyze(question), in order
    roots: tuple[str, ...]  # roots(question), in order (sets built from it iterate alike)
    kind: str  # question_type: 'date' | 'number' | 'name' | 'place' | ''
    cross: bool  # Latin-script question over Arabic passages
    passages: tuple[Passage, ...]  # every hit's sentences with their terms and roots
    candidates: tuple[Sentence, ...]  # the answerer's candidate sentences (none without terms)
    matrix: np.ndarray  # their SENTENCE_FEATURES rows
    ranked: tuple[tuple[float, Sentence], ...]  # first stage, best first
    models: Models
    embedder: Any = None
    reader: Any = None  # rag.index.reader.BuiltinReader (score(query, texts)) or None
    _cosines: dict = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    def cosines(self, texts: Sequence[str]) -> np.ndarray:
        """Cosines of the question with `texts` under this analysis' embedder, computed once."""
        key = tuple(texts)
        with self._lock:
            if key not in self._cosines:
                self._cosines[key] = cosines(self.embedder, self.question, key)
            return self._cosines[key]

    @property
    def head(self) -> list[str]:
        """The first stage's best sentences, which the rerank (and the refusal rule) score by cosine."""
        return [s.text for _, s in self.ranked[:RERANK_SENTENCES]]

    def dense_candidates(self) -> list[Sentence]:
        return dense_candidates(self.hits)

    def answer_ranking(self) -> Ranked:
        """The ranking the answerer quotes from: cross-lingual by cosine; otherwise the first stage,
        reranked by e5 when there is an embedder, then by the reader when there is one."""
        if self.cross:
            cands = self.dense_candidates()
            if not cands:
                return []
            cos = self.cosines([s.text for s in cands]) if self.embedder is not None else None
            return rank_by_cosine(cands, cos)
        ranked = list(self.ranked)
        if len(ranked) < 2:
            return ranked
        if self.embedder is not None:
            ranked = rerank(ranked, self.cosines(self.head), self.models.rerank.vector)
        if self.reader is not None:
            head = [s.text for _, s in ranked[:RERANK_SENTENCES]]
            ranked = with_reader(ranked, self.reader.score(self.question, head), self.reader.sentence_weight)
        return ranked


def analyze_question(question: str, hits: Sequence[Hit], embedder=None, models: Models | None = None,
                     reader=None) -> QuestionAnalysis:
    """Build the analysis of `question` over `hits` (`models`: default the packaged weights;
    `reader`: the built-in reader, which then reorders the answer ranking's head too)."""
    models = models or weights_module.load()
    hits = tuple(hits)
    q_list = analyze(question)
    q_roots = tuple(roots(question))
    passages = tuple(analyze_passage(h.chunk.text, h.chunk.boilerplate) for h in hits)
    cands = candidates(hits, passages) if q_list else []
    X = feature_matrix(question, q_list, frozenset(q_roots), hits, cands)
    X.setflags(write=False)
    cands = cands if len(X) else []
    return QuestionAnalysis(
        question=question, hits=hits, terms=tuple(q_list), roots=q_roots, kind=question_type(question),
        cross=cross_lingual(question, hits), passages=passages, candidates=tuple(cands), matrix=X,
        ranked=tuple(first_stage(cands, X, models.sentence.vector)), models=models, embedder=embedder, reader=reader)


def sentence_matrix(question: str, hits: Sequence[Hit]) -> tuple[list[Sentence], np.ndarray]:
    """The candidate sentences of the top passages and their SENTENCE_FEATURES rows (for
    refitting the answerer's weights)."""
    a = analyze_question(question, hits)
    return list(a.candidates), a.matrix
