"""Render a Briefing to Markdown, HTML, DOCX or PDF, right-to-left when it is Arabic.

Every renderer walks the same outline (`_outline`), so the four formats never disagree on what
a briefing contains. PDF uses fpdf2 with HarfBuzz shaping (uharfbuzz): glyphs are joined and
ordered right-to-left on the page while the text layer keeps logical order, so the PDF stays
searchable and copyable; visual-order tricks (reshaper + get_display) would reverse it.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.briefing.select import clean_text
from rag.errors import MissingExtraError, RagError
from rag.text.arabic import is_arabic
from rag.types import Briefing, BriefSentence, Citation
from ui.render.clusters import also_in_label

FORMATS = ("md", "html", "docx", "pdf")

LABELS = {
    "ar": {"period": "الفترة", "articles": "عدد المقالات", "publishers": "المصادر",
           "summary": "الملخص التنفيذي", "timeline": "الخط الزمني", "sources": "المراجع",
           "figures": "أرقام رئيسية", "open": "أسئلة مفتوحة لا يجيب عنها الأرشيف",
           "empty": "لم يُعثر على مقالات في الأرشيف حول هذا الموضوع ضمن الحدود المطلوبة.",
           "unknown": "غير محدد", "sep": "، ",
           "undated": "{n} بلا تاريخ", "unsourced": "{n} بلا مصدر",
           "counts": "{considered} مستعرضة، {cited} مستشهد بها"},
    "en": {"period": "Period", "articles": "Articles used", "publishers": "Sources",
           "summary": "Executive summary", "timeline": "Timeline", "sources": "References",
           "figures": "Key figures", "open": "Open questions the archive does not answer",
           "empty": "No articles on this topic were found in the archive within the limits asked.",
           "unknown": "unspecified", "sep": ", ",
           "undated": "{n} undated", "unsourced": "{n} without a source",
           "counts": "{considered} considered, {cited} cited"},
}


@dataclass(frozen=True)
class _Block:
    """One unit of the outline: kind is title | meta | heading | para | item | bullet | source."""

    kind: str
    text: str = ""
    sentences: tuple[BriefSentence, ...] = ()
    source: Citation | None = None


def _labels(b: Briefing) -> dict[str, str]:
    return LABELS["ar" if b.language == "ar" else "en"]


def markers(citations: tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in citations)


def source_line(c: Citation) -> str:
    """A reference: title, author, outlet, date. A story carried by several outlets is listed once,
    with its earliest date and the other outlets that carried it."""
    dates = sorted(d[:10] for d in (c.date, *(x.date for x in c.also_in)) if d)
    parts = [c.title or c.doc_id, c.author, c.source, dates[0] if dates else ""]
    line = " — ".join(p for p in parts if p)
    if c.also_in:
        line += f" ({also_in_label(c.also_in, c.source, arabic=is_arabic(c.title + c.text))})"
    return clean_text(line)


def _outline(b: Briefing) -> Iterator[_Block]:
    lab = _labels(b)
    yield _Block("title", b.title)
    since, until = b.since[:10], b.until[:10]
    period = (since if since == until else " – ".join(x for x in (since, until) if x)) or lab["unknown"]
    if b.n_undated:
        period += f" ({lab['undated'].format(n=b.n_undated)})"
    yield _Block("meta", f"{lab['period']}: {period}")
    counts = (lab["counts"].format(considered=b.n_considered, cited=b.n_articles)
              if b.n_considered else str(b.n_articles))
    yield _Block("meta", f"{lab['articles']}: {counts}")
    if b.source_names or b.n_unsourced:
        names = lab["sep"].join(b.source_names) or lab["unknown"]
        if b.n_unsourced:
            names += f" ({lab['unsourced'].format(n=b.n_unsourced)})"
        yield _Block("meta", f"{lab['publishers']}: {names}")
    if b.coverage_note:
        yield _Block("para", b.coverage_note)
    if not (b.summary or b.sections):
        yield _Block("para", lab["empty"])
        yield from _open_questions(b, lab)
        return
    if b.summary:
        yield _Block("heading", lab["summary"])
        yield _Block("para", sentences=b.summary)
    for sec in b.sections:
        yield _Block("heading", sec.heading)
        yield _Block("para", sentences=sec.sentences)
    if b.figures:
        yield _Block("heading", lab["figures"])
        for f in b.figures:
            yield _Block("item", f.value, sentences=(BriefSentence(f.text, f.citations),))
    if b.timeline:
        yield _Block("heading", lab["timeline"])
        for ev in b.timeline:
            yield _Block("item", ev.date, sentences=(BriefSentence(ev.text, ev.citations),))
    yield from _open_questions(b, lab)
    if b.sources:
        yield _Block("heading", lab["sources"])
        for c in b.sources:
            yield _Block("source", source_line(c), source=c)


def _open_questions(b: Briefing, lab: dict[str, str]) -> Iterator[_Block]:
    if b.open_questions:
        yield _Block("heading", lab["open"])
        for q in b.open_questions:
            yield _Block("bullet", q)


def _plain(sentences: tuple[BriefSentence, ...]) -> str:
    return " ".join(f"{clean_text(s.text)} {markers(s.citations)}" for s in sentences)


# -- Markdown ----------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    """Markdown passes raw HTML through to its renderer, so tags from articles are neutralised."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(b: Briefing) -> str:
    out: list[str] = []
    for blk in _outline(b):
        text = _md_escape(blk.text)
        if blk.kind == "title":
            out += [f"# {text}", ""]
        elif blk.kind == "meta":
            out.append(f"- {text}")
        elif blk.kind == "heading":
            out += ["", f"## {text}", ""]
        elif blk.kind == "para":
            if out and out[-1].startswith("- "):
                out.append("")  # a paragraph after the header list is not part of it
            out.append(_md_escape(_plain(blk.sentences)) if blk.sentences else text)
        elif blk.kind == "item":
            out.append(f"- **{text}**: {_md_escape(_plain(blk.sentences))}")
        elif blk.kind == "bullet":
            out.append(f"- {text}")
        elif blk.kind == "source":
            out.append(f"{blk.source.n}. {text}")
    return "\n".join(out).strip() + "\n"


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
body { font-family: "Amiri", "Noto Naskh Arabic", "Noto Sans Arabic", "Arial", serif;
       max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.9; color: #222; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.25rem; margin-top: 1.6rem; border-bottom: 1px solid #ccc; }
.meta { color: #555; margin: 0; } sup a, a.cite { text-decoration: none; color: #1a5fb4; }
ol.sources li:target { background: #fff3bf; } .date { font-weight: bold; unicode-bidi: isolate; }
"""


_ISO_DATE = re.compile(r"(?<![\d-])\d{4}(?:-\d{2}){0,2}(?![\d-])")


def _ltr_dates(escaped: str) -> str:
    """Escaped text with each ISO date isolated left to right, so "2024-01-30" never shows as
    "30-01-2024" inside a right-to-left paragraph."""
    return _ISO_DATE.sub(lambda m: f'<bdi dir="ltr">{m.group(0)}</bdi>', escaped)


def _html_sentences(sentences: tuple[BriefSentence, ...]) -> str:
    e = html.escape
    parts = []
    for s in sentences:
        links = "".join(f'<a class="cite" href="#src-{n}">[{n}]</a>' for n in s.citations)
        parts.append(f"{e(clean_text(s.text))} {links}")
    return " ".join(parts)


def to_html(b: Briefing) -> str:
    """A standalone page; every piece of article text is escaped."""
    e = html.escape
    lang, direction = ("ar", "rtl") if b.language == "ar" else ("en", "ltr")
    body: list[str] = []
    in_list = ""
    for blk in _outline(b):
        wanted = {"item": "ul", "bullet": "ul", "source": "ol"}.get(blk.kind, "")
        if in_list and wanted != in_list:
            body.append(f"</{in_list}>")
            in_list = ""
        if wanted and not in_list:
            body.append('<ul class="timeline">' if wanted == "ul" else '<ol class="sources">')
            in_list = wanted
        if blk.kind == "title":
            body.append(f"<h1>{e(blk.text)}</h1>")
        elif blk.kind == "meta":
            body.append(f'<p class="meta">{_ltr_dates(e(blk.text))}</p>')
        elif blk.kind == "heading":
            body.append(f"<h2>{e(blk.text)}</h2>")
        elif blk.kind == "para":
            body.append(f"<p>{_html_sentences(blk.sentences) if blk.sentences else e(blk.text)}</p>")
        elif blk.kind == "item":
            body.append(f'<li><span class="date" dir="ltr">{e(blk.text)}</span>: {_html_sentences(blk.sentences)}</li>')
        elif blk.kind == "bullet":
            body.append(f"<li>{e(blk.text)}</li>")
        elif blk.kind == "source":
            n = blk.source.n
            body.append(f'<li id="src-{n}" value="{n}">{_ltr_dates(e(blk.text))}</li>')
    if in_list:
        body.append(f"</{in_list}>")
    return (f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{e(b.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<article>\n"
            + "\n".join(body) + "\n</article>\n</body>\n</html>\n")


# -- DOCX --------------------------------------------------------------------------------------

def _docx_rtl(paragraph, rtl: bool) -> None:
    """Mark a paragraph right-to-left (w:bidi) and its runs (w:rtl); Word needs both."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    if rtl:
        ppr = paragraph._p.get_or_add_pPr()
        if ppr.find(qn("w:bidi")) is None:
            bidi = OxmlElement("w:bidi")
            successor = next((ppr.find(qn(t)) for t in ("w:adjustRightInd", "w:snapToGrid",
                              "w:spacing", "w:ind", "w:contextualSpacing", "w:jc")
                              if ppr.find(qn(t)) is not None), None)
            if successor is not None:
                successor.addprevious(bidi)
            else:
                ppr.append(bidi)
        for run in paragraph.runs:
            run.font.rtl = True
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if rtl else WD_ALIGN_PARAGRAPH.LEFT


def to_docx(b: Briefing, path: str | Path) -> Path:
    try:
        from docx import Document
        from docx.oxml import OxmlElement
        from docx.shared import Pt
    except ImportError as e:  # a core dependency, but say what to do if it is gone
        raise MissingExtraError("DOCX export (python-docx)", "export") from e
    rtl = b.language == "ar"
    doc = Document()
    doc.styles["Normal"].font.size = Pt(12)
    doc.core_properties.title = b.title
    if rtl:
        doc.sections[0]._sectPr.append(OxmlElement("w:bidi"))
    for blk in _outline(b):
        if blk.kind == "title":
            p = doc.add_heading(blk.text, level=0)
        elif blk.kind == "heading":
            p = doc.add_heading(blk.text, level=1)
        elif blk.kind == "para":
            p = doc.add_paragraph(_plain(blk.sentences) if blk.sentences else blk.text)
        elif blk.kind == "item":
            p = doc.add_paragraph(style="List Bullet")
            p.add_run(blk.text).bold = True
            p.add_run(f": {_plain(blk.sentences)}")
        elif blk.kind == "bullet":
            p = doc.add_paragraph(blk.text, style="List Bullet")
        elif blk.kind == "source":
            p = doc.add_paragraph(f"[{blk.source.n}] {blk.text}")
        else:
            p = doc.add_paragraph(blk.text)
        _docx_rtl(p, rtl)
    path = Path(path)
    doc.save(str(path))
    return path


# -- PDF ---------------------------------------------------------------------------------------

_NUMERIC_RUN = re.compile(r"\d+(?:[-/.:]\d+)+")

def to_pdf(b: Briefing, path: str | Path, font: str | Path | None = None) -> Path:
    """A4 PDF with shaped Arabic; `font` overrides the installed-font lookup (ui.fonts)."""
    try:
        from fpdf import FPDF
        from fpdf.errors import FPDFException
    except ImportError as e:
        raise MissingExtraError("PDF export (fpdf2)", "export") from e
    from ui.fonts import arabic_fonts

    fonts = arabic_fonts(font)
    rtl = b.language == "ar"
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(b.title)
    pdf.add_font("body", "", str(fonts.regular))
    pdf.add_font("body", "B", str(fonts.bold or fonts.regular))
    if fonts.fallback:
        pdf.add_font("fallback", "", str(fonts.fallback))
        pdf.set_fallback_fonts(["fallback"])
    try:
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
    except FPDFException as e:  # raised when uharfbuzz cannot be imported
        raise RagError(f"PDF export shapes Arabic with HarfBuzz: pip install uharfbuzz ({e})") from e
    pdf.add_page()
    align = "R" if rtl else "L"

    def write(text: str, size: float, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("body", style, size)
        if rtl:  # fpdf2's bidi reverses "2015-06-10" inside RTL text; an isolate keeps it whole
            text = _NUMERIC_RUN.sub(lambda m: f"\u2066{m.group()}\u2069", text)
        pdf.multi_cell(0, size * 0.55, text, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    for blk in _outline(b):
        if blk.kind == "title":
            write(blk.text, 20, "B", 3)
        elif blk.kind == "meta":
            write(blk.text, 11, gap=0.5)
        elif blk.kind == "heading":
            pdf.ln(3)
            write(blk.text, 15, "B")
        elif blk.kind == "para":
            write(_plain(blk.sentences) if blk.sentences else blk.text, 12.5)
        elif blk.kind == "item":
            write(f"{blk.text}: {_plain(blk.sentences)}", 12, gap=1)
        elif blk.kind == "bullet":
            write(f"• {blk.text}", 12, gap=1)
        elif blk.kind == "source":
            write(f"[{blk.source.n}] {blk.text}", 11, gap=0.8)
    path = Path(path)
    pdf.output(str(path))
    return path


def export(b: Briefing, fmt: str, path: str | Path | None = None) -> str | Path:
    """Write `b` as `fmt` to `path` and return the path; md/html without a path return the text."""
    fmt = fmt.lower().lstrip(".")
    if fmt == "markdown":
        fmt = "md"
    if fmt not in FORMATS:
        raise RagError(f"unknown briefing format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if fmt in ("md", "html"):
        text = to_markdown(b) if fmt == "md" else to_html(b)
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return Path(path)
    if path is None:
        raise RagError(f"a {fmt} briefing needs an output file (--out FILE)")
    return to_docx(b, path) if fmt == "docx" else to_pdf(b, path)
