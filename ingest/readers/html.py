"""Web pages (.html, .htm): the main text only, without menus and footers, plus page metadata.

trafilatura finds the article in a page; its XML keeps headings (sections) and the page's title,
date, author and site. ingest.clean calls html_to_doc too, for a SourceDoc whose text is still raw HTML (raw_html).
"""
from __future__ import annotations

from pathlib import Path

from ingest.readers.base import LoadError
from ingest.readers.document import assemble, file_doc
from ingest.readers.encoding import decode, read_bytes
from rag.text.dates import parse_arabic_date
from rag.types import SourceDoc


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
    text, sections = assemble(blocks)
    return file_doc(resolved, text, title=title, author=root.get("author") or "",
                    date=parse_arabic_date(root.get("date") or ""),
                    source=root.get("sitename") or "", url=root.get("source") or "",
                    sections=sections)


def read_html(path: Path, resolved: Path) -> SourceDoc:
    return html_to_doc(decode(read_bytes(path)), resolved)
