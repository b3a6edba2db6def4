"""Documents written straight into a Store (no loaders, no chunker): one chunk per document."""
from __future__ import annotations

import hashlib

from rag.types import Chunk, SourceDoc


def doc(doc_id: str, text: str, date: str = "", author: str = "", source: str = "",
        title: str = "") -> tuple[SourceDoc, list[Chunk]]:
    d = SourceDoc(doc_id=doc_id, key=doc_id, path=f"{doc_id}.txt", text=text, title=title or doc_id,
                  date=date, author=author, source=source)
    cid = hashlib.sha1(f"{doc_id}|{text}".encode()).hexdigest()[:16]
    return d, [Chunk(cid, doc_id, text, 0, 0, len(text), "", d.title, date, author, source, d.path)]


def write(store, docs: list[tuple[SourceDoc, list[Chunk]]]) -> None:
    """Index (doc, chunks) pairs the way the pipeline does: checked manifest, then write_docs."""
    store.check_manifest(store.expected_manifest(), writing=True)
    chunks = [c for _, cs in docs for c in cs]
    store.write_docs([(d, "hash-" + d.doc_id, cs) for d, cs in docs],
                     store.embedder.embed_documents([c.text for c in chunks]))


def store_of(root, docs: list[tuple[SourceDoc, list[Chunk]]]):
    """A real Store (Chroma + SQLite) under `root` holding `docs`, with the fake embedder."""
    from rag.config import load_settings
    from rag.index.store import Store
    from tests.fakes import FakeEmbedder

    s = Store(load_settings(env={}, data_dir=root / "data", model_dir=root / "models"), FakeEmbedder())
    write(s, docs)
    return s
