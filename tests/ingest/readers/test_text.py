"""Plain text and Markdown readers."""
import gzip
import hashlib

from tests.ingest.readers.support import ARTICLE, BODY, TITLE, docs


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
