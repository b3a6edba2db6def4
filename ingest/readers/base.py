"""What every reader shares: the error it raises for an unusable file and the shape it yields.

A reader raises LoadError with a message for the person fixing the file; load_file turns it into a
FileFailure naming the file, so one bad file never stops an ingest run.
"""
from __future__ import annotations

from collections.abc import Iterator

from rag.types import FileFailure, SourceDoc

Result = Iterator["SourceDoc | FileFailure"]


class LoadError(Exception):
    """A reader's way to say 'this file cannot be used, and here is why'."""


DEFAULT_MAX_BYTES = 10 << 20  # Settings.max_document_mb's default, for callers without Settings


def too_large(size: int | None, limit: int, what: str = "the document",
              fix: str = "split the file into smaller ones") -> LoadError:
    """The error for input over the size limit: reading it whole would take many times its size.
    `size` None: known only to be over (a record skipped unread)."""
    mb = "" if size is None else f"{size / (1 << 20):.1f} MB, "
    return LoadError(f"{what} is {mb}over the {limit / (1 << 20):g} MB limit; "
                     f"{fix}, or raise RAG_MAX_DOCUMENT_MB")
