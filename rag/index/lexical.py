"""The lexical side: two FTS5 indexes in the index's SQLite file, light-stemmed Arabic terms and
Arabic roots (coarser: they join derivations stems keep apart, so retrieval fuses them as a
third, lighter-weighted ranking), BM25 search over them, and the vocabulary statistics the
spelling repair reads.

A failing FTS query (a missing or corrupted table) degrades to "no lexical hits" so search keeps
serving dense results, but never silently: each failure is logged and counted, and the counts
show in Store.stats() / `rag status`.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence

from rag.index.filters import to_sql_where
from rag.index.sqlite import Database
from rag.text.arabic import analyze, roots
from rag.types import Filters

log = logging.getLogger(__name__)


def lexical_terms(text: str, analyzer: str) -> str:
    """What the FTS index stores and queries: Arabic-analyzed terms, or the raw text ("plain")."""
    return " ".join(analyze(text)) if analyzer == "arabic" else text.lower()


def root_terms(text: str, analyzer: str) -> str:
    """What the roots index stores and queries; empty for the plain baseline analyzer."""
    return " ".join(roots(text)) if analyzer == "arabic" else ""


# Each lexical field: its FTS5 table and what goes into it (for chunks and for queries alike).
LEXICAL_FIELDS = {"terms": ("chunks_fts", lexical_terms), "roots": ("roots_fts", root_terms)}


def fts_phrase(term: str) -> str:
    """A term quoted as an FTS5 phrase, so no term can act as query syntax."""
    return '"' + term.replace('"', '""') + '"'


class LexicalIndex:
    """FTS5 writes (inside the caller's transaction) and reads, with failure accounting."""

    def __init__(self, db: Database):
        self._db = db
        self.errors = 0  # failed lexical queries since this index was opened (see probe)
        self.last_error = ""

    # -- writing (c: a connection inside an open transaction) ---------------------------------
    @staticmethod
    def add(c: sqlite3.Connection, rows: Sequence[tuple[int, str]], analyzer: str) -> None:
        """Fill every lexical field for (chunk rowid, title + section + text) rows."""
        for table, terms_of in LEXICAL_FIELDS.values():
            c.executemany(f"INSERT INTO {table} (rowid, terms) VALUES (?, ?)",
                          ((rowid, terms_of(text, analyzer)) for rowid, text in rows))

    @staticmethod
    def delete_docs(c: sqlite3.Connection, doc_ids: Sequence[str]) -> None:
        """Remove these documents' rows (call before their chunks rows go)."""
        ph = ",".join("?" * len(doc_ids))
        for table, _ in LEXICAL_FIELDS.values():
            c.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id IN ({ph}))",
                      list(doc_ids))

    @staticmethod
    def clear(c: sqlite3.Connection) -> None:
        for table, _ in LEXICAL_FIELDS.values():
            c.execute(f"DELETE FROM {table}")

    # -- reading ------------------------------------------------------------------------------
    def search(self, query: str, k: int, filters: Filters, analyzer: str,
               field: str = "terms") -> list[tuple[str, float]]:
        """BM25 (field: "terms" or "roots"): (chunk_id, score) best first; score = -bm25."""
        table, terms_of = LEXICAL_FIELDS[field]
        terms = sorted(set(terms_of(query, analyzer).split()))
        terms = [t for t in terms if any(ch.isalnum() for ch in t)]
        if not terms:
            return []
        match = " OR ".join(map(fts_phrase, terms))
        where, params = to_sql_where(filters)
        # Ties (equal BM25) go by rowid, so a query ranks alike whatever plan SQLite picks.
        if where:
            sql = (f"SELECT c.chunk_id, bm25({table}) AS s FROM {table} JOIN chunks c ON c.rowid = {table}.rowid "
                   f"JOIN docs d ON d.doc_id = c.doc_id WHERE {table} MATCH ? {where} ORDER BY s, c.rowid LIMIT ?")
        else:  # the k best first, then their ids: joining every match before the sort took twice as long
            sql = (f"SELECT c.chunk_id, t.s FROM (SELECT rowid, bm25({table}) AS s FROM {table} WHERE {table} MATCH ? "
                   "ORDER BY s, rowid LIMIT ?) t JOIN chunks c ON c.rowid = t.rowid ORDER BY t.s, t.rowid")
        try:
            rows = self._db.conn.execute(sql, [match, *params, k]).fetchall()
        except sqlite3.OperationalError as e:
            self._failed(f"lexical search ({field})", e)
            return []
        return [(cid, -float(s)) for cid, s in rows]

    def term_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """Passages holding each lexical term (terms the index lacks are left out)."""
        terms = list(terms)
        if not terms:
            return {}
        c = self._db.conn
        local = self._db.local
        if not getattr(local, "vocab", False):  # a temp table lives with its connection
            c.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
            local.vocab = True
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
        match = " AND ".join(map(fts_phrase, terms)) + " AND (" + " OR ".join(map(fts_phrase, others)) + ")"
        try:
            return self._db.conn.execute("SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts "
                                         "MATCH ? LIMIT 100)", (match,)).fetchone()[0]
        except sqlite3.OperationalError as e:
            self._failed("co-occurrence count", e)
            return 0

    def probe(self) -> None:
        """Touch each FTS table so a broken one is counted even before anyone searches (once:
        a failure already counted needs no probe, so repeated stats do not inflate the count)."""
        if self.errors:
            return
        for table, _ in LEXICAL_FIELDS.values():
            try:
                self._db.conn.execute(f"SELECT rowid FROM {table} LIMIT 1").fetchall()
            except sqlite3.OperationalError as e:
                self._failed(f"lexical index {table}", e)

    def _failed(self, what: str, e: sqlite3.OperationalError) -> None:
        self.errors += 1
        self.last_error = f"{what}: {e}"
        log.warning("%s failed, serving without it: %s", what, e)
