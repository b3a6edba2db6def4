"""What every reader shares: the error it raises for an unusable file and the shape it yields.

A reader raises LoadError with a message for the person fixing the file; load_file turns it into a
FileFailure naming the file, so one bad file never stops an ingest run.
"""
from __future__ import annotations

from typing import Iterator

from rag.types import FileFailure, SourceDoc

Result = Iterator["SourceDoc | FileFailure"]


class LoadError(Exception):
    """A reader's way to say 'this file cannot be used, and here is why'."""
