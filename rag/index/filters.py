"""One filter language (rag.types.Filters), three readers: Chroma's `where`, SQL over the docs
table, and an in-memory check for passages already in hand (e.g. re-checking a briefing's hits).

The semantics all three share: since/until are inclusive ISO dates; an `until` of 2018 or
2018-07 includes that whole year or month; undated documents are excluded whenever a date
bound is set; authors, sources and doc_ids are membership tests (empty = no constraint).
"""
from __future__ import annotations

from rag.types import Chunk, Filters


def date_num(iso: str) -> int:
    """Chroma compares only numbers with $gte/$lte, so dates are stored as YYYYMMDD too
    (a year or year-month pads with zeros; anything else, or no date, is 0)."""
    digits = "".join(ch for ch in iso[:10] if ch.isdigit())
    if len(digits) == 4:
        digits += "0000"
    elif len(digits) == 6:
        digits += "00"
    return int(digits) if len(digits) == 8 else 0


def bound_until(until: str) -> int:
    """An `until` of 2018 or 2018-07 includes the whole year or month."""
    n = date_num(until)
    digits = "".join(ch for ch in until[:10] if ch.isdigit())
    if len(digits) == 4:
        return n + 1231
    if len(digits) == 6:
        return n + 31
    return n


def to_chroma_where(f: Filters) -> dict | None:
    """The Chroma `where` clause over the chunk metadata (rag.index.chroma.chunk_metadata)."""
    conds: list[dict] = []
    if f.since:
        conds.append({"date_num": {"$gte": date_num(f.since)}})
    if f.until:
        conds.append({"date_num": {"$lte": bound_until(f.until)}})
        if not f.since:  # undated passages (date_num 0) never pass a date bound, as in SQL
            conds.append({"date_num": {"$gt": 0}})
    if f.authors:
        conds.append({"author": {"$in": list(f.authors)}})
    if f.sources:
        conds.append({"source": {"$in": list(f.sources)}})
    if f.doc_ids:
        conds.append({"doc_id": {"$in": list(f.doc_ids)}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def to_sql_where(f: Filters) -> tuple[str, list]:
    """("AND ..." over the docs table aliased `d`, params), or ("", []) when nothing filters."""
    parts, params = [], []
    if f.since:
        parts.append("d.date >= ?")
        params.append(f.since[:10])
    if f.until:
        parts.append("substr(d.date, 1, ?) <= ?")
        params.extend([len(f.until[:10]), f.until[:10]])
    for field, values in (("d.author", f.authors), ("d.source", f.sources), ("d.doc_id", f.doc_ids)):
        if values:
            parts.append(f"{field} IN ({','.join('?' * len(values))})")
            params.extend(values)
    if f.since or f.until:
        parts.append("d.date != ''")
    return ("AND " + " AND ".join(parts)) if parts else "", params


def matches(f: Filters, chunk: Chunk) -> bool:
    """Whether a passage passes the filters: the in-memory twin of to_sql_where (same string
    comparisons, so the two cannot drift)."""
    d = chunk.date
    if f.since or f.until:
        if not d:
            return False
        if f.since and d < f.since[:10]:
            return False
        if f.until:
            until = f.until[:10]
            if d[:len(until)] > until:
                return False
    if f.authors and chunk.author not in f.authors:
        return False
    if f.sources and chunk.source not in f.sources:
        return False
    if f.doc_ids and chunk.doc_id not in f.doc_ids:
        return False
    return True
