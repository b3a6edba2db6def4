"""A briefing's trainer structure in all four formats: honest header, executive summary,
sections, key figures, timeline, open questions, references with numbered citations that
resolve; RTL; no invisible characters."""
from __future__ import annotations

import re

import pytest

from rag.briefing.build import build_briefing
from rag.config import Settings
from tests.briefing import topical as T
from tests.fakes import FakeEmbedder
from tests.ui.test_export import _pdf_ready
from ui.export import to_docx, to_html, to_markdown, to_pdf

HEADINGS = ("الملخص التنفيذي", "أرقام رئيسية", "الخط الزمني", "أسئلة مفتوحة لا يجيب عنها الأرشيف", "المراجع")
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\ufeff\u061c]")


@pytest.fixture(scope="module")
def b():
    return build_briefing(T.TOPIC, T.search, Settings(), embedder=FakeEmbedder(), aspects=T.ASPECTS,
                          thresholds=T.THRESHOLDS)


def _check_text(text: str, b) -> None:
    for h in HEADINGS + tuple(sec.heading for sec in b.sections):
        assert h in text, h
    assert "العملات الرقمية" in text  # the open question
    assert "1 بلا تاريخ" in text and "1 بلا مصدر" in text
    assert f"{b.n_considered} مستعرضة، {b.n_articles} مستشهد بها" in text
    assert "جانب" not in text
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    assert cited and cited <= set(range(1, len(b.sources) + 1))


def test_markdown(b):
    md = to_markdown(b)
    _check_text(md, b)
    assert not INVISIBLE.search(md)
    assert md.index("## الملخص التنفيذي") < md.index("## أرقام رئيسية") < md.index("## الخط الزمني") \
        < md.index("## أسئلة مفتوحة") < md.index("## المراجع")


def test_html_citations_resolve(b):
    page = to_html(b)
    _check_text(page, b)
    assert '<html lang="ar" dir="rtl">' in page
    targets = set(re.findall(r'id="src-(\d+)"', page))
    links = set(re.findall(r'href="#src-(\d+)"', page))
    assert links and links <= targets
    assert not INVISIBLE.search(page)


def test_docx(b, tmp_path):
    from docx import Document

    doc = Document(str(to_docx(b, tmp_path / "b.docx")))
    _check_text("\n".join(p.text for p in doc.paragraphs), b)


@pytest.mark.skipif(bool(_pdf_ready()), reason=_pdf_ready() or "ready")
def test_pdf(b, tmp_path):
    from pypdf import PdfReader

    path = to_pdf(b, tmp_path / "b.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)
    text = re.sub(r"[ \t]+", " ", text.replace("\u2066", "").replace("\u2069", ""))
    for h in ("الملخص التنفيذي", "الخط الزمني", "المراجع", "العملات الرقمية"):
        assert h in text
