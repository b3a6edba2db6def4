"""The index: a Chroma collection (dense, cosine) + a SQLite database beside it holding the
manifest, the document and file tables, chunk texts and two FTS5 lexical indexes: light-stemmed
Arabic terms, and Arabic roots (coarser: they join derivations stems keep apart, so retrieval
fuses them as a third, lighter-weighted ranking). This module is the only one that imports chromadb.

Write order makes a killed run safe to repeat: vectors are upserted first (idempotent ids),
then the SQLite transaction that records the document commits last, so a document counts as
ingested only once both sides hold it.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlparse

import numpy as np

from rag.text.arabic import NORMALIZER_VERSION, analyze, roots
from rag.config import Settings
from rag.errors import IndexMismatchError, StoreUnavailableError
from rag.types import Chunk, DocInfo, Filters, SourceDoc

_LEXICAL_KEYS = {"normalizer_version", "lexical_analyzer"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS file_docs (path TEXT PRIMARY KEY, keys TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
  doc_id TEXT PRIMARY KEY, key TEXT UNIQUE, path TEXT, title TEXT, date TEXT, author TEXT,
  source TEXT, url TEXT, n_chunks INTEGER, content_hash TEXT, ingested_at TEXT);
CREATE INDEX IF NOT EXISTS docs_path ON docs(path);
CREATE TABLE IF NOT EXISTS chunks (
  rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, ordinal INTEGER, start INTEGER,
  "end" INTEGER, section TEXT, text TEXT);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, tokenize="unicode61 remove_diacritics 0");
CREATE VIRTUAL TABLE IF NOT EXISTS roots_fts USING fts5(terms, tokenize="unicode61 remove_diacritics 0");
"""


def lexical_terms(text: str, analyzer: str) -> str:
    """What the FTS index stores and queries: Arabic-analyzed terms, or the raw text ("plain")."""
    return " ".join(analyze(text)) if analyzer == "arabic" else text.lower()


def root_terms(text: str, analyzer: str) -> str:
    """What the roots index stores and queries; empty for the plain baseline analyzer."""
    return " ".join(roots(text)) if analyzer == "arabic" else ""


# Each lexical field: its FTS5 table and what goes into it (for chunks and for queries alike).
LEXICAL_FIELDS = {"terms": ("chunks_fts", lexical_terms), "roots": ("roots_fts", root_terms)}


def _index_lexical(c: sqlite3.Connection, rows: Sequence[tuple[int, str]], analyzer: str) -> None:
    """Fill every lexical field for (chunk rowid, title + section + text) rows."""
    for table, terms_of in LEXICAL_FIELDS.values():
        c.executemany(f"INSERT INTO {table} (rowid, terms) VALUES (?, ?)",
                      ((rowid, terms_of(text, analyzer)) for rowid, text in rows))


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity


class Store:
    """Owns the index on disk (and the Chroma server connection when configured)."""

    def __init__(self, settings: Settings, embedder, *, rebuild: bool = False):
        self.settings = settings
        self.embedder = embedder
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._db_path = self.dir / "archive.sqlite"
        self._local = threading.local()
        self._client = self._chroma_client()
        if rebuild:
            self._drop_all()
        self._collection = self._client.get_or_create_collection(
            settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self.db.executescript(SCHEMA)

    # -- connections -----------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        """One SQLite connection per thread (the Gradio app serves from several)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _chroma_client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url
        try:
            if url:
                u = urlparse(url if "//" in url else f"http://{url}")
                client = chromadb.HttpClient(
                    host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https",
                    settings=chroma_settings,
                )
                client.heartbeat()
                return client
            return chromadb.PersistentClient(path=str(self.dir / "chroma"), settings=chroma_settings)
        except Exception as e:  # chromadb raises several unrelated types for "cannot connect"
            where = url or str(self.dir / "chroma")
            raise StoreUnavailableError(
                f"cannot open the Chroma index at {where} ({e}). "
                + ("Start the server (`chroma run --path DIR --port PORT`) or unset RAG_CHROMA_URL."
                   if url else "Check the data dir is writable, or choose another with --data-dir.")
            ) from e

    def _drop_all(self) -> None:
        try:
            self._client.delete_collection(self.settings.collection)
        except Exception:  # absent collection: nothing to drop
            pass
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.vocab = False
        for suffix in ("", "-wal", "-shm"):
            Path(str(self._db_path) + suffix).unlink(missing_ok=True)

    # -- manifest --------------------------------------------------------------------------
    def expected_manifest(self, chunker: str = "") -> dict[str, str]:
        """How this index is (to be) built; chunker names the chunking code's version."""
        s = self.settings
        return {
            "embedding_model": self.embedder.model_id,
            "dimension": str(self.embedder.dimension),
            "document_prompt": self.embedder.document_prompt,
            "normalizer_version": NORMALIZER_VERSION,
            "lexical_analyzer": s.lexical_analyzer,
            "chunker": chunker,
            "chunk_tokens": str(s.chunk_tokens),
            "chunk_overlap_tokens": str(s.chunk_overlap_tokens),
        }

    def manifest(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def check_manifest(self, expected: dict[str, str], *, writing: bool) -> None:
        """Refuse to mix vectors or terms built differently. Chunking only matters for writes."""
        have = self.manifest()
        if not have:
            if writing:
                with self._tx() as c:
                    c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", expected.items())
            return
        keys = expected.keys() if writing else [k for k in expected if not k.startswith("chunk")]
        changed = [k for k in keys if expected[k] != "" and have.get(k) != expected[k]]
        if changed and set(changed) <= _LEXICAL_KEYS:
            # Only the lexical analysis changed: re-analyze the stored chunk texts, keep the vectors.
            self.reindex_lexical(expected["lexical_analyzer"], force=True)
            return
        diff = [f"{k}: index has {have.get(k)!r}, settings ask for {expected[k]!r}" for k in changed]
        if diff:
            raise IndexMismatchError(
                f"the index in {self.dir} was built differently ({'; '.join(diff)}). "
                "Rebuild it with `rag ingest --rebuild PATH...`, or point --data-dir at another index."
            )

    # -- writing ---------------------------------------------------------------------------
    def _tx(self):
        return _Transaction(self.db)

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

    def doc_keys_for_path(self, path: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT key FROM docs WHERE path=?", (path,))}

    def write_docs(self, items: Sequence[tuple[SourceDoc, str, list[Chunk]]], vectors: np.ndarray) -> None:
        """Replace each document's chunks. items: (doc, content_hash, chunks); vectors row-aligned
        with the concatenated chunks."""
        doc_ids = [d.doc_id for d, _, _ in items]
        chunks = [c for _, _, cs in items for c in cs]
        stale = self._chunk_ids_of(doc_ids) - {c.id for c in chunks}
        if stale:
            self._collection.delete(ids=sorted(stale))
        # Vectors another (killed) run wrote for these docs but never recorded in SQLite.
        self._collection.delete(where={"doc_id": {"$in": doc_ids}} if len(doc_ids) > 1 else {"doc_id": doc_ids[0]})
        for i in range(0, len(chunks), 1000):
            part = chunks[i:i + 1000]
            self._collection.upsert(
                ids=[c.id for c in part], embeddings=vectors[i:i + len(part)],
                documents=[c.text for c in part], metadatas=[_chroma_meta(c) for c in part],
            )
        analyzer = self.manifest().get("lexical_analyzer", "arabic")
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
            _index_lexical(c, lexical_rows, analyzer)

    def remove_docs(self, doc_ids: Sequence[str]) -> int:
        doc_ids = list(doc_ids)
        if not doc_ids:
            return 0
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i:i + 500]
            self._collection.delete(where={"doc_id": {"$in": part}} if len(part) > 1 else {"doc_id": part[0]})
        with self._tx() as c:
            return self._delete_docs_sql(c, doc_ids)

    def _delete_docs_sql(self, c: sqlite3.Connection, doc_ids: list[str]) -> int:
        n = 0
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i:i + 500]
            ph = ",".join("?" * len(part))
            for table, _ in LEXICAL_FIELDS.values():
                c.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id IN ({ph}))",
                          part)
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
        rows = self.db.execute(
            'SELECT c.rowid, d.title, c.section, c.text FROM chunks c JOIN docs d ON d.doc_id = c.doc_id').fetchall()
        with self._tx() as c:
            for table, _ in LEXICAL_FIELDS.values():
                c.execute(f"DELETE FROM {table}")
            _index_lexical(c, [(r[0], f"{r[1]}\n{r[2]}\n{r[3]}") for r in rows], analyzer)
            c.execute("INSERT OR REPLACE INTO meta VALUES ('lexical_analyzer', ?)", (analyzer,))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('normalizer_version', ?)", (NORMALIZER_VERSION,))

    # -- reading ---------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[DenseHit]:
        n = self._collection.count()
        if n == 0:
            return []
        res = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(k, n),
            where=_chroma_where(filters), include=["distances"],
        )
        return [DenseHit(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def lexical_search(self, query: str, k: int, filters: Filters = Filters(),
                       field: str = "terms") -> list[tuple[str, float]]:
        """BM25 over an FTS5 index (field: "terms" or "roots"): (chunk_id, score) best first;
        score = -bm25 (higher better)."""
        analyzer = self.manifest().get("lexical_analyzer", "arabic")
        table, terms_of = LEXICAL_FIELDS[field]
        terms = sorted(set(terms_of(query, analyzer).split()))
        terms = [t for t in terms if any(ch.isalnum() for ch in t)]
        if not terms:
            return []
        match = " OR ".join(map(_fts_phrase, terms))
        where, params = _sql_where(filters)
        sql = (
            f"SELECT c.chunk_id, bm25({table}) AS s FROM {table} "
            f"JOIN chunks c ON c.rowid = {table}.rowid "
            + ("JOIN docs d ON d.doc_id = c.doc_id " if where else "")
            + f"WHERE {table} MATCH ? {where} ORDER BY s LIMIT ?"
        )
        try:
            rows = self.db.execute(sql, [match, *params, k]).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(cid, -float(s)) for cid, s in rows]

    def term_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """Passages holding each lexical term (terms the index lacks are left out)."""
        terms = list(terms)
        if not terms:
            return {}
        c = self.db
        if not getattr(self._local, "vocab", False):  # a temp table lives with its connection
            c.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
            self._local.vocab = True
        out: dict[str, int] = {}
        for i in range(0, len(terms), 500):
            part = terms[i:i + 500]
            out.update(c.execute(f"SELECT term, doc FROM temp.chunks_vocab WHERE term IN "
                                 f"({','.join('?' * len(part))})", part).fetchall())
        return out

    def cooccurrence(self, terms: Iterable[str], others: Iterable[str]) -> int:
        """Passages holding all of `terms` and at least one of `others` (up to 100 counted)."""
        terms, others = list(terms), list(others)
        if not terms or not others:
            return 0
        match = " AND ".join(map(_fts_phrase, terms)) + " AND (" + " OR ".join(map(_fts_phrase, others)) + ")"
        try:
            return self.db.execute("SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? "
                                   "LIMIT 100)", (match,)).fetchone()[0]
        except sqlite3.OperationalError:
            return 0

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
        return out

    def documents(self, query: str = "") -> list[DocInfo]:
        sql = "SELECT doc_id, key, path, title, date, author, source, n_chunks, content_hash, ingested_at FROM docs"
        params: list = []
        if query:
            sql += " WHERE title LIKE ? OR author LIKE ? OR source LIKE ? OR path LIKE ?"
            params = [f"%{query}%"] * 4
        sql += " ORDER BY date DESC, title"
        return [DocInfo(*r) for r in self.db.execute(sql, params)]

    def doc_paths(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for doc_id, path in self.db.execute("SELECT doc_id, path FROM docs"):
            out.setdefault(path, []).append(doc_id)
        return out

    def forget_files(self, paths: Iterable[str]) -> None:
        with self._tx() as c:
            c.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])

    def stats(self) -> dict:
        db = self.db
        m = self.manifest()
        return {
            "documents": db.execute("SELECT COUNT(*) FROM docs").fetchone()[0],
            "chunks": db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "vectors": self._collection.count(),
            "embedding_model": m.get("embedding_model", ""),
            "dimension": int(m.get("dimension", 0) or 0),
            "last_ingest": db.execute("SELECT MAX(ingested_at) FROM docs").fetchone()[0] or "",
            "index_dir": str(self.dir),
            "chroma": self.settings.chroma_url or "embedded",
        }

    def facets(self) -> dict[str, list[str]]:
        """Distinct authors and sources, for the UI's filter pickers."""
        db = self.db
        return {
            "authors": [r[0] for r in db.execute("SELECT DISTINCT author FROM docs WHERE author != '' ORDER BY author")],
            "sources": [r[0] for r in db.execute("SELECT DISTINCT source FROM docs WHERE source != '' ORDER BY source")],
        }

    def all_chunk_ids(self) -> tuple[set[str], set[str]]:
        """(ids in SQLite, ids in Chroma): equal in a consistent index."""
        sql_ids = {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}
        got = self._collection.get(include=[])
        return sql_ids, set(got["ids"])


def _fts_phrase(term: str) -> str:
    """A term quoted as an FTS5 phrase, so no term can act as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _chroma_meta(c: Chunk) -> dict:
    return {
        "doc_id": c.doc_id, "ordinal": c.ordinal, "title": c.title, "section": c.section,
        "date": c.date, "date_num": _date_num(c.date), "author": c.author, "source": c.source,
    }


def _date_num(iso: str) -> int:
    """Chroma compares only numbers with $gte/$lte, so dates are stored as YYYYMMDD too."""
    digits = "".join(ch for ch in iso[:10] if ch.isdigit())
    if len(digits) == 4:
        digits += "0000"
    elif len(digits) == 6:
        digits += "00"
    return int(digits) if len(digits) == 8 else 0


def _chroma_where(f: Filters) -> dict | None:
    conds: list[dict] = []
    if f.since:
        conds.append({"date_num": {"$gte": _date_num(f.since)}})
    if f.until:
        conds.append({"date_num": {"$lte": _bound_until(f.until)}})
    if f.authors:
        conds.append({"author": {"$in": list(f.authors)}})
    if f.sources:
        conds.append({"source": {"$in": list(f.sources)}})
    if f.doc_ids:
        conds.append({"doc_id": {"$in": list(f.doc_ids)}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def _bound_until(until: str) -> int:
    """An `until` of 2018 or 2018-07 includes the whole year or month."""
    n = _date_num(until)
    digits = "".join(ch for ch in until[:10] if ch.isdigit())
    if len(digits) == 4:
        return n + 1231
    if len(digits) == 6:
        return n + 31
    return n


def _sql_where(f: Filters) -> tuple[str, list]:
    parts, params = [], []
    if f.since:
        parts.append("d.date >= ?")
        params.append(f.since[:10])
    if f.until:
        parts.append("substr(d.date, 1, ?) <= ?")
        params.extend([len(f.until[:10]), f.until[:10]])
    for field, values in (("d.author", f.authors), ("d.source", f.sources), ("d.doc_id", f.doc_ids)):
        if values:
            parts.append(f"{field} IN ({','.join('?' * len(values))})")
            params.extend(values)
    if f.since or f.until:
        parts.append("d.date != ''")
    return ("AND " + " AND ".join(parts)) if parts else "", params


class _Transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
