"""The public JSON shapes of `rag search --json` and `rag ask --json` (README: a stable interface),
shared by the CLI and the app so neither imports the other."""
from __future__ import annotations

from rag.types import Answer, ClusterCopy, Hit


def also_in_json(copies: tuple[ClusterCopy, ...]) -> list[dict]:
    """The other copies of a story (rag.index.cluster), oldest first: [{doc_id, title, source, date}]."""
    return [{"doc_id": c.doc_id, "title": c.title, "source": c.source, "date": c.date} for c in copies]


def search_json(query: str, hits: list[Hit]) -> dict:
    return {"query": query, "results": [
        {"rank": i + 1, "score": round(h.score, 6), "chunk_id": h.chunk.id, "doc_id": h.chunk.doc_id,
         "title": h.chunk.title, "date": h.chunk.date, "author": h.chunk.author,
         "source": h.chunk.source, "section": h.chunk.section, "text": h.chunk.text,
         "cluster_id": h.chunk.cluster_id, "also_in": also_in_json(h.chunk.also_in)}
        for i, h in enumerate(hits)]}


def answer_json(answer: Answer) -> dict:
    return {
        "question": answer.question, "answer": answer.text, "mode": answer.mode, "refused": answer.refused,
        "citations": [
            {"n": c.n, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "date": c.date,
             "author": c.author, "source": c.source, "text": c.text, "score": round(c.score, 6),
             "cluster_id": c.cluster_id, "also_in": also_in_json(c.also_in)}
            for c in answer.citations],
    }


def answer_payload(answer: Answer) -> dict:
    """The `rag ask --json` shape, plus what the UI and raters need (quotes, nearest passages)."""
    out = answer_json(answer)
    for c, d in zip(answer.citations, out["citations"]):
        d["quote"] = c.quote
    out["standalone_question"] = answer.standalone_question
    out["flagged"] = list(answer.flagged)
    out["nearest"] = [{"chunk_id": h.chunk.id, "doc_id": h.chunk.doc_id, "title": h.chunk.title,
                       "date": h.chunk.date, "author": h.chunk.author, "source": h.chunk.source,
                       "text": h.chunk.text} for h in answer.nearest]
    return out
