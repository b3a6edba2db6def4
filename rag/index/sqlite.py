"""The SQLite side of the index: one database file beside the Chroma data holding the manifest,
the file and document tables, chunk texts and the FTS5 lexical indexes (rag.index.lexical).
Connections are per thread because the Gradio app serves from several threads.
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

DB_FILE = "archive.sqlite"  # in the index dir, beside the Chroma folder

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


class Database:
    """The index's SQLite file: per-thread connections (WAL) and write transactions."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @property
    def local(self) -> threading.local:
        """State that lives with this thread's connection (e.g. temp tables created on it)."""
        return self._local

    def create_schema(self) -> None:
        self.conn.executescript(SCHEMA)

    def tx(self) -> Transaction:
        return Transaction(self.conn)

    def delete_files(self) -> None:
        """Close this thread's connection and remove the database (a rebuild)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.vocab = False
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
