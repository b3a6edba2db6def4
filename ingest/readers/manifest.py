"""A folder's manifest.jsonl sidecar: metadata for the files it names, not a document itself.

News dumps ship their titles, dates and URLs beside the article files; a manifest in the file's
folder or any parent gives them, and its values win over what the reader found in the file.
"""
from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from rag.text.dates import parse_arabic_date
from rag.types import SourceDoc

MANIFEST_NAME = "manifest.jsonl"


def is_sidecar(resolved: Path) -> bool:
    """True for a manifest.jsonl whose records name files (metadata, not documents)."""
    if resolved.name != MANIFEST_NAME:
        return False
    try:
        return _sidecar_at(resolved, resolved.stat().st_mtime)
    except OSError:
        return False


# Both caches are per-process memos of pure reads keyed by path and mtime: every file loaded under
# a folder looks up the same manifest (5,000 files, one read), and an edited manifest has a new
# mtime, hence a new entry rather than a stale one.
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


def with_manifest(doc: SourceDoc, resolved: Path) -> SourceDoc:
    """Metadata a sidecar manifest in this or a parent folder gives for the file."""
    for folder in resolved.parents:
        candidate = folder / MANIFEST_NAME
        if candidate.is_file() and is_sidecar(candidate):
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
