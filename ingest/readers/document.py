"""Building a SourceDoc from what a reader found: ids from the resolved path, blocks -> paragraphs.

Ids follow the resolved path so the same file reached by two routes is one document; readers give
(text, is_heading) blocks so paragraphs and section offsets are built one way for every format.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from ingest.readers.encoding import fold_forms
from rag.types import SourceDoc


def sha16(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:16]


def file_doc(resolved: Path, text: str, **meta) -> SourceDoc:
    """The one document a file holds, keyed by its resolved path."""
    key = str(resolved)
    return SourceDoc(doc_id=sha16(key), key=key, path=key, text=fold_forms(text), **meta)


def assemble(blocks: Iterable[tuple[str, bool]]) -> tuple[str, tuple[tuple[int, str], ...]]:
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
