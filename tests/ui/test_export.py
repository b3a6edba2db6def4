"""Export of a briefing: Markdown, HTML (escaped, RTL), DOCX (RTL, read back), PDF (logical text)."""
from __future__ import annotations

import importlib.util
import re

import pytest

from rag.types import Briefing, BriefSection, BriefSentence, Citation, TimelineEvent
from ui.export import export, to_docx, to_html, to_markdown, to_pdf
from ui.fonts import MissingFontError, arabic_fonts

PLAIN = "أعلنت الحكومة خطة جديدة لحماية المواقع الأثرية"
HOSTILE = "<script>alert(1)</script> نص مريب"


def _cite(n, doc, title, date, author, source):
    return Citation(n=n, chunk_id=f"c{n}", doc_id=doc, title=title, date=date, author=author,
                    source=source, text="", score=1.0)


def make_briefing(language="ar") -> Briefing:
    return Briefing(
        topic="حماية الآثار", title="إحاطة: حماية الآثار", since="2015-06-10", until="2021-04-12",
        n_articles=2, source_names=("صحيفة الشرق", "مجلة التراث"),
        summary=(BriefSentence(f"{PLAIN}.", (1,)),),
        sections=(
            BriefSection("الإجراءات", (BriefSentence(f"{PLAIN}.", (1,)),
                                       BriefSentence("وتعاونت الشرطة مع دول الجوار عام 2019.", (2,)))),
            BriefSection("مخاطر", (BriefSentence(HOSTILE, (1, 2)),)),
        ),
        timeline=(TimelineEvent("2015-06-10", f"{PLAIN}.", (1,)),
                  TimelineEvent("2019", "وتعاونت الشرطة مع دول الجوار عام 2019.", (2,))),
        sources=(_cite(1, "a1", "حماية المواقع", "2015-06-10", "سمير حداد", "صحيفة الشرق"),
                 _cite(2, "a2", "تعاون أمني", "2021-04-12", "هدى سليمان", "مجلة التراث")),
        language=language,
    )


def test_markdown_outline_and_escaping():
    md = to_markdown(make_briefing())
    assert md.startswith("# إحاطة: حماية الآثار")
    for heading in ("## الملخص التنفيذي", "## الإجراءات", "## الخط الزمني", "## المراجع"):
        assert heading in md
    assert f"{PLAIN}. [1]" in md and "1. حماية المواقع — سمير حداد — صحيفة الشرق — 2015-06-10" in md
    assert "<script>" not in md


def test_html_is_rtl_escaped_and_links_markers():
    page = to_html(make_briefing())
    assert '<html lang="ar" dir="rtl">' in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    for n in re.findall(r'href="#src-(\d+)"', page):
        assert f'id="src-{n}"' in page
    assert 'href="#src-2"' in page
    assert '<html lang="en" dir="ltr">' in to_html(make_briefing("en"))
    # dates read as written inside right-to-left text (not "12-04-2021")
    assert '<bdi dir="ltr">2015-06-10</bdi> – <bdi dir="ltr">2021-04-12</bdi>' in page
    assert '<span class="date" dir="ltr">2015-06-10</span>' in page and '<bdi dir="ltr">2021-04-12</bdi></li>' in page


def test_docx_reads_back_right_to_left(tmp_path):
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    path = to_docx(make_briefing(), tmp_path / "b.docx")
    doc = Document(str(path))
    paras = [p for p in doc.paragraphs if p.text.strip()]
    assert paras[0].text == "إحاطة: حماية الآثار"
    body = next(p for p in paras if p.text.startswith(PLAIN))
    assert "[1]" in body.text
    for p in paras:
        assert p._p.pPr.find(qn("w:bidi")) is not None
        assert p.alignment == WD_ALIGN_PARAGRAPH.RIGHT
        assert all(r.font.rtl for r in p.runs)
    assert doc.sections[0]._sectPr.find(qn("w:bidi")) is not None
    assert any("2015-06-10" in p.text for p in paras)


def _pdf_ready() -> str:
    if importlib.util.find_spec("uharfbuzz") is None:
        return "uharfbuzz is not installed (pip install uharfbuzz)"
    try:
        arabic_fonts()
    except MissingFontError as e:
        return str(e)
    return ""


@pytest.mark.skipif(bool(_pdf_ready()), reason=_pdf_ready() or "ready")
def test_pdf_text_keeps_arabic_in_logical_order(tmp_path):
    from pypdf import PdfReader

    path = to_pdf(make_briefing(), tmp_path / "b.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)
    text = re.sub(r"[ \t]+", " ", text.replace("\u2066", "").replace("\u2069", ""))
    assert "إحاطة: حماية الآثار" in text
    assert PLAIN in text and PLAIN[::-1] not in text
    assert "الملخص التنفيذي" in text and "المراجع" in text
    assert "2015-06-10" in text  # the date is kept whole, not reversed to 10-06-2015
    assert not re.search(r"[\uFB50-\uFDFF\uFE70-\uFEFF]", text)  # no presentation-form hacks


def test_export_dispatch(tmp_path):
    b = make_briefing()
    assert export(b, "md").startswith("# ")
    assert export(b, "html", tmp_path / "b.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert export(b, "docx", tmp_path / "b.docx").stat().st_size > 0
    with pytest.raises(Exception, match="choose one of"):
        export(b, "rtf", tmp_path / "b.rtf")
    with pytest.raises(Exception, match="output file"):
        export(b, "docx")


def test_missing_font_names_the_package(tmp_path):
    with pytest.raises(MissingFontError, match="fonts-hosny-amiri"):
        arabic_fonts(dirs=(tmp_path,))
    with pytest.raises(MissingFontError, match="does not exist"):
        arabic_fonts(tmp_path / "none.ttf")


def test_a_story_carried_by_several_outlets_is_one_reference_with_its_earliest_date_and_outlets():
    from rag.types import ClusterCopy
    from ui.export import source_line

    c = Citation(1, "c1", "d1", "افتتاح سد على الفرات", "2020-03-04", "", "CNN", "نص", 1.0,
                 also_in=(ClusterCopy("d0", "سد جديد", "BBC", "2020-03-03"),))
    line = source_line(c)
    assert "2020-03-03" in line and "2020-03-04" not in line and "نشرته أيضًا: BBC" in line
