"""Reranking the fused top passages with the built-in reader (rag.index.reader).

The reader scores short texts, so a passage is read through its window: the sentence that
shares most words with the query (the first such on ties; boilerplate sentences never), which
is also the kind of text it was trained on. The head's new order is by
    reader score + prior * (fused score / the head's best fused score),
`prior` fitted on the tune halves (evals.fit_reader, stored in the reader's reader.json), so a
close reader call does not overturn a passage both retrievers put far ahead.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.index.boilerplate import normal_form
from rag.text.arabic import analyze, sentences
from rag.types import Hit

READER_PASSAGES = 5  # passages the reader reorders (the answerer reads the top 5)


def window(query_terms: set[str], hit: Hit) -> str:
    """The passage's sentence sharing most terms with the query (else its opening)."""
    text = hit.chunk.text
    best, best_n = "", -1
    for a, b in sentences(text):
        s = text[a:b]
        if hit.chunk.boilerplate and normal_form(s) in hit.chunk.boilerplate:
            continue
        n = len(query_terms & set(analyze(s)))
        if n > best_n:
            best, best_n = s, n
    return best or text


def reader_rerank(query: str, hits: Sequence[Hit], reader, prior: float, n: int = READER_PASSAGES) -> list[Hit]:
    """`hits` with the first `n` reordered by reader score plus `prior` times their relative
    fused score; each reordered hit's score becomes that combined score."""
    head, tail = list(hits[:n]), list(hits[n:])
    if len(head) < 2:
        return list(hits)
    terms = set(analyze(query))
    scores = reader.score(query, [window(terms, h) for h in head])
    top = max(h.score for h in head) or 1.0
    combined = [sc + prior * h.score / top for sc, h in zip(scores, head)]
    order = sorted(range(len(head)), key=lambda i: -combined[i])
    return [replace(head[i], score=float(combined[i])) for i in order] + tail
