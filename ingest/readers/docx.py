"""Word documents (.docx): paragraphs, Heading styles as sections, tables as rows, core properties.

The first paragraph styled Title is the title (else the document's properties); table rows are
kept as " | "-joined lines, so what a table says is searchable too.
"""
from __future__ import annotations

from pathlib import Path

from ingest.readers.base import LoadError
from ingest.readers.document import assemble, file_doc
from rag.types import SourceDoc


def read_docx(path: Path, resolved: Path) -> SourceDoc:
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
    text, sections = assemble(blocks)
    props = document.core_properties
    return file_doc(resolved, text, title=title or props.title or "", author=props.author or "",
                    sections=sections)
