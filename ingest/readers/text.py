"""Plain text (.txt, .txt.gz) and Markdown: decoded text; Markdown headings become sections.

Markdown's first level-1 heading is the title; inline links, images and emphasis keep only their
words, so the body reads as prose for cleaning and chunking.
"""
from __future__ import annotations

import re
from pathlib import Path

from ingest.readers.document import assemble, file_doc
from ingest.readers.encoding import decode, fold_forms, read_bytes
from rag.types import SourceDoc

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_INLINE = [(re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"), (re.compile(r"(\*\*|__|`)"), "")]


def read_txt(path: Path, resolved: Path) -> SourceDoc:
    return file_doc(resolved, decode(read_bytes(path)))


def read_md(path: Path, resolved: Path) -> SourceDoc:
    title, blocks, para = "", [], []
    for line in fold_forms(decode(read_bytes(path))).split("\n"):
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
    text, sections = assemble(blocks)
    return file_doc(resolved, text, title=title, sections=sections)
