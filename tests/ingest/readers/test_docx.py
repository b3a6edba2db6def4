"""Word (.docx) reader: paragraphs, Title and Heading styles."""
import pytest

from tests.ingest.readers.support import BODY, TITLE, docs


def test_docx_paragraphs_and_heading_styles(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading(TITLE, level=0)
    document.add_paragraph(BODY)
    document.add_heading("القسم الثاني", level=1)
    document.add_paragraph("فقرة ثانية عن التعاون الإقليمي.")
    path = tmp_path / "a.docx"
    document.save(path)
    (doc,) = docs(path)
    assert doc.title == TITLE
    assert doc.text == f"{BODY}\n\nفقرة ثانية عن التعاون الإقليمي."
    assert doc.sections == ((len(BODY) + 2, "القسم الثاني"),)
