"""The index, as one object for its callers: a Chroma collection (dense, rag.index.chroma) and a
SQLite database beside it (rag.index.sqlite) holding the manifest (rag.index.manifest), the
document and file tables, chunk texts and the FTS5 lexical indexes (rag.index.lexical). This
facade owns what spans both sides (write order, the catalog of documents and chunks, stats).

Write order makes a killed run safe to repeat: vectors are upserted first (idempotent ids),
then the SQLite transaction that records the document commits last, so a document counts as
ingested only once both sides hold it.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.errors import IndexMismatchError
from rag.index import boilerplate
from rag.index import manifest as manifest_
from rag.index.chroma import ChromaIndex, DenseHit
from rag.index.cluster import ClusterDoc, Clusterer
from rag.index.lexical import LexicalIndex
from rag.index.sqlite import DB_FILE, Database, Transaction
from rag.text.arabic import NORMALIZER_VERSION
from rag.types import Chunk, DocInfo, Filters, Hit, SourceDoc

__all__ = ["DenseHit", "Store"]


class Store:
    """Owns the index on disk (and the Chroma server connection when configured)."""

    def __init__(self, settings: Settings, embedder, *, rebuild: bool = False):
        self.settings = settings
        self.embedder = embedder
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._sql = Database(self.dir / DB_FILE)
        self._dense = ChromaIndex(settings.chroma_url, self.dir / "chroma", settings.collection,
                                  rebuild=rebuild)
        if rebuild:
            self._sql.delete_files()
        self._sql.create_schema()
        self._lexical = LexicalIndex(self._sql)
        self._clusters = Clusterer()  # wire-copy clusters (rag.index.cluster)
        Clusterer.create_schema(self.db)
        self.db.executescript(boilerplate.SCHEMA)
        self._boilerplate: dict[int, bool] = {}  # verdicts per sentence key, cleared on writes
        self._generation = self._read_generation()  # the writes this process's dense side has seen
        self._reopen_lock = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's SQLite connection (the Gradio app serves from several)."""
        return self._sql.conn

    # -- manifest --------------------------------------------------------------------------
    def expected_manifest(self) -> dict[str, str]:
        """How this index is (to be) built with these settings, embedder and chunker."""
        return manifest_.expected(self.settings, self.embedder)

    def manifest(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta WHERE key != 'generation'").fetchall())

    def check_manifest(self, expected: dict[str, str], *, writing: bool) -> None:
        """Refuse to mix vectors or terms built differently. Chunking only matters for writes."""
        have = self.manifest()
        if not have:
            if writing:
                with self._tx() as c:
                    c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", expected.items())
            return
        changed = manifest_.changed_keys(have, expected, writing=writing)
        if changed and set(changed) <= manifest_.LEXICAL_KEYS:
            # Only the lexical analysis changed: re-analyze the stored chunk texts, keep the vectors.
            self.reindex_lexical(expected["lexical_analyzer"], force=True)
            return
        if changed:
            hint = getattr(self.embedder, "mismatch_hint", "") if "embedding_model" in changed else ""
            raise IndexMismatchError(manifest_.mismatch_message(self.dir, have, expected, changed, hint))

    def _analyzer(self) -> str:
        return self.manifest().get("lexical_analyzer", "arabic")

    # -- writing ---------------------------------------------------------------------------
    def _tx(self) -> Transaction:
        return self._sql.tx()

    def file_state(self, path: str) -> tuple[int, int, str] | None:
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path=?", (path,)).fetchone()
        return tuple(row) if row else None

    def set_file_state(self, path: str, size: int, mtime_ns: int, sha: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (path, size, mtime_ns, sha))

    def file_doc_keys(self, path: str, keys: Iterable[str] | None = None) -> set[str] | None:
        """The document keys a file yielded when it was last ingested (None: never recorded).

        Given `keys`, records them instead. The docs table alone cannot tell that one of a file's
        documents was taken over by another source; this record can, at one query per file.
        """
        if keys is not None:
            with self._tx() as c:
                c.execute("INSERT OR REPLACE INTO file_docs VALUES (?, ?)", (path, json.dumps(sorted(keys))))
            return set(keys)
        row = self.db.execute("SELECT keys FROM file_docs WHERE path=?", (path,)).fetchone()
        return set(json.loads(row[0])) if row else None

    def doc_hashes(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            q = f"SELECT key, content_hash FROM docs WHERE key IN ({','.join('?' * len(part))})"
            out.update(dict(self.db.execute(q, part).fetchall()))
        return out

    def doc_id_of_key(self, key: str) -> str | None:
        """The id the document with this key is stored under (None: not indexed)."""
        row = self.db.execute("SELECT doc_id FROM docs WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def holder_of(self, doc_id: str) -> tuple[str, str] | None:
        """(key, path) of the document stored under `doc_id` (None: the id is free)."""
        row = self.db.execute("SELECT key, path FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def doc_keys_for_path(self, path: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT key FROM docs WHERE path=?", (path,))}

    def write_docs(self, items: Sequence[tuple[SourceDoc, str, list[Chunk]]], vectors: np.ndarray) -> None:
        """Replace each document's chunks. items: (doc, content_hash, chunks); vectors row-aligned
        with the concatenated chunks."""
        doc_ids = [d.doc_id for d, _, _ in items]
        chunks = [c for _, _, cs in items for c in cs]
        stale = self._chunk_ids_of(doc_ids) - {c.id for c in chunks}
        if stale:
            self._dense.delete_ids(sorted(stale))
        # Vectors another (killed) run wrote for these docs but never recorded in SQLite.
        self._dense.delete_docs(doc_ids)
        self._dense.upsert(chunks, vectors)
        analyzer = self._analyzer()
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self._tx() as c:
            self._delete_docs_sql(c, doc_ids)
            lexical_rows = []
            for doc, content_hash, cs in items:
                c.execute(
                    "INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (doc.doc_id, doc.key, doc.path, doc.title, doc.date, doc.author,
                     doc.publisher or doc.source, doc.url, len(cs), content_hash, now))
                for ch in cs:
                    cur = c.execute(
                        'INSERT INTO chunks (chunk_id, doc_id, ordinal, start, "end", section, text) '
                        "VALUES (?,?,?,?,?,?,?)",
                        (ch.id, ch.doc_id, ch.ordinal, ch.start, ch.end, ch.section, ch.text))
                    lexical_rows.append((cur.lastrowid, f"{ch.title}\n{ch.section}\n{ch.text}"))
            self._lexical.add(c, lexical_rows, analyzer)
            self._cluster_docs(c, [_cluster_doc(doc.doc_id, doc.title, doc.publisher or doc.source, doc.date,
                                                [ch.text for ch in cs]) for doc, _, cs in items])
            for doc, _, cs in items:
                boilerplate.add(c, doc.doc_id, [ch.text for ch in cs])
            self._bump_generation(c)
        self._boilerplate.clear()

    def remove_docs(self, doc_ids: Sequence[str]) -> int:
        doc_ids = list(doc_ids)
        if not doc_ids:
            return 0
        self._dense.delete_docs(doc_ids)
        self._boilerplate.clear()
        with self._tx() as c:
            self._clusters.remove(c, doc_ids)
            boilerplate.remove(c, doc_ids)
            self._bump_generation(c)
            return self._delete_docs_sql(c, doc_ids)

    def index_sentences(self) -> int:
        """Fill the sentence index of an index built before it existed (once; returns documents)."""
        if self.db.execute("SELECT 1 FROM doc_sentences LIMIT 1").fetchone() or not self.passage_count():
            return 0
        texts: dict[str, list[str]] = {}
        for doc_id, text in self.db.execute("SELECT doc_id, text FROM chunks"):
            texts.setdefault(doc_id, []).append(text)
        with self._tx() as c:
            for doc_id, ts in texts.items():
                boilerplate.add(c, doc_id, ts)
        self._boilerplate.clear()
        return len(texts)

    def index_clusters(self) -> int:
        """Cluster the documents the wire-copy clusters lack (an index older than clustering, or
        new parameters in cluster.json) now, not at the next write: an archive re-ingested
        unchanged never writes, and its search would fold no copies. Returns documents clustered."""
        lacking = "SELECT 1 FROM docs d LEFT JOIN doc_clusters k ON k.doc_id = d.doc_id WHERE k.doc_id IS NULL LIMIT 1"
        if (self._clusters.stored_params(self.db) == self._clusters.params.key()
                and not self.db.execute(lacking).fetchone()):
            return 0  # the usual run: checked without taking the write lock
        with self._tx() as c:
            n = self._cluster_docs(c, [])
            self._bump_generation(c)
            return n

    def mark_boilerplate(self, hits: Sequence[Hit]) -> list[Hit]:
        """The hits with each chunk's boilerplate sentences (rag.index.boilerplate) named."""
        keyed = [boilerplate.keys_of([h.chunk.text]) for h in hits]
        bad = boilerplate.judge(self.db, {k for ks in keyed for k in ks}, self._boilerplate)
        return [dataclasses.replace(h, chunk=dataclasses.replace(
                    h.chunk, boilerplate=tuple(boilerplate.normal_form(s) for k, s in ks.items() if k in bad)))
                if bad & ks.keys() else h for h, ks in zip(hits, keyed)]

    def _cluster_docs(self, c: sqlite3.Connection, docs: list[ClusterDoc]) -> int:
        """Cluster the written docs; first (re)cluster docs the clusters lack (an index older than
        clustering, or new parameters in cluster.json), from their stored chunk texts."""
        if self._clusters.stored_params(c) != self._clusters.params.key():
            self._clusters.reset(c)
        writing = {d.doc_id for d in docs}
        missing = [r for r in c.execute(
            "SELECT d.doc_id, d.title, d.source, d.date FROM docs d LEFT JOIN doc_clusters k "
            "ON k.doc_id = d.doc_id WHERE k.doc_id IS NULL ORDER BY d.date, d.doc_id") if r[0] not in writing]
        backfill = [_cluster_doc(r[0], r[1] or "", r[2] or "", r[3] or "", [t for (t,) in c.execute(
            "SELECT text FROM chunks WHERE doc_id=? ORDER BY ordinal", (r[0],))]) for r in missing]
        self._clusters.assign(c, backfill + docs)
        return len(backfill) + len(docs)

    def _delete_docs_sql(self, c: sqlite3.Connection, doc_ids: list[str]) -> int:
        n = 0
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i:i + 500]
            ph = ",".join("?" * len(part))
            self._lexical.delete_docs(c, part)
            c.execute(f"DELETE FROM chunks WHERE doc_id IN ({ph})", part)
            n += c.execute(f"DELETE FROM docs WHERE doc_id IN ({ph})", part).rowcount
        return n

    def _chunk_ids_of(self, doc_ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(doc_ids), 500):
            part = list(doc_ids[i:i + 500])
            q = f"SELECT chunk_id FROM chunks WHERE doc_id IN ({','.join('?' * len(part))})"
            out.update(r[0] for r in self.db.execute(q, part))
        return out

    def reindex_lexical(self, analyzer: str, force: bool = False) -> None:
        """Rebuild only the lexical side with another analyzer or normalizer version (evals
        compare analyzers on one index; a normalizer upgrade needs no re-embedding)."""
        if not force and self.manifest().get("lexical_analyzer") == analyzer:
            return
        with self._tx() as c:  # read inside the write: a concurrent ingest cannot leave FTS rows without chunks
            rows = c.execute('SELECT c.rowid, d.title, c.section, c.text FROM chunks c '
                             'JOIN docs d ON d.doc_id = c.doc_id').fetchall()
            self._lexical.clear(c)
            self._lexical.add(c, [(r[0], f"{r[1]}\n{r[2]}\n{r[3]}") for r in rows], analyzer)
            c.execute("INSERT OR REPLACE INTO meta VALUES ('lexical_analyzer', ?)", (analyzer,))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('normalizer_version', ?)", (NORMALIZER_VERSION,))

    # -- reading ---------------------------------------------------------------------------
    def _read_generation(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return row[0] if row else "0"

    def _bump_generation(self, c: sqlite3.Connection) -> None:
        """Count a write (in its transaction), so readers in other processes know to reload."""
        row = c.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        self._generation = str(int(row[0] if row else 0) + 1)
        c.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (self._generation,))

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[DenseHit]:
        """Dense hits; first reloads the dense side when another process (`rag ingest` beside a
        running app) has written since this one last looked."""
        now = self._read_generation()
        if now != self._generation:
            with self._reopen_lock:
                if now != self._generation:
                    self._dense.reopen()
                    self._generation = now
        return self._dense.query(vector, k, filters)

    def lexical_search(self, query: str, k: int, filters: Filters = Filters(),
                       field: str = "terms") -> list[tuple[str, float]]:
        """BM25 over an FTS5 index (field: "terms" or "roots"): (chunk_id, score) best first;
        score = -bm25 (higher better). A failing FTS query returns [] and is logged and counted."""
        return self._lexical.search(query, k, filters, self._analyzer(), field)

    def term_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """Passages holding each lexical term (terms the index lacks are left out)."""
        return self._lexical.term_frequencies(terms)

    def cooccurrence(self, terms: Iterable[str], others: Iterable[str]) -> int:
        """Passages holding all of `terms` and at least one of `others` (up to 100 counted)."""
        return self._lexical.cooccurrence(terms, others)

    def passage_count(self) -> int:
        """Chunks in the index (the spelling repair's chance baseline)."""
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = (
                'SELECT c.chunk_id, c.doc_id, c.text, c.ordinal, c.start, c."end", c.section, d.title, '
                "d.date, d.author, d.source, d.path, d.url FROM chunks c JOIN docs d ON d.doc_id = c.doc_id "
                f"WHERE c.chunk_id IN ({','.join('?' * len(part))})"
            )
            for r in self.db.execute(q, part):
                out[r[0]] = Chunk(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "", r[7] or "", r[8] or "",
                                  r[9] or "", r[10] or "", r[11] or "", r[12] or "")
        copies = Clusterer.copies(self.db, [ch.doc_id for ch in out.values()])
        for cid, ch in out.items():
            if ch.doc_id in copies:
                cluster_id, also_in = copies[ch.doc_id]
                out[cid] = dataclasses.replace(ch, cluster_id=cluster_id, also_in=also_in)
        return out

    def documents(self, query: str = "") -> list[DocInfo]:
        """Documents with their wire-copy cluster and its size (the archive table, pruning, evals)."""
        sql = ("SELECT d.doc_id, d.key, d.path, d.title, d.date, d.author, d.source, d.n_chunks, d.content_hash, "
               "d.ingested_at, COALESCE(k.cluster_id, ''), COALESCE(c.size, 1) FROM docs d "
               "LEFT JOIN doc_clusters k ON k.doc_id = d.doc_id LEFT JOIN clusters c ON c.cluster_id = k.cluster_id")
        params: list = []
        if query:
            sql += " WHERE d.title LIKE ? OR d.author LIKE ? OR d.source LIKE ? OR d.path LIKE ?"
            params = [f"%{query}%"] * 4
        sql += " ORDER BY d.date DESC, d.title"
        return [DocInfo(*r) for r in self.db.execute(sql, params)]

    def doc_paths(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for doc_id, path in self.db.execute("SELECT doc_id, path FROM docs"):
            out.setdefault(path, []).append(doc_id)
        return out

    def forget_files(self, paths: Iterable[str]) -> None:
        with self._tx() as c:
            rows = [(p,) for p in paths]
            c.executemany("DELETE FROM files WHERE path=?", rows)
            c.executemany("DELETE FROM file_docs WHERE path=?", rows)

    def stats(self) -> dict:
        """Index facts for `rag status`, including lexical failures since this store opened."""
        db = self.db
        m = self.manifest()
        self._lexical.probe()
        return {
            "documents": db.execute("SELECT COUNT(*) FROM docs").fetchone()[0],
            "chunks": db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "vectors": self._dense.count(),
            "embedding_model": m.get("embedding_model", ""),
            "dimension": int(m.get("dimension", 0) or 0),
            "last_ingest": db.execute("SELECT MAX(ingested_at) FROM docs").fetchone()[0] or "",
            "index_dir": str(self.dir),
            "chroma": self.settings.chroma_url or "embedded",
            "embeddings": getattr(self.embedder, "url", None) or "in-process",  # an embedding server's URL
            "lexical_errors": self._lexical.errors,
            "lexical_last_error": self._lexical.last_error,
            **Clusterer.stats(db),  # clusters, multi_doc_clusters, clustered_documents, largest_clusters
        }

    def cluster_members(self, cluster_id: str) -> list[DocInfo]:
        """The documents of one wire-copy cluster, oldest first."""
        q = ("SELECT d.doc_id, d.key, d.path, d.title, d.date, d.author, d.source, d.n_chunks, d.content_hash, "
             "d.ingested_at FROM docs d JOIN doc_clusters k ON k.doc_id = d.doc_id WHERE k.cluster_id=? "
             "ORDER BY d.date, d.doc_id")
        return [DocInfo(*r) for r in self.db.execute(q, (cluster_id,))]

    def facets(self) -> dict[str, list[str]]:
        """Distinct authors and sources, for the UI's filter pickers."""
        db = self.db
        return {
            "authors": [r[0] for r in db.execute("SELECT DISTINCT author FROM docs WHERE author != '' ORDER BY author")],
            "sources": [r[0] for r in db.execute("SELECT DISTINCT source FROM docs WHERE source != '' ORDER BY source")],
        }

    def vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The dense vectors stored for these chunks, row-aligned (benches compare two indexes)."""
        return self._dense.vectors(chunk_ids)

    def all_chunk_ids(self) -> tuple[set[str], set[str]]:
        """(ids in SQLite, ids in Chroma): equal in a consistent index."""
        sql_ids = {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}
        return sql_ids, self._dense.ids()


def _cluster_doc(doc_id: str, title: str, source: str, date: str, texts: list[str]) -> ClusterDoc:
    """A document as clustering sees it: its chunk texts in order (the same text at ingest and
    when an older index is backfilled from SQLite)."""
    return ClusterDoc(doc_id, "\n".join(texts), title, source, date)
