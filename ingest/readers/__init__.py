"""Files -> raw SourceDocs, one reader per format; a bad file is a FileFailure, never a crash.

Each reader takes (path as given, resolved path) and returns one SourceDoc, or for record formats
yields one per record. Boilerplate and metadata found inside the text are ingest.clean's job; what
a format states explicitly (record fields, HTML metadata, a folder's manifest.jsonl) is taken here.
"""
from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.readers import docx, html, pdf, records, text
from ingest.readers.base import DEFAULT_MAX_BYTES, LoadError, Result, too_large
from ingest.readers.manifest import is_sidecar, with_manifest
from rag.errors import BadDocumentError
from rag.text import lexicon
from rag.types import FileFailure

# Suffix -> reader, in the order the "unsupported file type" message lists them.
READERS: dict[str, Callable] = {
    ".txt": text.read_txt, ".md": text.read_md, ".html": html.read_html, ".htm": html.read_html,
    ".pdf": pdf.read_pdf, ".docx": docx.read_docx, ".json": records.read_json,
    ".jsonl": records.read_jsonl, ".json.gz": records.read_json, ".jsonl.gz": records.read_jsonl,
    ".txt.gz": text.read_txt,
}
SUPPORTED_SUFFIXES = tuple(READERS)
# Record formats yield many documents, each complete in itself (no manifest, no whole-file check).
RECORD_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
# JSON Lines are read a record at a time; PDF and Word files are containers, judged by their text.
STREAMED_SUFFIXES = (".jsonl", ".jsonl.gz")
PACKAGED_SUFFIXES = (".pdf", ".docx")
# A PDF or Word file holds layout, fonts and images besides its text: it may be this many times
# the text limit (as a PDF file, or as a .docx unpacked) before it is refused unread.
PACKAGE_FACTOR = 10
_LONGEST_FIRST = sorted(SUPPORTED_SUFFIXES, key=len, reverse=True)
# A folder's own documentation is not part of the archive (a file named explicitly still is).
_FOLDER_DOCS = re.compile(
    rf"^(?:{'|'.join(map(re.escape, lexicon.words('folder_docs')))})(\.[a-z]+)?$", re.I)


def suffix_of(path: Path) -> str:
    """The supported (possibly compound) suffix of `path`, "" when unsupported."""
    name = path.name.lower()
    return next((s for s in _LONGEST_FIRST if name.endswith(s)), "")


def discover(paths: Sequence[Path], *, follow_symlinks: bool = False,
             skipped: list[FileFailure] | None = None) -> list[Path]:
    """Supported files under `paths` (folders recursively), sorted; hidden entries skipped.

    A file named explicitly is kept even if unsupported, so load_file can say why it is skipped.
    Manifest sidecars are metadata, not documents, and README/LICENSE files in folders are the
    folder's documentation: both are left out. Inside a folder, a link to a file outside it is not
    followed unless `follow_symlinks` (it could name /etc/hostname), and a dangling link is not a
    file: both are added to `skipped` with the reason, when given.
    """
    found: set[Path] = set()
    for root in map(Path, paths):
        if not root.exists():
            raise BadDocumentError(str(root), "no such file or folder; check the path")
        if root.is_file():
            if not is_sidecar(root.resolve()):
                found.add(root)
            continue
        inside = root.resolve()
        for p in root.rglob("*"):
            rel = p.relative_to(root).parts
            if any(part.startswith(".") for part in rel) or not suffix_of(p) or _FOLDER_DOCS.match(p.name):
                continue
            if why := _link_problem(p, inside, follow_symlinks):
                if skipped is not None:
                    skipped.append(FileFailure(str(p), why))
                continue
            if p.is_file() and not is_sidecar(p.resolve()):
                found.add(p)
    return sorted(found)


def _link_problem(p: Path, inside: Path, follow: bool) -> str:
    """Why a path found in a folder is not read through its links ("" when it is fine)."""
    target = p.resolve()
    if p.is_symlink() and not target.exists():
        return f"a symbolic link to {target}, which does not exist; fix or remove the link"
    if not follow and target != p.absolute() and not target.is_relative_to(inside):
        return (f"a symbolic link to {target}, outside the folder, so not followed; "
                "use `rag ingest --follow-symlinks` to include it")
    return ""


def load_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Result:
    """SourceDocs read from `path` (several for JSON/JSONL), or FileFailures saying why not.

    No document over `max_bytes` is read whole: text files are checked before reading, JSON Lines
    record by record, and PDF/Word by the text they yield.
    """
    path = Path(path)
    where = str(path)
    suffix = suffix_of(path)
    try:
        if not suffix:
            raise LoadError(f"unsupported file type; supported: {', '.join(SUPPORTED_SUFFIXES)}")
        if not path.is_file():
            raise LoadError("not a readable file; check the path")
        resolved = path.resolve()
        if is_sidecar(resolved):
            return
        if path.stat().st_size == 0:
            raise LoadError("empty file; remove it or add its text")
        if suffix in STREAMED_SUFFIXES:
            yield from READERS[suffix](path, resolved, max_bytes)
            return
        if suffix in PACKAGED_SUFFIXES:
            _check_package(path, max_bytes * PACKAGE_FACTOR, suffix)
        else:
            _check_size(path, max_bytes, suffix)
        if suffix in RECORD_SUFFIXES:
            yield from READERS[suffix](path, resolved)
            return
        doc = READERS[suffix](path, resolved)
        if len(doc.text) > max_bytes // 2 and len(doc.text.encode("utf-8")) > max_bytes:
            raise too_large(len(doc.text.encode("utf-8")), max_bytes, "its text")
    except LoadError as bad:
        yield FileFailure(where, str(bad))
        return
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        yield FileFailure(where, f"could not read the file ({err}); check it is complete")
        return
    except Exception as err:  # noqa: BLE001 - a parser's surprise must not stop an ingest run
        yield FileFailure(where, f"could not be parsed ({type(err).__name__}: {err}); re-save or remove it")
        return
    if not doc.text.strip():
        yield FileFailure(where, "no text found in the file; remove it or add its text")
        return
    yield with_manifest(doc, resolved)


def _check_size(path: Path, limit: int, suffix: str) -> None:
    """Refuse a file whose text would be over `limit`, before reading it (gzip: counted unpacked)."""
    size = path.stat().st_size if not suffix.endswith(".gz") else _gunzipped_size(path, limit)
    if size > limit:
        fix = ("save the records as JSON Lines (.jsonl: read one record at a time)"
               if suffix in RECORD_SUFFIXES else "split the file into smaller ones")
        raise too_large(size if not suffix.endswith(".gz") else None, limit, "the file's text", fix)


def _check_package(path: Path, limit: int, suffix: str) -> None:
    """Refuse a PDF over `limit` bytes, or a .docx (a zip) that unpacks to more, before parsing."""
    size = path.stat().st_size
    if suffix == ".docx":
        try:
            with zipfile.ZipFile(path) as zf:
                size = sum(i.file_size for i in zf.infolist())
        except (zipfile.BadZipFile, OSError):
            return  # the reader says what is wrong with it
    if size > limit:
        raise too_large(size, limit, "the file" if suffix == ".pdf" else "the unpacked .docx",
                        "split the document into smaller ones")


def _gunzipped_size(path: Path, limit: int) -> int:
    """Bytes a .gz file unpacks to, counted in blocks and only up to just past `limit`."""
    size = 0
    with gzip.open(path, "rb") as fh:
        while size <= limit and (block := fh.read(1 << 20)):
            size += len(block)
    return size


__all__ = ["LoadError", "READERS", "SUPPORTED_SUFFIXES", "discover", "load_file", "suffix_of"]
