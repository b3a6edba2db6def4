"""Key figures of a briefing: numbers with their units ("80 مليون دولار", "5 في المئة") in
its on-topic sentences, each with the clause it comes from and its citation. A number inside a
date, or without a unit or scale word, is not a figure."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.briefing.timeline import _clause, _found
from rag.text import lexicon
from rag.text.arabic import normalize
from rag.types import KeyFigure

FIGURES_MAX = 8
_UNITS = sorted({w.replace("_", " ") for w in lexicon.words("figure_units")}, key=len, reverse=True)
_UNIT = "|".join(re.escape(u) for u in _UNITS)
_NUM = r"(?<![\w.])[\d٠-٩]+(?:[.,٫][\d٠-٩]+)*"
FIGURE = re.compile(rf"(?:نحو\s+|حوالي\s+|أكثر\s+من\s+|أقل\s+من\s+)?{_NUM}\s*(?:%|(?:(?:{_UNIT})(?![\w\u0600-\u06FF]))(?:\s+(?:{_UNIT})(?![\w\u0600-\u06FF]))?)")


def figures_of(items: Iterable[tuple[str, tuple[int, ...]]], find_dates: Callable) -> tuple[KeyFigure, ...]:
    """(sentence, citations) pairs -> key figures, first occurrence of each value kept."""
    out: list[KeyFigure] = []
    seen: set[str] = set()
    for text, cites in items:
        dates = [(s, e) for _, s, e in _found(find_dates, text) if s >= 0]
        for m in FIGURE.finditer(text):
            if any(s <= m.start() < e for s, e in dates):
                continue
            value = m.group().strip()
            key = normalize(value)
            if key in seen:
                continue
            seen.add(key)
            out.append(KeyFigure(value, _clause(text, m.start(), m.end()), cites))
            if len(out) >= FIGURES_MAX:
                return tuple(out)
    return tuple(out)
