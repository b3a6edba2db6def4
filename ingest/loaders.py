"""Files -> raw SourceDocs, one reader per format; a bad file is a FileFailure, never a crash.

Text is decoded whatever the encoding archives were saved in (UTF-8/16, Windows-1256), Arabic
presentation forms left by PDF extraction are folded to base letters, and JSON Lines are
streamed so a 31k-record dump is never held whole. Boilerplate and metadata found inside the text
are ingest.clean's job; what a format states explicitly (record fields, HTML metadata, a folder's
manifest.jsonl sidecar) is taken here.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from rag.text.dates import parse_arabic_date
from rag.errors import BadDocumentError
from rag.types import FileFailure, SourceDoc

SUPPORTED_SUFFIXES = (
    ".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".json", ".jsonl",
    ".json.gz", ".jsonl.gz", ".txt.gz",
)
MANIFEST_NAME = "manifest.jsonl"
# A folder's own documentation is not part of the archive (a file named explicitly still is).
_FOLDER_DOCS = re.compile(r"^(readme|license|licence|changelog)(\.[a-z]+)?$", re.I)
ID_FIELDS = ("id", "doc_id", "context_id", "docno")
TEXT_FIELDS = ("text", "body", "content", "article")

Result = Iterator["SourceDoc | FileFailure"]


class LoadError(Exception):
    """A reader's way to say 'this file cannot be used, and here is why'."""


# --- discovery ---------------------------------------------------------------------------


def suffix_of(path: Path) -> str:
    """The supported (possibly compound) suffix of `path`, "" when unsupported."""
    name = path.name.lower()
    return next((s for s in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True) if name.endswith(s)), "")


def discover(paths: Sequence[Path]) -> list[Path]:
    """Supported files under `paths` (folders recursively), sorted; hidden entries skipped.

    A file named explicitly is kept even if unsupported, so load_file can say why it is skipped.
    Manifest sidecars are metadata, not documents, and README/LICENSE files in folders are the
    folder's documentation: both are left out.
    """
    found: set[Path] = set()
    for root in map(Path, paths):
        if not root.exists():
            raise BadDocumentError(str(root), "no such file or folder; check the path")
        if root.is_file():
            if not _sidecar(root.resolve()):
                found.add(root)
            continue
        for p in root.rglob("*"):
            rel = p.relative_to(root).parts
            if any(part.startswith(".") for part in rel) or not p.is_file():
                continue
            if suffix_of(p) and not _FOLDER_DOCS.match(p.name) and not _sidecar(p.resolve()):
                found.add(p)
    return sorted(found)


# --- entry point -------------------------------------------------------------------------


def load_file(path: Path) -> Result:
    """SourceDocs read from `path` (several for JSON/JSONL), or FileFailures saying why not."""
    path = Path(path)
    where = str(path)
    suffix = suffix_of(path)
    try:
        if not suffix:
            raise LoadError(f"unsupported file type; supported: {', '.join(SUPPORTED_SUFFIXES)}")
        if not path.is_file():
            raise LoadError("not a readable file; check the path")
        resolved = path.resolve()
        if _sidecar(resolved):
            return
        if path.stat().st_size == 0:
            raise LoadError("empty file; remove it or add its text")
        if suffix in (".jsonl", ".jsonl.gz"):
            yield from _jsonl(path, resolved)
            return
        if suffix in (".json", ".json.gz"):
            yield from _json(path, resolved)
            return
        doc = _READERS[suffix](path, resolved)
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
    yield _with_manifest(doc, resolved)


def _file_doc(resolved: Path, text: str, **meta) -> SourceDoc:
    key = str(resolved)
    return SourceDoc(doc_id=_sha16(key), key=key, path=key, text=fold_forms(text), **meta)


def _sha16(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:16]


# --- text and encodings ------------------------------------------------------------------

_FORMS = re.compile(r"[\uFB50-\uFDFF\uFE70-\uFEFF]+")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_LETTER = re.compile(r"[^\W\d_]")
_CONTROL = re.compile(r"[\x00-\x08\x0B\x0E-\x1F\x7F]")


def fold_forms(text: str) -> str:
    """Presentation forms (PDF extraction) -> base letters; line ends unified; BOMs dropped."""
    text = _FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")


def _arabic_share(text: str) -> float:
    letters = len(_LETTER.findall(text))
    return len(_ARABIC.findall(text)) / letters if letters else 0.0


def decode(data: bytes) -> str:
    """Bytes -> text: BOMs first, then UTF-8, then detection that favours Arabic (cp1256).

    charset-normalizer may rank a Latin code page first for cp1256 bytes; a candidate that reads
    as Arabic wins, since that is what this archive holds.
    """
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                     (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _check_text(data.decode(enc))
            except UnicodeDecodeError as err:
                raise LoadError(f"broken {enc} text ({err.reason}); re-save it as UTF-8") from None
    if b"\x00" in data[:4096]:
        raise LoadError("binary data, not text (wrong file extension?); rename it to its real type or remove it")
    try:
        return _check_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    candidates = [str(m) for m in from_bytes(data)]
    try:
        candidates.append(data.decode("cp1256"))
    except UnicodeDecodeError:
        pass
    if not candidates:
        raise LoadError("unknown text encoding (or binary data); re-save it as UTF-8")
    best = next((c for c in candidates if _arabic_share(c) >= 0.5), candidates[0])
    return _check_text(best)


def _check_text(text: str) -> str:
    if len(_CONTROL.findall(text)) > max(2, len(text) // 100):
        raise LoadError("binary data, not text (wrong file extension?); rename it to its real type or remove it")
    return text


def _read_bytes(path: Path) -> bytes:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


# --- readers for one-document formats ------------------------------------------------------


def _assemble(blocks: Iterable[tuple[str, bool]]) -> tuple[str, tuple[tuple[int, str], ...]]:
    """(text, is_heading) blocks -> paragraphs joined by blank lines + (offset, heading) sections."""
    parts: list[str] = []
    sections: list[tuple[int, str]] = []
    pos = 0
    for text, heading in blocks:
        text = " ".join(text.split()) if heading else text.strip()
        if not text:
            continue
        if heading:
            if sections and sections[-1][0] == pos:
                sections.pop()
            sections.append((pos, text))
        else:
            parts.append(text)
            pos += len(text) + 2
    return "\n\n".join(parts), tuple(s for s in sections if s[0] < pos)


def _txt(path: Path, resolved: Path) -> SourceDoc:
    return _file_doc(resolved, decode(_read_bytes(path)))


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_INLINE = [(re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"), (re.compile(r"(\*\*|__|`)"), "")]


def _md(path: Path, resolved: Path) -> SourceDoc:
    title, blocks, para = "", [], []
    for line in fold_forms(decode(_read_bytes(path))).split("\n"):
        for pattern, repl in _MD_INLINE:
            line = pattern.sub(repl, line)
        m = _MD_HEADING.match(line)
        if m or not line.strip():
            blocks.append((" ".join(para), False))
            para = []
        if m and len(m.group(1)) == 1 and not title:
            title = m.group(2)
        elif m:
            blocks.append((m.group(2), True))
        elif line.strip():
            para.append(line.strip())
    blocks.append((" ".join(para), False))
    text, sections = _assemble(blocks)
    return _file_doc(resolved, text, title=title, sections=sections)


def html_to_doc(html: str, resolved: Path) -> SourceDoc:
    """Main text of a web page (trafilatura), headings as sections, its title/date/author."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(html, output_format="xml", with_metadata=True, favor_recall=True)
    if not xml:
        raise LoadError("no main text found in the HTML page; check it is an article, not a menu or index")
    root = etree.fromstring(xml.encode("utf-8"))
    title = root.get("title") or ""
    blocks = []
    for el in root.find("main") if root.find("main") is not None else root:
        text = " ".join("".join(el.itertext()).split())
        if el.tag == "head" and text != title:
            blocks.append((text, True))
        elif el.tag == "list":
            blocks.extend((" ".join("".join(i.itertext()).split()), False) for i in el.iter("item"))
        elif el.tag != "head":
            blocks.append((text, False))
    text, sections = _assemble(blocks)
    return _file_doc(resolved, text, title=title, author=root.get("author") or "",
                     date=parse_arabic_date(root.get("date") or ""),
                     source=root.get("sitename") or "", url=root.get("source") or "",
                     sections=sections)


def _html(path: Path, resolved: Path) -> SourceDoc:
    return html_to_doc(decode(_read_bytes(path)), resolved)


_SENTENCE_END = re.compile(r"[.!?؟:؛»\"”)]\s*$")


def _reflow(page: str) -> list[str]:
    """PDF lines -> paragraphs: a line ends its paragraph at a sentence end or when clearly short."""
    lines = [ln.strip() for ln in page.split("\n")]
    width = max((len(ln) for ln in lines), default=0)
    paras, cur = [], []
    for ln in lines:
        if not ln:
            paras.append(" ".join(cur))
            cur = []
            continue
        cur.append(ln)
        if _SENTENCE_END.search(ln) or len(ln) < 0.6 * width:
            paras.append(" ".join(cur))
            cur = []
    paras.append(" ".join(cur))
    return [p for p in paras if p]


def _pdf(path: Path, resolved: Path) -> SourceDoc:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("the PDF is password-protected; save an unprotected copy")
        pages = [fold_forms(p.extract_text() or "") for p in reader.pages]
        meta = reader.metadata or {}
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise LoadError(f"not a readable PDF ({type(err).__name__}: {err}); re-export or re-download it") from None
    text = "\n\n".join(p for page in pages for p in _reflow(page))
    if not text.strip():
        raise LoadError("the PDF has no text layer (scanned images?); run OCR on it first")
    return _file_doc(resolved, text, title=str(meta.get("/Title") or ""),
                     author=str(meta.get("/Author") or ""))


def _docx(path: Path, resolved: Path) -> SourceDoc:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as err:
        raise LoadError(f"not a readable .docx ({err}); re-save it from Word as .docx") from None
    title, blocks = "", []
    for p in document.paragraphs:
        style = (p.style.name if p.style is not None else "") or ""
        if style == "Title" and not title:
            title = p.text.strip()
        else:
            blocks.append((p.text, style.startswith("Heading")))
    for table in document.tables:
        blocks.extend((" | ".join(c.text.strip() for c in row.cells), False) for row in table.rows)
    text, sections = _assemble(blocks)
    props = document.core_properties
    return _file_doc(resolved, text, title=title or props.title or "", author=props.author or "",
                     sections=sections)


_READERS = {".txt": _txt, ".txt.gz": _txt, ".md": _md, ".html": _html, ".htm": _html,
            ".pdf": _pdf, ".docx": _docx}


# --- records (JSON, JSONL) -----------------------------------------------------------------


def record_doc(rec: dict, resolved: Path, line: int) -> SourceDoc:
    """A JSON record -> SourceDoc; its own id when it has one (gold contexts: context_id)."""
    text = next((rec[f] for f in TEXT_FIELDS if isinstance(rec.get(f), str) and rec[f].strip()), None)
    if text is None:
        raise LoadError(f"record has no text (expected one of the fields {', '.join(TEXT_FIELDS)}); "
                   "add it or remove the record")
    own = next((str(rec[f]) for f in ID_FIELDS if rec.get(f) not in (None, "")), "")
    doc_id = own or _sha16(f"{resolved}#{line}")

    def field(*names: str) -> str:
        value = next((rec[n] for n in names if rec.get(n)), "")
        return "، ".join(map(str, value)) if isinstance(value, list) else str(value)

    keywords = rec.get("keywords") or rec.get("tags") or ()
    if isinstance(keywords, str):
        keywords = re.split(r"\s*[،,]\s*", keywords)
    return SourceDoc(
        doc_id=doc_id, key=f"{resolved}#{doc_id}", path=str(resolved), text=fold_forms(text),
        title=fold_forms(field("title", "headline")), date=parse_arabic_date(field("date", "time", "published")),
        author=field("author", "authors", "writer"), publisher=field("publisher"),
        source=field("source", "src", "site"), url=field("url", "link"),
        keywords=tuple(str(k) for k in keywords if k),
    )


def _records(items: Iterable[tuple[int, object]], path: Path, resolved: Path) -> Result:
    for line, rec in items:
        if not isinstance(rec, dict):
            yield FileFailure(str(path), "record is not a JSON object; each record must be {...}", line)
            continue
        try:
            yield record_doc(rec, resolved, line)
        except LoadError as bad:
            yield FileFailure(str(path), str(bad), line)


def _jsonl(path: Path, resolved: Path) -> Result:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        for line, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as err:
                yield FileFailure(str(path), f"line is not valid UTF-8 JSON ({err}); fix or remove the line", line)
                continue
            yield from _records([(line, rec)], path, resolved)


def _json(path: Path, resolved: Path) -> Result:
    try:
        data = json.loads(decode(_read_bytes(path)))
    except ValueError as err:
        raise LoadError(f"not valid JSON ({err}); fix the file or save records as JSON Lines") from None
    if isinstance(data, dict) and not any(f in data for f in TEXT_FIELDS):
        data = next((v for v in data.values() if isinstance(v, list)), data)
    items = data if isinstance(data, list) else [data]
    yield from _records(enumerate(items, 1), path, resolved)


# --- manifest sidecars ----------------------------------------------------------------------


def _sidecar(resolved: Path) -> bool:
    """True for a manifest.jsonl whose records name files (metadata, not documents)."""
    if resolved.name != MANIFEST_NAME:
        return False
    try:
        return _sidecar_at(resolved, resolved.stat().st_mtime)
    except OSError:
        return False


@lru_cache(maxsize=256)
def _sidecar_at(resolved: Path, mtime: float) -> bool:
    try:
        with open(resolved, "rb") as fh:
            first = next((ln for ln in fh if ln.strip()), b"")
        rec = json.loads(first.decode("utf-8-sig"))
    except (OSError, ValueError):
        return False
    return isinstance(rec, dict) and "file" in rec


@lru_cache(maxsize=64)
def _manifest(folder: Path, mtime: float) -> dict[Path, dict]:
    entries: dict[Path, dict] = {}
    with open(folder / MANIFEST_NAME, "rb") as fh:
        for raw in fh:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("file"):
                entries[(folder / rec["file"]).resolve()] = rec
    return entries


def _with_manifest(doc: SourceDoc, resolved: Path) -> SourceDoc:
    """Metadata a sidecar manifest in this or a parent folder gives for the file."""
    for folder in resolved.parents:
        candidate = folder / MANIFEST_NAME
        if candidate.is_file() and _sidecar(candidate):
            rec = _manifest(folder, candidate.stat().st_mtime).get(resolved)
            if rec is None:
                continue
            meta = {
                "title": rec.get("title") or doc.title,
                "date": parse_arabic_date(str(rec.get("date") or rec.get("date_raw") or "")) or doc.date,
                "source": rec.get("source") or doc.source,
                "url": rec.get("url") or doc.url,
                "author": rec.get("author") or doc.author,
                "publisher": rec.get("publisher") or doc.publisher,
            }
            return replace(doc, **{k: str(v) for k, v in meta.items()})
    return doc
