"""Dates in Arabic (and ISO) text, and the briefing timeline built from them.

A small local finder rather than ingest's: rag may not import ingest (imports flow ui -> ingest
-> rag). It only recognises forms that are unambiguous in news prose ("عام 2018", "13 أكتوبر
1958", "آذار 2011", "2018-03-05", "05/03/2018"), because a wrong date in a handout is worse than
a missing one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag.arabic import ARABIC_DIGITS as _DIGITS


MONTHS = {
    # Egyptian / Gulf names
    "يناير": 1, "فبراير": 2, "مارس": 3, "ابريل": 4, "أبريل": 4, "إبريل": 4, "مايو": 5,
    "يونيو": 6, "يونيه": 6, "يوليو": 7, "يوليه": 7, "اغسطس": 8, "أغسطس": 8, "سبتمبر": 9,
    "اكتوبر": 10, "أكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    # Levantine / Iraqi names
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "اذار": 3, "نيسان": 4, "أيار": 5, "ايار": 5,
    "حزيران": 6, "تموز": 7, "آب": 8, "اب": 8, "أيلول": 9, "ايلول": 9, "تشرين الأول": 10,
    "تشرين الاول": 10, "تشرين الثاني": 11, "كانون الأول": 12, "كانون الاول": 12,
    # English, for English-language articles
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}
_MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_YEAR = r"(1[89]\d\d|20\d\d)"
_PATTERNS = [
    # 2018-03-05, 2018/03/05
    (re.compile(rf"(?<!\d){_YEAR}[-/](\d{{1,2}})[-/](\d{{1,2}})(?!\d)"), "ymd"),
    # 05/03/2018, 5-3-2018 (day first, as Arabic papers write it)
    (re.compile(rf"(?<!\d)(\d{{1,2}})[-/](\d{{1,2}})[-/]{_YEAR}(?!\d)"), "dmy"),
    # 13 أكتوبر 1958, 13 من أكتوبر عام 1958
    (re.compile(rf"(?<!\d)(\d{{1,2}})\s+(?:من\s+)?({_MONTH_ALT})\s+(?:(?:من\s+)?(?:عام|سنة|العام)\s+)?{_YEAR}(?!\d)",
                re.IGNORECASE), "dMy"),
    # أكتوبر 1958, شهر آذار من عام 2011
    (re.compile(rf"(?<![\w])({_MONTH_ALT})\s+(?:(?:من\s+)?(?:عام|سنة|العام)\s+)?{_YEAR}(?!\d)", re.IGNORECASE), "My"),
    # عام 2018, سنة 2018, منذ 2011, في 2018
    (re.compile(rf"(?<![\w])(?:عام|العام|سنة|السنة|منذ|مطلع|أواخر|اواخر|أوائل|بداية|نهاية|في|حتى|in|since|year)\s+{_YEAR}(?!\d)",
                re.IGNORECASE), "y"),
]


@dataclass(frozen=True)
class FoundDate:
    iso: str  # YYYY-MM-DD, YYYY-MM or YYYY
    start: int
    end: int


def _iso(y: int, m: int = 0, d: int = 0) -> str:
    if m and not 1 <= m <= 12:
        return ""
    if d and not 1 <= d <= 31:
        return ""
    return f"{y:04d}" + (f"-{m:02d}" if m else "") + (f"-{d:02d}" if m and d else "")


def find_dates(text: str) -> list[FoundDate]:
    """Dates in `text`, most specific form winning where forms overlap, in text order."""
    text = text.translate(_DIGITS)
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in _PATTERNS:  # ordered most specific first
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            g = m.groups()
            if kind == "ymd":
                iso = _iso(int(g[0]), int(g[1]), int(g[2]))
            elif kind == "dmy":
                iso = _iso(int(g[2]), int(g[1]), int(g[0]))
            elif kind == "dMy":
                iso = _iso(int(g[2]), MONTHS[_month_key(g[1])], int(g[0]))
            elif kind == "My":
                iso = _iso(int(g[1]), MONTHS[_month_key(g[0])])
            else:
                iso = _iso(int(g[0]))
            if iso:
                found.append(FoundDate(iso, m.start(), m.end()))
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def _month_key(name: str) -> str:
    name = re.sub(r"\s+", " ", name)
    return name if name in MONTHS else name.lower()


def iso_date(value: str) -> str:
    """The YYYY[-MM[-DD]] prefix of a metadata date ("" when there is none)."""
    m = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", (value or "").strip())
    if not m:
        return ""
    return "-".join(p for p in m.groups() if p)
