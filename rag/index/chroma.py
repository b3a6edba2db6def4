"""The dense side: a Chroma collection (cosine space) holding one vector per chunk with the
metadata filters need. The only module that imports chromadb, embedded (PersistentClient in the
data dir) or a server (HttpClient, RAG_CHROMA_URL).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from rag.errors import StoreUnavailableError
from rag.index.filters import date_num, to_chroma_where
from rag.types import Chunk, Filters


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity


def chunk_metadata(c: Chunk) -> dict:
    """What Chroma stores beside a vector: what filters and listings read."""
    return {
        "doc_id": c.doc_id, "ordinal": c.ordinal, "title": c.title, "section": c.section,
        "date": c.date, "date_num": date_num(c.date), "author": c.author, "source": c.source,
    }


def _doc_where(doc_ids: Sequence[str]) -> dict:
    return {"doc_id": {"$in": list(doc_ids)}} if len(doc_ids) > 1 else {"doc_id": doc_ids[0]}


class ChromaIndex:
    """One collection; open it with rebuild=True to drop it first."""

    def __init__(self, chroma_url: str, local_dir: Path, collection: str, *, rebuild: bool = False):
        self._client = _client(chroma_url, local_dir)
        self._url, self._dir = chroma_url, local_dir
        self._name = collection
        if rebuild:
            try:
                self._client.delete_collection(collection)
            except Exception:  # absent collection: nothing to drop
                pass
        self._collection = self._client.get_or_create_collection(
            collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    def reopen(self) -> None:
        """See what another process wrote. An embedded client keeps its HNSW index in memory and
        never reloads it (its count sees new vectors, its queries do not), and chromadb shares one
        client system per path, so the cached system is dropped and a fresh one opened. A server
        serves every process the same index: nothing to do."""
        if self._url:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        key = str(self._dir)
        SharedSystemClient._identifier_to_system.pop(key, None)  # not stopped: other threads may be querying
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        self._client = _client("", self._dir)
        self._collection = self._client.get_or_create_collection(
            self._name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)

    def count(self) -> int:
        return self._collection.count()

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for i in range(0, len(chunks), 1000):
            part = chunks[i:i + 1000]
            self._collection.upsert(
                ids=[c.id for c in part], embeddings=vectors[i:i + len(part)],
                documents=[c.text for c in part], metadatas=[chunk_metadata(c) for c in part],
            )

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these ids, in their order (KeyError for an id not stored)."""
        ids = list(ids)
        got: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), 1000):
            res = self._collection.get(ids=ids[i:i + 1000], include=["embeddings"])
            got.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32)))
        return np.stack([got[i] for i in ids]) if ids else np.zeros((0, 0), dtype=np.float32)

    def delete_ids(self, ids: Sequence[str]) -> None:
        self._collection.delete(ids=list(ids))

    def delete_docs(self, doc_ids: Sequence[str]) -> None:
        """Every vector of these documents (in parts, Chroma limits a where's size)."""
        doc_ids = list(doc_ids)
        for i in range(0, len(doc_ids), 500):
            self._collection.delete(where=_doc_where(doc_ids[i:i + 500]))

    def query(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[DenseHit]:
        # No count() first: it cost more than the query (7.5 ms of 12 at 20k chunks), and Chroma 1.5
        # answers an empty collection, or k above its size, with what it has.
        res = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k,
            where=to_chroma_where(filters), include=["distances"],
        )
        return [DenseHit(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]


def _client(url: str, local_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if url:
            u = urlparse(url if "//" in url else f"http://{url}")
            client = chromadb.HttpClient(
                host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
            return client
        return chromadb.PersistentClient(path=str(local_dir), settings=chroma_settings)
    except Exception as e:  # chromadb raises several unrelated types for "cannot connect"
        where = url or str(local_dir)
        raise StoreUnavailableError(
            f"cannot open the Chroma index at {where} ({e}). "
            + ("Start the server (`chroma run --path DIR --port PORT`) or unset RAG_CHROMA_URL."
               if url else "Check the data dir is writable, or choose another with --data-dir.")
        ) from e
