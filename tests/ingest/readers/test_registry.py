"""The registry: discovery, dispatch by suffix, and bad files reported among good ones."""
import gzip

import pytest

from ingest.readers import READERS, SUPPORTED_SUFFIXES, discover, load_file
from rag.errors import BadDocumentError
from rag.types import FileFailure, SourceDoc
from tests.ingest.readers.support import ARTICLE, failures, load


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


def test_every_suffix_has_a_reader():
    assert set(READERS) == set(SUPPORTED_SUFFIXES) and len(SUPPORTED_SUFFIXES) == len(READERS)


# Content no reader of that suffix can use: each must come back as a failure naming the file.
BAD = {
    ".txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    ".md": b"\x00\x01\x02 binary",
    ".html": b"\x00\x01\x02 binary",
    ".htm": "مرحبا".encode() + b"\x01\x02\x03" * 10,
    ".pdf": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog",
    ".docx": b"PK\x03\x04 not really a zip",
    ".json": b"{",
    ".jsonl": b"not json\n",
    ".json.gz": b"not gzip",
    ".jsonl.gz": gzip.compress(b"[1]\n"),
    ".txt.gz": b"not gzip",
}


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_each_reader_reports_a_bad_file_by_name(tmp_path, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(BAD[suffix])
    out = list(load_file(path))
    assert out and all(isinstance(f, FileFailure) for f in out), out
    for failure in out:
        assert failure.path == str(path) and failure.reason
        assert str(failure).startswith(str(path))
