"""PDF: the text layer, page lines reflowed into paragraphs, title and author from its metadata.

PDF text comes as fixed-width lines in presentation forms; forms are folded and lines rejoined so
paragraphs match what a reader sees. A PDF without a text layer is reported, not read as empty.
"""
from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.readers.base import LoadError
from ingest.readers.document import file_doc
from ingest.readers.encoding import fold_forms
from rag.types import SourceDoc

log = logging.getLogger(__name__)
_SENTENCE_END = re.compile(r"[.!?؟:؛»\"”)]\s*$")


def reflow(page: str) -> list[str]:
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


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _pypdf_messages() -> Iterator[list[str]]:
    """pypdf's log warnings and Python warnings while reading, collected instead of printed:
    otherwise a bare "EOF marker not found" reaches stderr without saying which file."""
    logger, handler = logging.getLogger("pypdf"), _Collect()
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield handler.messages
            handler.messages.extend(str(w.message) for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def read_pdf(path: Path, resolved: Path) -> SourceDoc:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with _pypdf_messages() as notes:
        try:
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                raise LoadError("the PDF is password-protected; save an unprotected copy")
            pages = [fold_forms(p.extract_text() or "") for p in reader.pages]
            meta = reader.metadata or {}
        except LoadError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as err:
            said = f"; pypdf: {'; '.join(dict.fromkeys(notes))}" if notes else ""
            raise LoadError(f"not a readable PDF ({type(err).__name__}: {err}{said}); "
                            "re-export or re-download it") from None
    for note in dict.fromkeys(notes):
        log.warning("%s: pypdf: %s (the text was read; re-export the PDF if it looks incomplete)", path, note)
    text = "\n\n".join(p for page in pages for p in reflow(page))
    if not text.strip():
        raise LoadError("the PDF has no text layer (scanned images?); run OCR on it first")
    return file_doc(resolved, text, title=str(meta.get("/Title") or ""),
                    author=str(meta.get("/Author") or ""))
