"""Web pages (.html, .htm): the main text only, without menus and footers, plus page metadata.

trafilatura finds the article in a page; its XML keeps headings (sections) and the page's title,
date, author and site. ingest.clean calls html_to_doc too, for a SourceDoc whose text is still raw HTML (raw_html).
"""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from ingest.readers.base import LoadError
from ingest.readers.document import assemble, file_doc
from ingest.readers.encoding import decode, read_bytes
from rag.text.dates import parse_arabic_date
from rag.types import SourceDoc

# libxml2 stops building the tree at this nesting depth unless asked for a "huge" tree, so
# trafilatura (which parses without that flag) sees no text below it.
LIBXML_MAX_DEPTH = 255
_NO_TEXT = "no main text found in the HTML page; check it is an article, not a menu or index"


def html_to_doc(html: str, resolved: Path) -> SourceDoc:
    """Main text of a web page (trafilatura), headings as sections, its title/date/author."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(html, output_format="xml", with_metadata=True, favor_recall=True)
    if not xml:
        xml = _deep_page_xml(html)
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


def _deep_page_xml(html: str) -> str:
    """A page nested deeper than libxml2's limit: trafilatura on a tree parsed with the larger
    "huge" limit (2048), else its paragraphs and headings as they stand (any depth). A shallow
    page really had no main text."""
    import trafilatura
    from lxml import html as lxml_html

    try:
        tree = lxml_html.document_fromstring(html, parser=lxml_html.HTMLParser(huge_tree=True))
    except (ValueError, SyntaxError):  # lxml's ParserError (empty document) is a ValueError
        raise LoadError(_NO_TEXT) from None
    if _depth(tree) <= LIBXML_MAX_DEPTH:
        raise LoadError(_NO_TEXT)
    xml = trafilatura.extract(tree, output_format="xml", with_metadata=True, favor_recall=True)
    return xml or _blocks_xml(html, " ".join((tree.findtext(".//title") or "").split()))


def _depth(tree) -> int:
    depth = {tree: 0}
    for el in tree.iterdescendants():
        depth[el] = depth[el.getparent()] + 1
    return max(depth.values())


class _Blocks(HTMLParser):
    """Paragraph and heading texts of a page at any depth (the stdlib parser keeps no tree)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self._tag, self._text = "", []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _BLOCK_TAGS:
            self._close()
            self._tag = tag

    def handle_endtag(self, tag) -> None:
        if tag == self._tag:
            self._close()

    def handle_data(self, data) -> None:
        if self._tag:
            self._text.append(data)

    def _close(self) -> None:
        text = " ".join("".join(self._text).split())
        if self._tag and text:
            self.blocks.append(("p" if self._tag == "p" else "head", text))
        self._tag, self._text = "", []


_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}


def _blocks_xml(html: str, title: str) -> str:
    """A deep page's <p> and <h1>-<h6> texts, in the XML shape trafilatura gives."""
    from lxml import etree

    parser = _Blocks()
    parser.feed(html)
    parser.close()
    parser._close()
    if not parser.blocks:
        raise LoadError(_NO_TEXT)
    doc = etree.Element("doc", title=title)
    main = etree.SubElement(doc, "main")
    for tag, text in parser.blocks:
        etree.SubElement(main, tag).text = text
    return etree.tostring(doc, encoding="unicode")


def read_html(path: Path, resolved: Path) -> SourceDoc:
    return html_to_doc(decode(read_bytes(path)), resolved)
