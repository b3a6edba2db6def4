"""Arabic-aware chunking: paragraphs first, then sentences (. ؟ ! ؛ line breaks), then commas,
sized in the embedding model's tokens, with sentence-level overlap inside a section.

Chunks are contiguous spans of the cleaned text (so the char span is exact) and never cross a
section heading, so each carries the heading it sits under. Ids are content hashes of
(doc id, text, occurrence), so re-chunking unchanged text yields the same ids.
"""
from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable, Iterable

from rag.index.manifest import CHUNKER_VERSION
from rag.text.arabic import sentences
from rag.types import Chunk, SourceDoc

# CHUNKER_VERSION (rag.index.manifest) names the chunk format an index stores: bump it there when
# this module's output changes so that chunks built before would be wrong.
__all__ = ["CHUNKER_VERSION", "chunk_document"]

_PARA = re.compile(r"\n\s*\n")
_COMMA = re.compile(r"(?<=[،,:])\s+")


def chunk_document(
    doc: SourceDoc, count_tokens: Callable[[str], int], max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    units = list(_units(doc.text, count_tokens, max_tokens))
    spans = _pack(units, doc, max_tokens, overlap_tokens)
    chunks, seen = [], {}
    for ordinal, (start, end) in enumerate(spans):
        text = doc.text[start:end]
        dup = seen.get(text, 0)
        seen[text] = dup + 1
        digest = hashlib.sha256(f"{doc.doc_id}\0{text}\0{dup}".encode()).hexdigest()[:32]
        chunks.append(Chunk(
            id=digest, doc_id=doc.doc_id, text=text, ordinal=ordinal, start=start, end=end,
            section=_section_at(doc.sections, start), title=doc.title, date=doc.date,
            author=doc.author, source=doc.publisher or doc.source, path=doc.path, url=doc.url,
        ))
    return chunks


def _units(text: str, count: Callable[[str], int], max_tokens: int) -> Iterable[tuple[int, int, int, bool]]:
    """(start, end, tokens, starts_paragraph) pieces no larger than max_tokens where possible."""
    pos = 0
    for m in list(_PARA.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        if text[pos:end].strip():
            first = True
            for s, e in _split(text, pos, end, count, max_tokens):
                yield s, e, count(text[s:e]), first
                first = False
        pos = m.end() if m else end


def _split(text, start, end, count, max_tokens):
    """Split [start, end) into sentence / clause / word pieces that fit max_tokens."""
    piece = text[start:end]
    if count(piece) <= max_tokens:
        s, e = _trim(text, start, end)
        return [(s, e)] if e > s else []
    out = []
    for s, e in sentences(piece):
        s, e = start + s, start + e
        if count(text[s:e]) <= max_tokens:
            out.append((s, e))
            continue
        pos = s
        clauses = [m.start() for m in _COMMA.finditer(text, s, e)] + [e]
        for c in clauses:
            if c > pos:
                out.extend(_hard_split(text, pos, c, count, max_tokens))
            pos = c
    return [_trim(text, s, e) for s, e in out if text[s:e].strip()]


def _hard_split(text, start, end, count, max_tokens):
    """Last resort for a run-on clause: cut between words."""
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    out, s, prev_end = [], None, start
    for ws, we in words:
        ws, we = start + ws, start + we
        if s is None:
            s = ws
        elif count(text[s:we]) > max_tokens:
            out.append((s, prev_end))
            s = ws
        prev_end = we
    if s is not None:
        out.append((s, prev_end))
    return out


def _trim(text, s, e):
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _pack(units, doc: SourceDoc, max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cur: list[tuple[int, int, int, bool]] = []
    total = 0
    for u in units:
        same_section = not cur or _section_at(doc.sections, cur[0][0]) == _section_at(doc.sections, u[0])
        if cur and (total + u[2] > max_tokens or not same_section):
            spans.append((cur[0][0], cur[-1][1]))
            # Carry whole trailing sentences as overlap, only inside one section.
            carry: list = []
            if same_section and overlap_tokens > 0:
                t = 0
                for prev in reversed(cur):
                    if t + prev[2] > overlap_tokens or t + prev[2] + u[2] > max_tokens:
                        break
                    carry.insert(0, prev)
                    t += prev[2]
            cur, total = carry, sum(c[2] for c in carry)
        cur.append(u)
        total += u[2]
    if cur:
        spans.append((cur[0][0], cur[-1][1]))
    return spans


def _section_at(sections: tuple[tuple[int, str], ...], offset: int) -> str:
    if not sections:
        return ""
    i = bisect.bisect_right([s[0] for s in sections], offset) - 1
    return sections[i][1] if i >= 0 else ""
