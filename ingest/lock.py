"""One writer per index: `rag ingest` holds an OS lock on <index dir>/ingest.lock while it writes.

Two ingests into one data dir would embed the same folder twice and interleave their writes. The
lock is fcntl.flock, so the kernel drops it when the holder exits or is killed: a stale lock file
never blocks anyone. The file holds the holder's pid and start time, only for the message the
second writer shows. Readers (search, ask, the app) never take it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import RagError

log = logging.getLogger(__name__)
LOCK_NAME = "ingest.lock"


class IngestLockedError(RagError):
    """Another process is ingesting into the same index (the message names it and the fix)."""


@contextmanager
def ingest_lock(index_dir: Path, *, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the index's write lock for the block; waits up to `wait_s`, then IngestLockedError."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, wait_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IngestLockedError(_held_message(path)) from None
            time.sleep(0.2)


def _held_message(path: Path) -> str:
    try:
        pid, since = path.read_text(encoding="utf-8").split()[:2]
        who = f"process {pid} (ingesting since {since})"
    except (OSError, ValueError):
        who = "another process"
    return (f"{who} is already ingesting into {path.parent}; wait for it to finish "
            "(or stop it) and run this again, or use another --data-dir")
