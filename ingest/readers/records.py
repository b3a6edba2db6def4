"""JSON and JSON Lines (also gzipped): one SourceDoc per record, fields mapped to our metadata.

Dumps use many field names for the same thing (text/body/content, id/docno/context_id, time/date);
the first present wins. A record keeps its own id when it has one, so gold contexts keep the ids
evaluations refer to. JSON Lines are streamed, so a 31k-record dump is never held whole, and a bad
line is reported with its number while the other lines still load.
"""
from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.readers.base import DEFAULT_MAX_BYTES, LoadError, Result, too_large
from ingest.readers.document import sha16
from ingest.readers.encoding import decode, fold_forms, read_bytes
from rag.text.dates import parse_arabic_date
from rag.types import FileFailure, SourceDoc

ID_FIELDS = ("id", "doc_id", "context_id", "docno")
TEXT_FIELDS = ("text", "body", "content", "article")


def record_doc(rec: dict, resolved: Path, line: int) -> SourceDoc:
    """A JSON record -> SourceDoc; its own id when it has one (gold contexts: context_id)."""
    text = next((rec[f] for f in TEXT_FIELDS if isinstance(rec.get(f), str) and rec[f].strip()), None)
    if text is None:
        raise LoadError(f"record has no text (expected one of the fields {', '.join(TEXT_FIELDS)}); "
                        "add it or remove the record")
    own = next((str(rec[f]) for f in ID_FIELDS if rec.get(f) not in (None, "")), "")
    doc_id = own or sha16(f"{resolved}#{line}")

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
        keywords=tuple(str(k) for k in keywords if k), line=line,
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


def read_jsonl(path: Path, resolved: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Result:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        for line, raw in _bounded_lines(fh, max_bytes):
            if raw is None:
                yield FileFailure(str(path), str(too_large(None, max_bytes, "the record",
                                                           "split it into several records")), line)
                continue
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as err:
                yield FileFailure(str(path), f"line is not valid UTF-8 JSON ({err}); fix or remove the line", line)
                continue
            yield from _records([(line, rec)], path, resolved)


def _bounded_lines(fh, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; None for a line over `limit` bytes, skipped without being
    held whole, so one huge record costs no more memory than a small one."""
    line = 0
    while raw := fh.readline(limit + 1):
        line += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(1 << 20)
            yield line, None
        else:
            yield line, raw


def read_json(path: Path, resolved: Path) -> Result:
    """A record, a list of records, or an object holding the list (e.g. {"items": [...]})."""
    try:
        data = json.loads(decode(read_bytes(path)))
    except ValueError as err:
        raise LoadError(f"not valid JSON ({err}); fix the file or save records as JSON Lines") from None
    if isinstance(data, dict) and not any(f in data for f in TEXT_FIELDS):
        data = next((v for v in data.values() if isinstance(v, list)), data)
    items = data if isinstance(data, list) else [data]
    yield from _records(enumerate(items, 1), path, resolved)
