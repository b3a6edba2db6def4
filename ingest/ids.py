"""Record ids across sources: a record keeps the id it gives, unless another source's document
already has it. Then that document keeps its id and content, and the record is stored under an id
scoped to its own file, "<file, relative to what was ingested>#<record id>", with a notice naming
its file and line (IdNotice). Nothing is refused, nothing is overwritten.

A record is known by its key (its file + its own id), and a scoped record's id is looked up by that
key on later runs, so re-ingesting keeps the id it was given whichever folder is named or in what
order. One exception to "first come keeps the id": a file whose document was replaced by another
source (as ingests before these checks allowed) takes its id back (_takes_back).
"""
from __future__ import annotations

import logging
from dataclasses import replace

from ingest.readers.document import sha16
from rag.index.store import Store
from rag.types import IdNotice, SourceDoc

log = logging.getLogger(__name__)
Seen = dict[str, tuple[str, str]]  # this run's ids: doc id -> (key, path) of the document given it


def assign_id(store: Store, seen: Seen, doc: SourceDoc, recorded: set[str] | None, label: str
              ) -> tuple[SourceDoc, IdNotice | None, bool]:
    """(the document under the id it is stored as, the notice when that is not its own id,
    whether it took its own id back from a document that had replaced it). `recorded`: the keys
    its file yielded when last ingested; `label`: the file as named in a scoped id."""
    own = doc.doc_id
    stored = store.doc_id_of_key(doc.key)
    holder = _holder(store, seen, own, doc.key)
    if stored is not None and stored != own:  # scoped on an earlier run: it keeps that id
        doc = replace(doc, doc_id=stored)
        return doc, _notice(doc, own, holder) if holder else None, False
    if holder is None:
        return doc, None, False
    if _takes_back(store, doc, holder, recorded, seen):
        return doc, None, True
    doc = replace(doc, doc_id=_scoped_id(store, seen, doc, label))
    return doc, _notice(doc, own, holder), False


def _holder(store: Store, seen: Seen, doc_id: str, key: str) -> tuple[str, str] | None:
    """(key, path) of another source's document that already uses `doc_id`, this run or indexed."""
    other = seen.get(doc_id) or store.holder_of(doc_id)
    return other if other is not None and other[0] != key else None


def _scoped_id(store: Store, seen: Seen, doc: SourceDoc, label: str) -> str:
    """The record's id scoped to its file; a hash of its key is added in the unlikely case that a
    document already has that too (two uploads both named b.jsonl, say)."""
    candidates = (f"{label}#{doc.doc_id}", f"{label}#{doc.doc_id}~{sha16(doc.key)[:8]}")
    return next((c for c in candidates if _holder(store, seen, c, doc.key) is None), sha16(doc.key))


def _notice(doc: SourceDoc, own: str, holder: tuple[str, str]) -> IdNotice:
    return IdNotice(path=doc.path, line=doc.line, record_id=own, doc_id=doc.doc_id, kept=holder[1])


def _takes_back(store: Store, doc: SourceDoc, holder: tuple[str, str], recorded: set[str] | None,
                seen: Seen) -> bool:
    """Whether this file may take back an id another source holds: it yielded that document when
    last ingested, and the holder never did so legitimately (its own file's record lacks it, as
    after ingests from before these checks); no document of this run is ever overwritten."""
    if recorded is None or doc.key not in recorded or doc.doc_id in seen:
        return False
    key, path = holder
    theirs = store.file_doc_keys(path)
    if theirs is not None and key in theirs:
        return False
    log.warning("%s: took back document id %r from %s, which had replaced it", doc.path, doc.doc_id, path)
    return True
