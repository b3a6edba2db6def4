"""The `rag ingest` progress bar: it counts documents, not files, so one 31k-record JSONL shows
how far it is and when it will end (tqdm's rate and ETA).

The total is estimated before the run: a JSONL file's non-empty lines, one document for any other
file (a JSON array counts as one until it is read, so the bar may then grow its total). Documents
a resumed run finds unchanged count as done: they are read again, quickly, and the ETA follows
the rate over the whole run.
"""
from __future__ import annotations

import gzip
import sys
from collections.abc import Sequence
from pathlib import Path


def estimate_documents(files: Sequence[Path]) -> int:
    """Documents the files will yield, cheaply: JSONL lines (also gzipped), else one per file."""
    total = 0
    for f in files:
        name = f.name.lower()
        if name.endswith((".jsonl", ".jsonl.gz")):
            try:
                with (gzip.open(f, "rb") if name.endswith(".gz") else open(f, "rb")) as fh:
                    total += sum(1 for line in fh if line.strip()) or 1
            except (OSError, EOFError):
                total += 1
        else:
            total += 1
    return total


class IngestBar:
    """tqdm over documents; `tick()` per document read, `file_done()` per file, `stats()` for
    the postfix. A no-op when not shown (not a terminal, --json, or the caller said no)."""

    def __init__(self, files: Sequence[Path], show: bool | None):
        if show is None:
            show = sys.stderr.isatty()
        self._bar = None
        if show and files:
            from tqdm import tqdm

            self._bar = tqdm(total=estimate_documents(files), unit="doc", desc="ingest", file=sys.stderr,
                             dynamic_ncols=True, smoothing=0.05)
        self._file_start = self._file_expected = 0

    def start_file(self, path: Path) -> None:
        if self._bar is not None:
            self._file_start, self._file_expected = self._bar.n, estimate_documents([path])

    def tick(self) -> None:
        if self._bar is not None:
            if self._bar.n >= self._bar.total:  # more documents than estimated (a JSON array)
                self._bar.total = self._bar.n + 1
            self._bar.update(1)

    def file_done(self) -> None:
        """Count the rest of the file's estimate as done (records that were not documents)."""
        if self._bar is not None:
            rest = self._file_start + self._file_expected - self._bar.n
            if rest > 0:
                self._bar.update(rest)

    def stats(self, chunks: int, failed: int) -> None:
        if self._bar is not None:
            self._bar.set_postfix(chunks=chunks, failed=failed, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
