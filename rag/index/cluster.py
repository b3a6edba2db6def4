"""Wire-copy clustering: one story, many copies (agency copy republished by several outlets, an
article updated, a copy with another byline), found at ingest by MinHash LSH (datasketch) over
word shingles of the normalised Arabic text.

Where clusters live: two SQLite tables beside `docs` in the index's database (rag.index.sqlite),
written in the same transaction as the documents they describe:

  doc_clusters  doc_id -> cluster_id, the doc's title, source and date (what a source card shows
                for a copy) and its MinHash signature (num_perm uint32, 512 bytes at 128);
  clusters      cluster_id -> size, sources (JSON list), first and last date, the first copy's
                title: the cluster's facts for `rag status` and the UI.

The LSH index itself is not persisted: it is rebuilt in memory from the stored signatures on the
first write of a process (about a second per 30k documents), and again whenever another process
wrote in between (meta `cluster_generation`). Signatures in SQLite commit or roll back with the
docs, so the buckets can never disagree with the documents; a pickled LSH in the index dir could
(a killed run, two writers, a rolled-back batch).

Incremental: a new document queries the LSH; every candidate whose estimated Jaccard reaches the
threshold links it to that candidate's cluster (single linkage). No link: it starts a cluster
(id = its doc_id, suffixed if taken). Links into several clusters merge them into the largest.
An updated document leaves its cluster and joins again with its new text (an unchanged signature
is a no-op). Removal deletes the member and re-splits what is left of its cluster into connected
components (pairwise over the stored signatures), so a copy that only linked two others through
the removed one does not keep them together; the largest component keeps the id.
Parameters (threshold, num_perm, shingle size) come from rag/index/cluster.json, chosen on the
ANT news archive by bench/cluster_bench.py; a change of parameters reclusters from chunk texts.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from rag.text.arabic import tokenize
from rag.types import ClusterCopy

PARAMS_FILE = Path(__file__).with_name("cluster.json")
SCHEME = "affine32"

SCHEMA = """
CREATE TABLE IF NOT EXISTS doc_clusters (
  doc_id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL, title TEXT, source TEXT, date TEXT, signature BLOB);
CREATE INDEX IF NOT EXISTS doc_clusters_cluster ON doc_clusters(cluster_id);
CREATE TABLE IF NOT EXISTS clusters (
  cluster_id TEXT PRIMARY KEY, size INTEGER, sources TEXT, first_date TEXT, last_date TEXT, title TEXT);
CREATE INDEX IF NOT EXISTS clusters_size ON clusters(size);
"""


@dataclass(frozen=True)
class ClusterParams:
    threshold: float = 0.5  # estimated Jaccard of the shingle sets that makes two docs one story
    num_perm: int = 128
    shingle: int = 3  # words per shingle
    seed: int = 1
    # Fewer shingles than this is no evidence of one story (the ANT archive holds opinion pages
    # whose whole body is the disclaimer "** جميع المقالات المنشورة تمثل رأي كتابها فقط."): such a
    # document gets no signature and stays alone.
    min_shingles: int = 10

    def key(self) -> str:
        return (f"minhash-{SCHEME}:t={self.threshold}:p={self.num_perm}:k={self.shingle}:s={self.seed}"
                f":m={self.min_shingles}")


@lru_cache(maxsize=1)
def load_params(path: Path = PARAMS_FILE) -> ClusterParams:
    """The shipped parameters (cluster.json: chosen and measured by bench/cluster_bench.py)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return ClusterParams(float(data["threshold"]), int(data["num_perm"]), int(data["shingle"]),
                         int(data.get("seed", 1)), int(data.get("min_shingles", 10)))


@dataclass(frozen=True)
class ClusterDoc:
    """What clustering needs of a document."""

    doc_id: str
    text: str
    title: str = ""
    source: str = ""
    date: str = ""


def shingles(text: str, k: int) -> set[str]:
    """Word k-shingles of the normalised text (rag.text.arabic.tokenize); a text shorter than k
    words is one shingle; no words: no shingles."""
    toks = tokenize(text)
    if len(toks) <= k:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + k]) for i in range(len(toks) - k + 1)}


@lru_cache(maxsize=8)
def _template(num_perm: int, seed: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME)


def signature(text: str, params: ClusterParams) -> np.ndarray | None:
    """The MinHash signature (uint32[num_perm]) of the text's shingles; None for a text with fewer
    than params.min_shingles of them (too short to tell a copy)."""
    sh = shingles(text, params.shingle)
    if not sh or len(sh) < params.min_shingles:
        return None
    t = _template(params.num_perm, params.seed)
    m = MinHash(num_perm=params.num_perm, seed=params.seed, permutations=t.permutations, scheme=SCHEME)
    m.update_batch([s.encode("utf-8") for s in sh])
    return np.asarray(m.hashvalues, dtype=np.uint32)


def estimate(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard of two signatures (share of equal slots)."""
    return float(np.count_nonzero(a == b)) / len(a)


def _minhash(sig: np.ndarray, params: ClusterParams) -> MinHash:
    """A MinHash around stored hash values, for the LSH (the shared permutations: generating
    them per object costs more than the rest of clustering)."""
    t = _template(params.num_perm, params.seed)
    return MinHash(seed=params.seed, hashvalues=sig, permutations=t.permutations, scheme=SCHEME)


def _blob(sig: np.ndarray | None) -> bytes | None:
    return None if sig is None else sig.astype("<u4").tobytes()


def _sig(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def components(sigs: dict[str, np.ndarray | None], threshold: float) -> list[list[str]]:
    """Connected components of docs linked by estimated Jaccard >= threshold, largest first
    (ties: smallest doc id), each sorted."""
    ids = sorted(sigs)
    parent = {d: d for d in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    with_sig = [d for d in ids if sigs[d] is not None]
    if with_sig:
        mat = np.stack([sigs[d] for d in with_sig])
        for i, d in enumerate(with_sig[:-1]):
            sims = (mat[i + 1:] == mat[i]).mean(axis=1)
            for j in np.nonzero(sims >= threshold)[0]:
                parent[find(with_sig[i + 1 + int(j)])] = find(d)
    groups: dict[str, list[str]] = {}
    for d in ids:
        groups.setdefault(find(d), []).append(d)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


class Clusterer:
    """The clusters of one index database. Every method that writes takes the open transaction's
    connection; the in-memory LSH follows what this process committed."""

    def __init__(self, params: ClusterParams | None = None):
        self.params = params or load_params()
        self._lsh: MinHashLSH | None = None
        self._generation: str | None = None
        self._lock = threading.RLock()

    @staticmethod
    def create_schema(conn: sqlite3.Connection) -> None:
        conn.executescript(SCHEMA)

    # -- writing (inside the caller's transaction) -----------------------------------------
    def assign(self, c: sqlite3.Connection, docs: Sequence[ClusterDoc]) -> set[str]:
        """Cluster new or changed documents (in order, so copies within one batch find each
        other). Returns the cluster ids touched."""
        with self._lock:
            try:
                lsh = self._ready(c)
                touched: set[str] = set()
                for d in docs:
                    touched |= self._assign_one(c, lsh, d)
                self._refresh(c, touched)
                self._bump(c)
                return touched
            except BaseException:
                self._lsh = None  # the transaction rolls back: rebuild from SQLite next time
                raise

    def remove(self, c: sqlite3.Connection, doc_ids: Iterable[str]) -> set[str]:
        """Forget documents and re-split what is left of their clusters."""
        with self._lock:
            try:
                lsh = self._ready(c)
                touched: set[str] = set()
                for doc_id in doc_ids:
                    cid = self._detach(c, lsh, doc_id)
                    if cid is not None:
                        touched.add(cid)
                touched |= self._resplit(c, touched)
                self._refresh(c, touched)
                self._bump(c)
                return touched
            except BaseException:
                self._lsh = None
                raise

    def _assign_one(self, c: sqlite3.Connection, lsh: MinHashLSH, d: ClusterDoc) -> set[str]:
        p = self.params
        sig = signature(d.text, p)
        blob = _blob(sig)
        row = c.execute("SELECT cluster_id, signature, title, source, date FROM doc_clusters WHERE doc_id=?",
                        (d.doc_id,)).fetchone()
        if row is not None and row[1] == blob:
            if tuple(row[2:]) != (d.title, d.source, d.date):  # same text, new metadata
                c.execute("UPDATE doc_clusters SET title=?, source=?, date=? WHERE doc_id=?",
                          (d.title, d.source, d.date, d.doc_id))
                return {row[0]}
            return set()
        touched: set[str] = set()
        if row is not None:  # changed text: leave the old cluster, join again
            old = self._detach(c, lsh, d.doc_id)
            touched |= {old} | self._resplit(c, {old})
        linked: set[str] = set()
        mh = _minhash(sig, p) if sig is not None else None
        if mh is not None:
            cand = [k for k in lsh.query(mh) if k != d.doc_id]
            for i in range(0, len(cand), 500):
                part = cand[i:i + 500]
                q = f"SELECT cluster_id, signature FROM doc_clusters WHERE doc_id IN ({','.join('?' * len(part))})"
                for cid, other in c.execute(q, part):
                    o = _sig(other)
                    if o is not None and estimate(sig, o) >= p.threshold:
                        linked.add(cid)
        if not linked:
            cid = self._new_id(c, d.doc_id)
        else:
            sizes = {x: c.execute("SELECT COUNT(*) FROM doc_clusters WHERE cluster_id=?", (x,)).fetchone()[0]
                     for x in linked}
            cid = min(linked, key=lambda x: (-sizes[x], x))
            others = sorted(linked - {cid})
            if others:
                c.execute(f"UPDATE doc_clusters SET cluster_id=? WHERE cluster_id IN ({','.join('?' * len(others))})",
                          [cid, *others])
            touched |= linked
        c.execute("INSERT OR REPLACE INTO doc_clusters VALUES (?,?,?,?,?,?)",
                  (d.doc_id, cid, d.title, d.source, d.date, blob))
        if mh is not None:
            lsh.insert(d.doc_id, mh, check_duplication=False)
        touched.add(cid)
        return touched

    def _detach(self, c: sqlite3.Connection, lsh: MinHashLSH, doc_id: str) -> str | None:
        row = c.execute("SELECT cluster_id FROM doc_clusters WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            return None
        c.execute("DELETE FROM doc_clusters WHERE doc_id=?", (doc_id,))
        if doc_id in lsh:
            lsh.remove(doc_id)
        return row[0]

    def _resplit(self, c: sqlite3.Connection, cluster_ids: Iterable[str]) -> set[str]:
        """Split clusters that lost a member into their connected components; returns new ids."""
        new: set[str] = set()
        for cid in sorted(cluster_ids):
            sigs = {d: _sig(s) for d, s in c.execute(
                "SELECT doc_id, signature FROM doc_clusters WHERE cluster_id=?", (cid,))}
            if len(sigs) < 2:
                continue
            for comp in components(sigs, self.params.threshold)[1:]:
                nid = self._new_id(c, comp[0])
                c.executemany("UPDATE doc_clusters SET cluster_id=? WHERE doc_id=?", [(nid, d) for d in comp])
                new.add(nid)
        return new

    @staticmethod
    def _new_id(c: sqlite3.Connection, doc_id: str) -> str:
        cid, n = doc_id, 1
        while c.execute("SELECT 1 FROM doc_clusters WHERE cluster_id=? LIMIT 1", (cid,)).fetchone():
            n += 1
            cid = f"{doc_id}~{n}"
        return cid

    @staticmethod
    def _refresh(c: sqlite3.Connection, cluster_ids: Iterable[str]) -> None:
        """Recompute the clusters rows of these ids (size, sources, dates, title)."""
        for cid in cluster_ids:
            rows = c.execute("SELECT doc_id, title, source, date FROM doc_clusters WHERE cluster_id=? "
                             "ORDER BY date, doc_id", (cid,)).fetchall()
            if not rows:
                c.execute("DELETE FROM clusters WHERE cluster_id=?", (cid,))
                continue
            sources = sorted({r[2] for r in rows if r[2]})
            dates = [r[3] for r in rows if r[3]]
            c.execute("INSERT OR REPLACE INTO clusters VALUES (?,?,?,?,?,?)",
                      (cid, len(rows), json.dumps(sources, ensure_ascii=False),
                       min(dates) if dates else "", max(dates) if dates else "", rows[0][1] or ""))

    # -- the in-memory LSH -----------------------------------------------------------------
    def _ready(self, c: sqlite3.Connection) -> MinHashLSH:
        """The LSH over every stored signature, rebuilt when missing or another writer moved on."""
        gen = self._stored_generation(c)
        if self._lsh is None or gen != self._generation:
            p = self.params
            lsh = MinHashLSH(threshold=p.threshold, num_perm=p.num_perm)
            with lsh.insertion_session() as session:
                for doc_id, blob in c.execute("SELECT doc_id, signature FROM doc_clusters WHERE signature IS NOT NULL"):
                    session.insert(doc_id, _minhash(_sig(blob), p), check_duplication=False)
            self._lsh, self._generation = lsh, gen
        return self._lsh

    @staticmethod
    def _stored_generation(c: sqlite3.Connection) -> str:
        row = c.execute("SELECT value FROM meta WHERE key='cluster_generation'").fetchone()
        return row[0] if row else "0"

    def _bump(self, c: sqlite3.Connection) -> None:
        gen = str(int(self._stored_generation(c)) + 1)
        c.execute("INSERT OR REPLACE INTO meta VALUES ('cluster_generation', ?)", (gen,))
        self._generation = gen

    def stored_params(self, c: sqlite3.Connection) -> str:
        row = c.execute("SELECT value FROM meta WHERE key='cluster_params'").fetchone()
        return row[0] if row else ""

    def reset(self, c: sqlite3.Connection) -> None:
        """Drop every cluster (new parameters); the caller re-assigns the documents."""
        with self._lock:
            c.execute("DELETE FROM doc_clusters")
            c.execute("DELETE FROM clusters")
            c.execute("INSERT OR REPLACE INTO meta VALUES ('cluster_params', ?)", (self.params.key(),))
            self._lsh = None

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def copies(conn: sqlite3.Connection, doc_ids: Sequence[str]) -> dict[str, tuple[str, tuple[ClusterCopy, ...]]]:
        """Each doc's (cluster_id, the other copies in its cluster, oldest first)."""
        ids = list(dict.fromkeys(doc_ids))
        cluster_of: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = f"SELECT doc_id, cluster_id FROM doc_clusters WHERE doc_id IN ({','.join('?' * len(part))})"
            cluster_of.update(conn.execute(q, part).fetchall())
        members: dict[str, list[ClusterCopy]] = {}
        cids = sorted(set(cluster_of.values()))
        for i in range(0, len(cids), 500):
            part = cids[i:i + 500]
            ph = ",".join("?" * len(part))
            q = (f"SELECT k.cluster_id, k.doc_id, k.title, k.source, k.date, d.url FROM doc_clusters k "
                 f"LEFT JOIN docs d ON d.doc_id = k.doc_id WHERE k.cluster_id IN "
                 f"(SELECT cluster_id FROM clusters WHERE cluster_id IN ({ph}) AND size > 1) ORDER BY k.date, k.doc_id")
            for cid, doc_id, title, source, date, url in conn.execute(q, part):
                members.setdefault(cid, []).append(ClusterCopy(doc_id, title or "", source or "", date or "", url or ""))
        return {d: (cid, tuple(m for m in members.get(cid, ()) if m.doc_id != d)) for d, cid in cluster_of.items()}

    @staticmethod
    def stats(conn: sqlite3.Connection, largest: int = 5) -> dict:
        n, multi, in_multi = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size > 1), 0), COALESCE(SUM(CASE WHEN size > 1 THEN size END), 0) "
            "FROM clusters").fetchone()
        top = [{"cluster_id": r[0], "size": r[1], "title": r[2] or "", "sources": json.loads(r[3] or "[]"),
                "first_date": r[4] or "", "last_date": r[5] or ""}
               for r in conn.execute("SELECT cluster_id, size, title, sources, first_date, last_date FROM clusters "
                                     "WHERE size > 1 ORDER BY size DESC, cluster_id LIMIT ?", (largest,))]
        return {"clusters": n, "multi_doc_clusters": multi, "clustered_documents": in_multi, "largest_clusters": top}
