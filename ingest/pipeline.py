"""run_ingest: files -> load -> clean -> chunk -> embed -> index, incremental and resumable.

Unchanged files are skipped on (size, mtime) and then on content hash, so a re-run embeds
nothing. Chunks are embedded in batches across documents for throughput; a file is marked
done only after all its documents are committed, so a killed run simply redoes that file.

A record keeps its own id as its doc id (evaluations find gold contexts by it) unless another
source's document has it: that one is kept and the record stored under an id scoped to its file,
with a notice naming file and line (ingest.ids). Each file's document keys are recorded, so even
an unchanged file whose document was replaced (as ingests before those checks allowed) is noticed
and repaired. One writer at a time holds the index's lock (ingest.lock).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunk import chunk_document
from ingest.clean import clean_document
from ingest.ids import Seen, assign_id
from ingest.lock import ingest_lock
from ingest.progress import IngestBar
from ingest.readers import discover, load_file
from rag.config import Settings
from rag.errors import BadDocumentError
from rag.index.store import Store
from rag.types import Chunk, FileFailure, IngestReport, SourceDoc

Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)


def embed_text(chunk: Chunk) -> str:
    """What the dense model sees: the passage with its title and section as context."""
    head = " — ".join(x for x in (chunk.title, chunk.section) if x)
    return f"{head}\n{chunk.text}" if head else chunk.text


def content_hash(doc: SourceDoc) -> str:
    payload = json.dumps(
        [doc.text, doc.title, doc.date, doc.author, doc.publisher, doc.source, doc.url, doc.sections],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class _Pending:
    items: list = field(default_factory=list)  # (doc, hash, chunks)
    files: list = field(default_factory=list)  # (path, size, mtime_ns, sha, doc keys) done once flushed
    n_chunks: int = 0


def run_ingest(
    settings: Settings,
    paths: Sequence[Path | str],
    *,
    prune: bool = False,
    rebuild: bool = False,
    embedder=None,
    store: Store | None = None,
    progress: Progress | None = None,
    show_progress: bool | None = None,
    follow_symlinks: bool = False,
    lock_wait_s: float = 0.0,
) -> IngestReport:
    """Ingest `paths` into the index, holding its write lock (IngestLockedError while another
    process holds it, after waiting up to `lock_wait_s`)."""
    index_dir = store.dir if store is not None else settings.index_dir
    with ingest_lock(index_dir, wait_s=lock_wait_s):
        return _run(settings, paths, prune=prune, rebuild=rebuild, embedder=embedder, store=store,
                    progress=progress, show_progress=show_progress, follow_symlinks=follow_symlinks)


def _run(settings, paths, *, prune, rebuild, embedder, store, progress, show_progress,
         follow_symlinks) -> IngestReport:
    t0 = time.perf_counter()
    if embedder is None:
        from rag.index.embeddings import get_embedder

        embedder = get_embedder(settings)
    store = store or Store(settings, embedder, rebuild=rebuild)
    store.check_manifest(store.expected_manifest(), writing=True)
    store.index_sentences()  # an index from before the sentence index (rag.index.boilerplate)
    store.index_clusters()  # ... or from before wire-copy clusters (rag.index.cluster)
    report = IngestReport()

    files: list[tuple[Path, str]] = []  # (file, its name relative to what was ingested)
    for p in map(Path, paths):
        try:
            found = discover([p], follow_symlinks=follow_symlinks, skipped=report.failures)
        except BadDocumentError as e:
            report.failures.append(FileFailure(e.path, e.reason, e.line))
            continue
        files.extend((f, f.relative_to(p).as_posix() if p.is_dir() else f.name) for f in found)

    bar = IngestBar([f for f, _ in files], show_progress)  # documents, with an ETA (ingest.progress)
    pending = _Pending()
    flush_at = max(16, settings.embed_batch_size * 8)
    seen_ids: Seen = {}

    def flush_if_full() -> None:
        if pending.n_chunks >= flush_at:
            _flush(store, embedder, pending, report)
            bar.stats(report.chunks, len(report.failures))

    for i, (path, label) in enumerate(files):
        bar.start_file(path)
        _ingest_file(path, label, store, settings, embedder, report, pending, seen_ids, flush_if_full, bar.tick)
        bar.file_done()
        bar.stats(report.chunks + pending.n_chunks, len(report.failures))
        if progress:
            progress((i + 1) / max(1, len(files)), f"{i + 1}/{len(files)} files: {path.name}")
    _flush(store, embedder, pending, report)
    bar.close()

    if prune:  # the paths are listed before their documents go, so their file states go too
        by_path = store.doc_paths()
        missing = [p for p in by_path if not Path(p).exists()]
        report.removed += store.remove_docs([d for p in missing for d in by_path[p]])
        store.forget_files(missing)
    report.failed = len(report.failures)
    report.total_chunks = store.stats()["chunks"]
    report.seconds = time.perf_counter() - t0
    return report


def _ingest_file(path, label, store, settings, embedder, report, pending, seen_ids, flush,
                 tick=lambda: None) -> None:
    """Stream one file's documents into the pending batch, flushing as it fills, so a 31k-record
    JSONL never sits in memory whole and a killed run keeps every committed batch. `label` names
    the file in the id of a record scoped to it (ingest.ids)."""
    key_path = str(path.resolve())
    st = path.stat()
    state = store.file_state(key_path)
    known = store.doc_keys_for_path(key_path)
    recorded = store.file_doc_keys(key_path) if state else None  # a forgotten file's record is stale
    intact = _docs_intact(known, recorded)
    if state and intact and state[0] == st.st_size and state[1] == st.st_mtime_ns:
        report.unchanged += len(known)
        return
    sha = file_sha256(path)
    if state and intact and state[2] == sha:
        store.set_file_state(key_path, st.st_size, st.st_mtime_ns, sha)
        report.unchanged += len(known)
        return
    if state and not intact:
        log.warning("%s: some of its documents are missing or were replaced by another source; "
                    "re-reading it to repair them", path)

    seen: dict[str, tuple[str, int | None]] = {}  # this file's record keys -> (content hash, line)
    failures = 0
    for item in load_file(path, max_bytes=settings.max_document_mb << 20):
        tick()
        if isinstance(item, FileFailure):
            report.failures.append(item)
            failures += 1
            continue
        doc = clean_document(item)
        if not doc.text.strip():
            report.failures.append(FileFailure(str(path), "no text left after cleaning; nothing to index", doc.line))
            failures += 1
            continue
        h = content_hash(doc)
        if doc.key in seen:  # one file giving one id twice: the first record is kept
            first_hash, first_line = seen[doc.key]
            if first_hash != h:
                report.failures.append(FileFailure(str(path), _repeat_reason(doc.doc_id, first_line), doc.line))
                failures += 1
            continue  # the same record twice is nothing new
        seen[doc.key] = (h, doc.line)
        doc, notice, took_back = assign_id(store, seen_ids, doc, recorded, label)
        if notice is not None:
            report.notices.append(notice)
        seen_ids[doc.doc_id] = (doc.key, doc.path)
        old = store.doc_hashes([doc.key]).get(doc.key)
        if old == h:
            report.unchanged += 1
            continue
        chunks = chunk_document(doc, embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)
        pending.items.append((doc, h, chunks))
        pending.n_chunks += len(chunks)
        if old is None and not took_back:
            report.added += 1
        else:  # changed, or taken back from the source that had replaced it
            report.updated += 1
        flush()

    if not seen and failures:
        return  # a wholly unreadable file keeps whatever the index already had from it
    if not failures:
        gone = known - seen.keys()
        if gone:
            ids = [r[0] for r in store.db.execute(
                f"SELECT doc_id FROM docs WHERE key IN ({','.join('?' * len(gone))})", sorted(gone))]
            report.removed += store.remove_docs(ids)
        pending.files.append((key_path, st.st_size, st.st_mtime_ns, sha, frozenset(seen)))


def _repeat_reason(record_id: str, first_line: int | None) -> str:
    at = f"line {first_line}" if first_line else "an earlier record"
    return (f"record id {record_id!r} was already given by {at} of this file, which is kept; "
            "give each record its own id")


def _docs_intact(known: set[str], recorded: set[str] | None) -> bool:
    """Whether the index still holds exactly the documents the file yielded last time.

    Checked on the unchanged path too (one query), because another source can have replaced one
    of them without the file changing. Files ingested before keys were recorded count as intact
    while they still hold any document.
    """
    return known == recorded if recorded is not None else bool(known)


def _flush(store: Store, embedder, pending: _Pending, report: IngestReport) -> None:
    if pending.items:
        chunks = [c for _, _, cs in pending.items for c in cs]
        vectors = embedder.embed_documents([embed_text(c) for c in chunks]) if chunks else np.zeros((0, 1))
        store.write_docs(pending.items, vectors)
        report.chunks += len(chunks)
    for path, size, mtime_ns, sha, keys in pending.files:
        store.file_doc_keys(path, keys)  # before the state: a kill in between re-reads the file
        store.set_file_state(path, size, mtime_ns, sha)
    pending.items, pending.files, pending.n_chunks = [], [], 0
