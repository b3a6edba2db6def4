"""Scraped archive pages -> clean body + metadata (title, date, author, publisher, sections, keywords).

Pages from research-centre sites arrive as lines: a publisher line ("يصدر عن ..."), ad residue,
the title, a date line, photo captions, the author, "طباعة", then the body, where «quoted»
captions repeat next to section headings, and a trailing "الكلمات المفتاحية" block. The rules
below name those shapes rather than one site: a short line without terminal punctuation between
body paragraphs heads a section; a short line that only repeats the title, is wholly a «quote», or
repeats the line before it, is a caption. Everything else that is text stays: losing body text costs more
than keeping a stray line. The words that mark each shape (publisher, byline, keywords, ads,
page buttons, photo captions) are lists in rag/text/lexicon/, so they grow without code changes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from rag.text import lexicon
from rag.text.arabic import normalize
from rag.text.dates import find_dates, parse_arabic_date
from rag.types import SourceDoc

_END_PUNCT = re.compile(r"[.!?؟:؛,،…]['\"»”)\]]*$")
_CLAUSE_END = re.compile(r"[.!:؛,،…]['\"»”)\]]*$")  # a heading may end with a question mark
_WORD = re.compile(r"\S+")
_HAS_TEXT = re.compile(r"[^\W_]")
_BULLET = re.compile(r"^[-–•*▪►]\s")


def _alternatives(name: str, *, phrases: bool = False) -> str:
    """A lexicon list as a regex alternation, in file order."""
    return "|".join(map(re.escape, lexicon.lines(name) if phrases else lexicon.words(name)))


_PUBLISHER = re.compile(rf"^(?:{_alternatives('publisher_markers', phrases=True)})\s*[:：]?\s*(.+)$")
_BYLINE = re.compile(rf"^(?:{_alternatives('byline_markers')})\s*[:：\-]?\s+(.+)$", re.I)
_KEYWORDS = re.compile(rf"^(?:{_alternatives('keyword_markers', phrases=True)})\s*[:：]?\s*(.*)$", re.I)
_AD_WORDS = set(lexicon.words("ad_words"))
_AD_FILLER = _AD_WORDS | set(lexicon.words("ad_filler"))
_UI_WORDS = {normalize(w) for w in lexicon.lines("ui_words")}
_PHOTO = re.compile(
    rf"^[(\[]?(?:{_alternatives('photo_captions', phrases=True)})[)\]]?(?:\s*[:：\-]\s*.{{0,40}})?$", re.I)
_NAME = re.compile(r"^(?:(?:د|أ\.د|م|أ)\.\s*)?[\u0621-\u064A]+(?:\s+[\u0621-\u064A]+){1,3}$")


@dataclass
class _Line:
    text: str
    given: str  # section heading the loader already knew (md, docx, html)
    kind: str = "body"  # body | heading | drop


def _key(s: str) -> str:
    """Comparison form: normalized letters only, so «X» and X and X. meet."""
    return " ".join(re.findall(r"[^\W_]+", normalize(s)))


def _words(s: str) -> int:
    return len(_WORD.findall(s))


def _short(s: str) -> bool:
    return _words(s) <= 10 and len(s) <= 90 and not _CLAUSE_END.search(s) and not _BULLET.match(s)


def _is_paragraph(s: str) -> bool:
    n = _words(s)
    return n >= 15 or (n >= 6 and bool(_END_PUNCT.search(s)))


def _is_ad(s: str) -> bool:
    toks = s.lower().split()
    return bool(toks) and set(toks) <= _AD_FILLER and bool(set(toks) & _AD_WORDS)


def _is_noise(s: str) -> bool:
    return (not _HAS_TEXT.search(s) or _is_ad(s) or normalize(s).strip(" :") in _UI_WORDS
            or bool(_PHOTO.match(s)))


def _date_line(s: str) -> str:
    """ISO date when the line is just a date (maybe with a short label), else ""."""
    if _words(s) > 10:
        return ""
    found = find_dates(s)
    if not found or len(found[0][0]) < 10:
        return ""
    iso, start, end = found[0]
    rest = re.sub(r"[^\w\s]", " ", s[:start] + s[end:])
    return (parse_arabic_date(s) or iso) if _words(rest) <= 3 else ""


def _lines(doc: SourceDoc) -> list[_Line]:
    sections = sorted(doc.sections)
    out, pos = [], 0
    for raw in doc.text.split("\n"):
        given = next((h for off, h in reversed(sections) if off <= pos), "")
        pos += len(raw) + 1
        text = " ".join(raw.split())
        if text:
            out.append(_Line(text, given))
    return out


def _keywords(lines: list[_Line]) -> tuple[list[_Line], list[str]]:
    """Cut the trailing keywords block; its items (if any) become keywords."""
    for i, line in enumerate(lines):
        m = _KEYWORDS.match(line.text)
        if m and _words(line.text) <= 4 + _words(m.group(1)) and (m.group(1) or i >= len(lines) * 0.5):
            items = [m.group(1)] + [ln.text for ln in lines[i + 1:]]
            found = [k.strip(" \"'«»-") for item in items for k in re.split(r"\s*[،,;|]\s*", item)]
            return lines[:i], [k for k in found if _HAS_TEXT.search(k)]
    return lines, []


def clean_document(doc: SourceDoc) -> SourceDoc:
    """A new SourceDoc whose text is the clean body (paragraphs split by blank lines)."""
    if doc.raw_html:
        from ingest.readers import LoadError
        from ingest.readers.html import html_to_doc

        try:
            page = html_to_doc(doc.text, Path(doc.path))
        except LoadError:  # no main text: an empty body, which the pipeline reports
            return replace(doc, raw_html=False, text="", sections=())
        doc = replace(doc, raw_html=False, text=page.text, sections=page.sections,
                      **{f: getattr(doc, f) or getattr(page, f) for f in ("title", "date", "author", "source", "url")})
    meta = {"title": doc.title, "date": doc.date, "author": doc.author, "publisher": doc.publisher}
    lines, keywords = _keywords(_lines(doc))
    page_style = False

    for line in lines:  # publisher, ads, UI words, photo captions, date lines
        m = _PUBLISHER.match(line.text)
        if m and _words(line.text) <= 10:
            meta["publisher"] = meta["publisher"] or m.group(1).strip()
        elif not _is_noise(line.text):
            iso = _date_line(line.text)
            if not iso:
                continue
            meta["date"] = meta["date"] or iso
        line.kind, page_style = "drop", True

    live = [ln for ln in lines if ln.kind == "body"]
    if not meta["title"]:
        first = live[0] if len(live) > 1 else None
        if first and _words(first.text) <= 25 and len(first.text) <= 200 and not re.search(r"[.:]$", first.text):
            meta["title"] = first.text
    title_key = _key(meta["title"])

    for line in live:  # the header: title, byline, author name, until the first paragraph
        if _is_paragraph(line.text) and _key(line.text) != title_key:
            break
        by = _BYLINE.match(line.text)
        if _key(line.text) == title_key:
            line.kind = "drop"
        elif by and _words(by.group(1)) <= 6:
            meta["author"], line.kind = meta["author"] or by.group(1).strip(), "drop"
        elif page_style and not meta["author"] and _NAME.match(line.text):
            meta["author"], line.kind = line.text, "drop"

    previous = ""
    for line in lines:  # captions: short lines repeating the title, a «quote», or the line before
        k = _key(line.text)
        if line.kind == "body" and _short(line.text):
            quoted = line.text.startswith("«") and line.text.endswith("»")
            if k == title_key or quoted or k == previous:
                line.kind = "drop"
        previous = k

    live = [ln for ln in lines if ln.kind == "body"]
    seen_paragraph = False
    for i, line in enumerate(live):  # headings: short lines between paragraphs
        nxt = live[i + 1].text if i + 1 < len(live) else ""
        if seen_paragraph and _short(line.text) and nxt and not _short(nxt):
            line.kind = "heading"
        seen_paragraph = seen_paragraph or _is_paragraph(line.text)

    text, sections = _assemble(lines)
    return replace(doc, text=text, sections=sections, keywords=tuple(keywords) or doc.keywords,
                   title=meta["title"], date=meta["date"], author=meta["author"],
                   publisher=meta["publisher"])


def _assemble(lines: list[_Line]) -> tuple[str, tuple[tuple[int, str], ...]]:
    parts: list[str] = []
    sections: list[tuple[int, str]] = []
    pos, detected, last_given = 0, "", ""
    for line in lines:
        if line.given != last_given:
            detected, last_given = "", line.given
        if line.kind == "heading":
            detected = line.text
        if line.kind != "body":
            continue
        heading = detected or line.given
        if heading and (not sections or sections[-1][1] != heading):
            sections.append((pos, heading))
        parts.append(line.text)
        pos += len(line.text) + 2
    return "\n\n".join(parts), tuple(sections)
