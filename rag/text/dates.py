"""Dates as Arabic archives write them, to ISO 8601: one finder for the project.

Archive pages mix Egyptian (يوليه) and Levantine (تموز) month names, Arabic-Indic digits, day
names and ص/م for AM/PM; news feeds use RFC 2822; metadata uses ISO. One set of patterns serves
the metadata date (`parse_arabic_date`, for ingest), dates mentioned in a text (`find_dates`, for
the briefing timeline) and the date lines of a scraped page. Only forms that are unambiguous in
news prose are read ("عام 2018", "13 أكتوبر 1958", "آذار 2011", "2018-03-05", "05/03/2018"): a
wrong date in a handout is worse than a missing one, and a bare number is not a year.
dateparser is only the fallback for the long tail of metadata formats.
"""
from __future__ import annotations

import re
from email.utils import parsedate_tz
from typing import NamedTuple

from rag.text.arabic import ARABIC_DIGITS as _DIGITS

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
_MONTH = "|".join(sorted((re.escape(m) if not m.isascii() else f"(?<![A-Za-z])(?i:{m})" for m in MONTHS),
                          key=len, reverse=True))
_DAY_NAME = r"(?:(?:يوم\s+)?(?:ال)?(?:أحد|احد|اثنين|إثنين|ثلاثاء|أربعاء|اربعاء|خميس|جمعة|سبت)[،,]?\s+)"
_YEAR = r"(1[89]\d\d|20\d\d|2100)"
_SEP = r"\s*[/\-.،,]?\s*"
# "كانون الثاني/يناير" and "يناير (كانون الثاني)": the second name only confirms the first.
_MONTH_PAIR = rf"({_MONTH})(?:\s*[/(]\s*(?:{_MONTH})\s*\)?)?"
_TIME = r"(?:\s*[-–،,]?\s*(?:الساعة\s+)?(\d{1,2}):(\d{2})(?::\d{2})?\s*(ص|م|صباحا|صباحًا|مساء|مساءً|مساءا|am|pm|AM|PM)?(?![\w:]))?"

_PATTERNS: list[tuple[str, re.Pattern]] = [
    # "13 أكتوبر 1958", "13 من أكتوبر عام 1958"
    ("dmy_name", re.compile(rf"{_DAY_NAME}?(\d{{1,2}}){_SEP}(?:من\s+)?{_MONTH_PAIR}{_SEP}"
                            rf"(?:(?:من\s+)?(?:عام|العام|سنة)\s+)?{_YEAR}(?!\d){_TIME}")),
    ("mdy_name", re.compile(rf"{_MONTH_PAIR}\s+(\d{{1,2}})\s*[،,]\s*{_YEAR}(?!\d){_TIME}")),
    ("iso", re.compile(rf"(?<!\d){_YEAR}-(\d{{1,2}})-(\d{{1,2}})(?:[T ](\d{{1,2}}):(\d{{2}})(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?(?!\d)")),
    ("ymd", re.compile(rf"(?<!\d){_YEAR}[/.](\d{{1,2}})[/.](\d{{1,2}})(?!\d){_TIME}")),
    ("dmy", re.compile(rf"{_DAY_NAME}?(?<!\d)(\d{{1,2}})[/\-.](\d{{1,2}})[/\-.]{_YEAR}(?!\d){_TIME}")),
    ("my_name", re.compile(rf"(?:(?:شهر|خلال|مطلع|منتصف|أواخر|اواخر)\s+)?{_MONTH_PAIR}(?:\s+من)?(?:\s+(?:عام|العام|سنة))?\s+{_YEAR}(?!\d)(?!\s*هـ)")),
    # "عام 2018", "منذ 2011", "في 2018": a year needs a word that makes it one
    ("year", re.compile(rf"(?<![\w\u0600-\u06FF])(?:(?:[وبلف]|لل)?(?:ال)?(?:عام|سنة|عامي)|(?:[وف])?(?:منذ|مطلع|"
                        rf"أواخر|اواخر|أوائل|اوائل|بداية|نهاية|في|حتى)|(?i:in|since))\s+{_YEAR}(?!\d)(?!\s*هـ)")),
]


def _prepare(s: str) -> str:
    """Same length as the input, so spans found on it index the original text."""
    return s.translate(_DIGITS)


def _hour(h: int, marker: str | None) -> int:
    marker = (marker or "").lower()
    if marker in ("م", "pm") or marker.startswith("مساء"):
        return h + 12 if h < 12 else h
    if marker in ("ص", "am") or marker.startswith("صباح"):
        return 0 if h == 12 else h
    return h


def _iso(y: int, m: int, d: int | None = None, hh: str | None = None, mm: str | None = None,
         marker: str | None = None) -> str:
    if not 1 <= m <= 12 or (d is not None and not 1 <= d <= 31):
        return ""
    if d is None:
        return f"{y:04d}-{m:02d}"
    out = f"{y:04d}-{m:02d}-{d:02d}"
    if hh is not None and mm is not None:
        h = _hour(int(hh), marker)
        if h < 24 and int(mm) < 60:
            out += f"T{h:02d}:{int(mm):02d}"
    return out


def _month(name: str) -> int:
    name = re.sub(r"\s+", " ", name)
    return MONTHS[name] if name in MONTHS else MONTHS[name.lower()]


def _convert(kind: str, g: tuple) -> str:
    if kind == "dmy_name":
        return _iso(int(g[2]), _month(g[1]), int(g[0]), g[3], g[4], g[5])
    if kind == "mdy_name":
        return _iso(int(g[2]), _month(g[0]), int(g[1]), g[3], g[4], g[5])
    if kind == "iso":
        return _iso(int(g[0]), int(g[1]), int(g[2]), g[3], g[4])
    if kind == "ymd":
        return _iso(int(g[0]), int(g[1]), int(g[2]), g[3], g[4], g[5])
    if kind == "dmy":
        return _iso(int(g[2]), int(g[1]), int(g[0]), g[3], g[4], g[5])
    if kind == "my_name":
        return _iso(int(g[1]), _month(g[0]))
    return g[0]  # year


class FoundDate(NamedTuple):
    iso: str  # YYYY-MM-DD[THH:MM], YYYY-MM or YYYY: as precise as the text
    start: int
    end: int


def find_dates(text: str) -> list[FoundDate]:
    """Dates mentioned in `text`, in order, spans not overlapping (the most specific form wins).

    Precision follows the text: "13 أكتوبر 1958" -> "1958-10-13", "أكتوبر 1958" -> "1958-10",
    "عام 2018" -> "2018" (a bare number is not taken for a year without such a cue).
    """
    prepared = _prepare(text)
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(prepared):
            start, end = m.span()
            if any(start < e and s < end for s, e in taken):
                continue
            iso = _convert(kind, m.groups())
            if iso:
                found.append(FoundDate(iso, start, end))
                taken.append((start, end))
    return sorted(found, key=lambda f: f.start)


def iso_date(value: str) -> str:
    """The YYYY[-MM[-DD]] prefix of a metadata date ("" when there is none)."""
    m = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", (value or "").strip())
    if not m:
        return ""
    return "-".join(p for p in m.groups() if p)


def _rfc2822(s: str) -> str:
    if not re.search(r"[A-Za-z]{3},?\s+\d|\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:", s):
        return ""
    parts = parsedate_tz(s)
    if not parts or not parts[0]:
        return ""
    y, mo, d, hh, mi = parts[:5]
    return _iso(y, mo, d, str(hh), str(mi))


def _dateparser(s: str) -> str:
    """Long-tail formats (English/French month names...); only with a 4-digit year present."""
    if not re.search(r"(?<!\d)(1[89]|20)\d\d(?!\d)", s):
        return ""
    import dateparser  # slow import, rarely needed

    dt = dateparser.parse(s, languages=["ar", "en", "fr"], settings={"DATE_ORDER": "DMY"})
    if dt is None:
        return ""
    has_time = re.search(r"\d{1,2}:\d{2}", s)
    return dt.strftime("%Y-%m-%dT%H:%M" if has_time else "%Y-%m-%d")


def parse_arabic_date(s: str) -> str:
    """The date written in `s` as ISO: "YYYY-MM-DDTHH:MM" with a time, "YYYY-MM-DD" without.

    "" when there is no date. Month-year text ("يوليو 2018") and bare ISO partials ("2018-07",
    "2018") keep their reduced precision; a year in running text is not a date.
    """
    s = (s or "").strip()
    if not s:
        return ""
    plain = s.translate(_DIGITS)
    if re.fullmatch(r"(1[89]|20)\d\d(-\d\d)?", plain):
        return plain
    rfc = _rfc2822(plain)
    if rfc:
        return rfc
    for iso, _, _ in find_dates(s):
        if len(iso) >= 7:
            return iso
    return _dateparser(plain)
