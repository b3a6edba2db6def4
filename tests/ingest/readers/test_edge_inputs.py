"""Inputs that once went wrong quietly: links out of the folder, BOM-less UTF-16, deep HTML, and
pypdf's own messages, which must name the file."""
import logging
import os
import re

import pytest

from ingest.readers import discover, load_file
from rag.types import FileFailure
from tests.ingest.readers.support import ARTICLE, BODY, TITLE, docs, failures
from tests.ingest.readers.test_pdf import _pdf_bytes


def test_a_link_out_of_the_folder_is_reported_not_followed_unless_asked(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text(ARTICLE, encoding="utf-8")
    folder = tmp_path / "arch"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    os.symlink(outside, folder / "leak.txt")
    os.symlink(folder / "a.txt", folder / "alias.txt")  # inside the folder: fine
    os.symlink(tmp_path / "gone.txt", folder / "dangling.txt")
    skipped = []
    assert discover([folder], skipped=skipped) == [folder / "a.txt", folder / "alias.txt"]
    why = {os.path.basename(f.path): f.reason for f in skipped}
    assert set(why) == {"leak.txt", "dangling.txt"}
    assert "outside the folder" in why["leak.txt"] and "--follow-symlinks" in why["leak.txt"]
    assert "does not exist" in why["dangling.txt"] and str(tmp_path / "gone.txt") in why["dangling.txt"]
    skipped = []
    assert folder / "leak.txt" in discover([folder], follow_symlinks=True, skipped=skipped)
    assert [os.path.basename(f.path) for f in skipped] == ["dangling.txt"]


def test_the_pipeline_reports_the_links_it_does_not_follow(settings, tmp_path):
    from tests.ingest.test_pipeline import ingest, make_archive

    arch = make_archive(tmp_path / "arch", n=1)
    (tmp_path / "hostname.txt").write_text(ARTICLE, encoding="utf-8")
    os.symlink(tmp_path / "hostname.txt", arch / "host.txt")
    r = ingest(settings, [arch])
    assert (r.added, r.failed) == (1, 1) and r.failures[0].path == str(arch / "host.txt")
    assert ingest(settings, [arch], follow_symlinks=True).added == 1


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_utf16_without_a_bom_is_text_not_binary(tmp_path, encoding):
    p = tmp_path / f"{encoding}.txt"
    p.write_bytes(ARTICLE.encode(encoding))
    [doc] = docs(p)
    assert TITLE in doc.text and BODY in doc.text


def test_binary_data_is_still_binary(tmp_path):
    p = tmp_path / "blob.txt"
    p.write_bytes(bytes(range(256)) * 8)
    assert "binary data" in failures(p)[0].reason


def _deep(depth: int) -> str:
    return (f"<html><head><title>{TITLE}</title></head><body>" + "<div>" * depth
            + f"<h2>الخلفية</h2><p>{BODY} {BODY}</p>" + "</div>" * depth + "</body></html>")


@pytest.mark.parametrize("depth", [300, 3000])
def test_text_nested_deeper_than_libxml2s_limit_is_found(tmp_path, depth):
    p = tmp_path / "deep.html"
    p.write_text(_deep(depth), encoding="utf-8")
    [doc] = docs(p)
    assert BODY in doc.text and doc.title == TITLE


def test_a_shallow_page_without_text_is_still_reported(tmp_path):
    p = tmp_path / "menu.html"
    p.write_text("<html><head><title>x</title></head><body><div><div></div></div></body></html>", encoding="utf-8")
    assert "no main text found" in failures(p)[0].reason


def _arabic_pdf() -> bytes:
    return _pdf_bytes([b"\x01\x02 \x03"], {1: "أمن", 2: "ي", 3: "الحدود"})


def test_pypdfs_messages_name_the_file_in_the_failure(tmp_path, capfd):
    p = tmp_path / "cut.pdf"
    p.write_bytes(_arabic_pdf()[:-60])
    [f] = load_file(p)
    assert isinstance(f, FileFailure) and "EOF marker not found" in f.reason and f.path == str(p)
    assert "EOF marker" not in capfd.readouterr().err


def test_pypdfs_warnings_on_a_readable_file_are_logged_naming_it(tmp_path, caplog, capfd):
    p = tmp_path / "badxref.pdf"
    p.write_bytes(re.sub(rb"startxref\n\d+", b"startxref\n10", _arabic_pdf()))  # pypdf repairs it
    with caplog.at_level(logging.WARNING):
        [doc] = docs(p)
    assert "الحدود" in doc.text
    notes = [r.getMessage() for r in caplog.records if r.name.startswith("ingest.")]
    assert notes and all(n.startswith(f"{p}: pypdf: ") for n in notes)
    assert any("incorrect startxref pointer" in n for n in notes)
    assert "incorrect startxref" not in capfd.readouterr().err
