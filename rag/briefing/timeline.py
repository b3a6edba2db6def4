"""A briefing's timeline: events whose sentence names a date, trimmed to the clause around it.

The date is the one found in the text (the event's own date), never the article's publication
date; only sentences judged on the topic are read.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rag.briefing.select import Cand
from rag.text.arabic import analyze, normalize
from rag.text.dates import iso_date
from rag.types import TimelineEvent

TIMELINE_MAX = 15
CLAUSE_WORDS = 28  # an event longer than this is cut to a window around its date


def _iso_of(found: Any) -> str:
    value = found if isinstance(found, str) else getattr(found, "iso", None)
    if value is None and isinstance(found, tuple) and found:
        value = found[0]
    return iso_date(str(value or ""))



_CLAUSE_END = re.compile(r"[،,؛;:]\s|\s[-–]\s")


def _found(find_dates, text: str) -> list[tuple[str, int, int]]:
    """(iso, start, end) of the dates in `text`; a finder without spans gives (iso, -1, -1)."""
    out = []
    for f in find_dates(text):
        iso = _iso_of(f)
        if iso:
            out.append((iso, getattr(f, "start", -1), getattr(f, "end", -1)))
    return out


def _clause(text: str, start: int, end: int) -> str:
    """The clause of `text` holding [start, end), widened when too short to say anything and cut
    to a window of words around the date when too long."""
    if start < 0:
        return text.strip()
    lo, hi = _clause_span(text, start, end)
    words = list(re.finditer(r"\S+", text[lo:hi]))
    if len(words) > CLAUSE_WORDS:
        at = next((j for j, w in enumerate(words) if lo + w.end() > start), 0)
        a = 0 if at < CLAUSE_WORDS - 6 else min(at - CLAUSE_WORDS // 2, len(words) - CLAUSE_WORDS)
        b = a + CLAUSE_WORDS - 1
        cut = ("… " if a else "", " …" if b < len(words) - 1 else "")
        lo, hi = lo + words[a].start(), lo + words[b].end()
        return cut[0] + text[lo:hi].strip().rstrip("،,؛;:-– ") + cut[1]
    return text[lo:hi].strip().rstrip("،,؛;:-– ").strip()


def _clause_span(text: str, start: int, end: int) -> tuple[int, int]:
    cuts = [0] + [m.end() for m in _CLAUSE_END.finditer(text)] + [len(text)]
    i = max(j for j, c in enumerate(cuts[:-1]) if c <= start)
    k = next((j for j, c in enumerate(cuts) if c >= end and j > i), len(cuts) - 1)
    lo, hi = cuts[i], cuts[k]
    while len(text[lo:hi].split()) < 6 and (k < len(cuts) - 1 or i > 0):
        if k < len(cuts) - 1:
            k += 1
        else:
            i -= 1
        lo, hi = cuts[i], cuts[k]
    return lo, hi


def timeline_of(cands: list[Cand], numbers: dict[str, int], find_dates) -> tuple[TimelineEvent, ...]:
    """Events of the topic: the on-topic sentences given (the briefing's own first) that name a
    date, labelled with that date (never the article's publication date) and trimmed to its
    clause, deduplicated (the same clause, or the same date with mostly the same words), in
    date order."""
    events: list[TimelineEvent] = []
    seen: set[str] = set()
    words_at: dict[str, list[set[str]]] = {}

    def add(date: str, text: str, docs: Iterable[str]) -> None:
        key = normalize(text)  # two dates in one clause make one event, under the first
        if not (date and text) or key in seen or len(events) >= TIMELINE_MAX:
            return
        words = set(analyze(text))
        for other in words_at.get(date, []):
            if words and len(words & other) / len(words | other) >= 0.6:
                return  # the same event told twice
        seen.add(key)
        words_at.setdefault(date, []).append(words)
        events.append(TimelineEvent(date, text, tuple(dict.fromkeys(numbers[d] for d in docs))))

    for c in cands:
        docs = [ch.doc_id for ch in c.chunks]
        spans_: list[tuple[int, int]] = []
        for iso, start, end in _found(find_dates, c.text):
            if any(lo <= start < hi for lo, hi in spans_):
                continue  # a date in the clause of an event already made: one event
            add(iso, _clause(c.text, start, end), docs)
            if start >= 0:
                spans_.append(_clause_span(c.text, start, end))
    return tuple(sorted(events, key=lambda ev: (ev.date, ev.citations)))
