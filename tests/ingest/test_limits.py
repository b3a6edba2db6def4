"""Documents over max_document_mb are reported, never read whole; the rest of the run goes on."""
import gzip
import json

from ingest.readers import load_file
from rag.types import FileFailure, SourceDoc
from tests.ingest.test_pipeline import ingest, make_archive

LINE = "تتناول هذه الدراسة موضوع تمويل الجماعات المتطرفة في المنطقة العربية.\n"


def big_text(path, mb):
    path.write_text(LINE * (mb * (1 << 20) // len(LINE.encode()) + 1), encoding="utf-8")
    return path


def test_an_oversized_text_file_is_reported_with_its_size_and_the_fix(settings, tmp_path):
    arch = make_archive(tmp_path / "arch", n=2)
    big = big_text(arch / "huge.txt", 2)
    r = ingest(settings.replace(max_document_mb=1), [arch])
    assert (r.added, r.failed) == (2, 1)
    f = r.failures[0]
    assert f.path == str(big) and "2.0 MB" in f.reason and "1 MB limit" in f.reason
    assert "RAG_MAX_DOCUMENT_MB" in f.reason and "split" in f.reason


def test_the_size_is_checked_before_reading(tmp_path, monkeypatch):
    big = big_text(tmp_path / "huge.md", 2)
    monkeypatch.setattr("pathlib.Path.read_bytes", lambda self: (_ for _ in ()).throw(AssertionError("read")))
    [f] = load_file(big, max_bytes=1 << 20)
    assert isinstance(f, FileFailure) and "over the 1 MB limit" in f.reason


def test_a_gzipped_file_is_judged_by_its_unpacked_size(tmp_path):
    gz = tmp_path / "huge.txt.gz"
    gz.write_bytes(gzip.compress((LINE * 40000).encode()))
    [f] = load_file(gz, max_bytes=1 << 20)
    assert isinstance(f, FileFailure) and "over the 1 MB limit" in f.reason


def test_one_overlong_jsonl_record_is_reported_by_line_and_the_others_load(tmp_path):
    p = tmp_path / "dump.jsonl"
    recs = [{"id": "a", "text": LINE}, {"id": "big", "text": LINE * 30000}, {"id": "c", "text": LINE}]
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    out = list(load_file(p, max_bytes=1 << 20))
    assert [d.doc_id for d in out if isinstance(d, SourceDoc)] == ["a", "c"]
    [f] = [x for x in out if isinstance(x, FileFailure)]
    assert f.line == 2 and "record is over the 1 MB limit" in f.reason and "RAG_MAX_DOCUMENT_MB" in f.reason


def test_a_large_json_file_points_to_json_lines(tmp_path):
    p = tmp_path / "dump.json"
    p.write_text(json.dumps([{"text": LINE}] * 20000, ensure_ascii=False), encoding="utf-8")
    [f] = load_file(p, max_bytes=1 << 20)
    assert isinstance(f, FileFailure) and "JSON Lines" in f.reason


def test_the_limit_is_a_setting(settings):
    from rag.config import load_settings

    assert settings.max_document_mb == 10
    assert load_settings(env={"RAG_MAX_DOCUMENT_MB": "3"}, data_dir=settings.data_dir).max_document_mb == 3


def test_pdf_and_docx_files_are_bounded_before_parsing(tmp_path):
    import zipfile

    pdf = tmp_path / "huge.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + b"0" * (11 << 20))
    [f] = load_file(pdf, max_bytes=1 << 20)
    assert isinstance(f, FileFailure) and "over the 10 MB limit" in f.reason and "RAG_MAX_DOCUMENT_MB" in f.reason
    docx = tmp_path / "bomb.docx"
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b" " * (11 << 20))
    [f] = load_file(docx, max_bytes=1 << 20)
    assert isinstance(f, FileFailure) and "unpacked .docx is 11.0 MB" in f.reason


def test_a_pruned_files_stale_record_cannot_take_an_id_from_its_new_holder(settings, tmp_path):
    from tests.ingest.test_doc_ids import OTHER, doc_row, write_jsonl

    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "text": LINE * 3}])
    ingest(settings, [a.parent])
    a.unlink()
    ingest(settings, [a.parent], prune=True)
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "x1", "text": OTHER}])
    assert ingest(settings, [b.parent]).added == 1
    write_jsonl(a, [{"id": "x1", "text": LINE * 3}])
    r = ingest(settings, [a.parent])
    assert r.failed == 0 and [(n.line, n.doc_id) for n in r.notices] == [(1, "a.jsonl#x1")]
    assert doc_row(settings, "x1")[1] == str(b.resolve())
