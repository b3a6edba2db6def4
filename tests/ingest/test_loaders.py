"""Loaders: every format and encoding, and bad files reported among good ones."""
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from ingest.clean import clean_document
from ingest.loaders import SUPPORTED_SUFFIXES, discover, load_file
from rag.errors import BadDocumentError
from rag.types import FileFailure, SourceDoc

DEMO = Path(__file__).resolve().parents[2] / "demo" / "archive"
ANT = Path(__file__).resolve().parents[3] / "shared" / "data" / "news" / "ant5000"

TITLE = "أمن الحدود في زمن التحولات"
BODY = "تواجه الدول تحديات متزايدة في ضبط حدودها الطويلة، وتعتمد على التقنيات الحديثة والتعاون الإقليمي."
ARTICLE = f"{TITLE}\n\n{BODY}\n"


def load(path: Path) -> list:
    return list(load_file(path))


def docs(path: Path) -> list[SourceDoc]:
    out = load(path)
    assert all(isinstance(d, SourceDoc) for d in out), out
    return out


def failures(path: Path) -> list[FileFailure]:
    out = load(path)
    assert out and all(isinstance(f, FileFailure) for f in out), out
    return out


# --- discovery -----------------------------------------------------------------------------


def test_discover_recurses_sorts_and_skips_hidden_and_unsupported(tmp_path):
    for name in ["b.txt", "a.md", "sub/c.html", "sub/d.jsonl.gz", "sub/e.txt.gz", "x.exe",
                 ".hidden.txt", ".git/f.txt", "README.md"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = discover([tmp_path])
    assert found == sorted(found)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.md", "b.txt", "sub/c.html", "sub/d.jsonl.gz", "sub/e.txt.gz"]
    assert discover([tmp_path / "b.txt"]) == [tmp_path / "b.txt"]
    assert ".jsonl.gz" in SUPPORTED_SUFFIXES


def test_discover_names_a_missing_path(tmp_path):
    with pytest.raises(BadDocumentError, match="nope"):
        discover([tmp_path / "nope"])


# --- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1256"])
def test_encodings_decode_to_the_same_text(tmp_path, encoding):
    path = tmp_path / f"article-{encoding}.txt"
    path.write_bytes(ARTICLE.encode(encoding))
    (doc,) = docs(path)
    assert doc.text.strip() == ARTICLE.strip()


def test_short_cp1256_is_read_as_arabic_not_latin(tmp_path):
    path = tmp_path / "short.txt"
    path.write_bytes("مرحبا بالعالم".encode("cp1256"))
    assert docs(path)[0].text == "مرحبا بالعالم"


def test_presentation_forms_are_folded(tmp_path):
    path = tmp_path / "forms.txt"
    path.write_text("\ufeb3\ufee0\ufe8e\ufee1 \ufefb \ufdf2\r\nسطر", encoding="utf-8")
    assert docs(path)[0].text == "سلام لا الله\nسطر"


# --- formats -------------------------------------------------------------------------------


def test_txt_ids_follow_the_resolved_path(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    (doc,) = docs(path)
    assert doc.key == doc.path == str(path.resolve())
    assert doc.doc_id == hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def test_txt_gz(tmp_path):
    path = tmp_path / "a.txt.gz"
    path.write_bytes(gzip.compress(ARTICLE.encode("utf-8")))
    assert docs(path)[0].text.strip() == ARTICLE.strip()


def test_markdown_headings_become_sections(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(f"# {TITLE}\n\n{BODY}\n\n## القسم الثاني\n\nفقرة **ثانية** عن [التعاون](http://x).\n",
                    encoding="utf-8")
    (doc,) = docs(path)
    assert doc.title == TITLE
    assert doc.text == f"{BODY}\n\nفقرة ثانية عن التعاون."
    assert doc.sections == ((len(BODY) + 2, "القسم الثاني"),)


def test_html_main_text_metadata_and_sections():
    (doc,) = docs(DEMO / "06_border_security.html")
    assert doc.title == "أمن الحدود الصحراوية.. تقنيات جديدة وتحديات قديمة"
    assert doc.author == "ليلى منصور" and doc.date == "2021-10-17"
    assert [h for _, h in doc.sections] == ["الجدار الإلكتروني", "المجتمعات الحدودية", "التعاون الإقليمي"]
    assert "الرئيسية" not in doc.text and "جميع الحقوق" not in doc.text and "الأكثر قراءة" not in doc.text
    assert "\n\n" in doc.text and "مشروع «الحارس»" in doc.text


def _pdf_bytes(lines: list[bytes], to_unicode: dict[int, str]) -> bytes:
    """A one-page PDF whose font maps byte codes to `to_unicode` (as PDF tools emit Arabic)."""
    pairs = "\n".join(f"<{c:02X}> <{''.join(f'{ord(ch):04X}' for ch in u)}>" for c, u in to_unicode.items())
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n/CMapName /X def\n"
            "1 begincodespacerange <00> <FF> endcodespacerange\n"
            f"{len(to_unicode)} beginbfchar\n{pairs}\nendbfchar\nendcmap "
            "CMapName currentdict /CMap defineresource pop end end").encode()
    content = b"BT /F1 12 Tf 72 720 Td 14 TL\n" + b"".join(b"(" + ln + b") Tj T*\n" for ln in lines) + b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_with_presentation_forms_is_folded(tmp_path):
    # Glyphs in visual order, as PDFs store Arabic: م ا ل س -> "سلام" once read right to left.
    forms = {0x41: "\ufeb3", 0x42: "\ufee0", 0x43: "\ufe8e", 0x44: "\ufee2", 0x20: " "}
    path = tmp_path / "a.pdf"
    path.write_bytes(_pdf_bytes([b"DCBA DCBA", b"DCBA"], forms))
    (doc,) = docs(path)
    assert "سلام" in doc.text
    assert not any("\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff" for ch in doc.text)


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


def test_json_single_record_and_list(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"id": "r1", "title": TITLE, "text": BODY}, ensure_ascii=False), encoding="utf-8")
    (doc,) = docs(one)
    assert (doc.doc_id, doc.key, doc.title, doc.text) == ("r1", f"{one.resolve()}#r1", TITLE, BODY)
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"text": BODY}, {"doc_id": "d2", "body": BODY}]), encoding="utf-8")
    first, second = docs(many)
    assert first.doc_id == hashlib.sha1(f"{many.resolve()}#1".encode()).hexdigest()[:16]
    assert second.doc_id == "d2"


def test_gold_contexts_keep_their_context_id(tmp_path):
    path = tmp_path / "contexts.jsonl"
    path.write_text(json.dumps({"context_id": "arcd-c00001", "title": TITLE, "text": BODY},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    (doc,) = docs(path)
    assert doc.doc_id == "arcd-c00001"
    assert clean_document(doc).doc_id == "arcd-c00001" and clean_document(doc).text == BODY


def test_news_jsonl_gz_record_fields(tmp_path):
    rec = {"docno": "AL-x-1", "url": "http://example.org/a", "src": "alarabia", "cat": "x", "title": TITLE,
           "time": "Sun, 18 Feb 2018 21:35:43 +0400", "author": "القاهرة - مراسل", "abstract": "...",
           "text": BODY}
    path = tmp_path / "news.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")))
    (doc,) = docs(path)
    assert (doc.doc_id, doc.title, doc.date, doc.author, doc.source, doc.url) == (
        "AL-x-1", TITLE, "2018-02-18T21:35", "القاهرة - مراسل", "alarabia", "http://example.org/a")


def test_jsonl_bad_lines_are_reported_and_good_ones_load(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "ok1", "text": BODY}, ensure_ascii=False),
        '{"id": "broken", "text": ',
        json.dumps({"id": "notext", "title": TITLE}, ensure_ascii=False),
        "",
        json.dumps({"id": "ok2", "text": BODY}, ensure_ascii=False),
    ]), encoding="utf-8")
    out = load(path)
    assert [d.doc_id for d in out if isinstance(d, SourceDoc)] == ["ok1", "ok2"]
    bad = [f for f in out if isinstance(f, FileFailure)]
    assert [(f.path, f.line) for f in bad] == [(str(path), 2), (str(path), 3)]
    assert "not valid" in bad[0].reason and "text" in bad[1].reason


# --- bad input among good files ------------------------------------------------------------


def test_bad_files_fail_with_reasons_and_good_files_still_load(tmp_path):
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    results = {p.name: load(p) for p in discover([tmp_path])}
    assert isinstance(results["good.txt"][0], SourceDoc)
    reasons = {}
    for name in ["broken.pdf", "image.txt", "empty.txt", "blank.md", "broken.docx"]:
        (failure,) = results[name]
        assert isinstance(failure, FileFailure) and failure.path == str(tmp_path / name)
        reasons[name] = failure.reason
    assert "PDF" in reasons["broken.pdf"]
    assert "binary" in reasons["image.txt"] and "rename" in reasons["image.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "no text" in reasons["blank.md"]
    assert ".docx" in reasons["broken.docx"]


def test_missing_or_unsupported_file_is_a_failure_not_an_exception(tmp_path):
    (tmp_path / "x.exe").write_bytes(b"MZ")
    assert "unsupported" in failures(tmp_path / "x.exe")[0].reason
    assert failures(tmp_path / "gone.txt")[0].path == str(tmp_path / "gone.txt")


# --- manifest sidecar ----------------------------------------------------------------------


def test_manifest_sidecar_gives_metadata_and_is_not_a_document(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "manifest.jsonl").write_text(json.dumps({
        "file": "articles/a.txt", "title": TITLE, "date": "2013-05-13T13:55:44+04:00",
        "source": "alarabia", "url": "http://example.org/a"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert discover([tmp_path]) == [tmp_path / "articles" / "a.txt"]
    assert load(tmp_path / "manifest.jsonl") == []
    (doc,) = docs(tmp_path / "articles" / "a.txt")
    assert (doc.title, doc.date, doc.source, doc.url) == (TITLE, "2013-05-13T13:55", "alarabia", "http://example.org/a")
    clean = clean_document(doc)
    assert clean.title == TITLE and clean.text == BODY


@pytest.mark.skipif(not ANT.is_dir(), reason="../shared/data/news/ant5000 is not present")
def test_real_news_folder_with_its_manifest():
    first = discover([ANT])[0]
    (doc,) = docs(first)
    assert doc.title and doc.date[:4].isdigit() and doc.source and doc.url
    assert clean_document(doc).text.split("\n\n")[0] != doc.title
