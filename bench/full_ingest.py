"""The full-archive ingest with the real model, and the kill-and-resume check (for
bench/ingest_bench.py --full / --resume; a benchmark, not a test).

Each ingest is `rag ingest SRC --json` in its own process, as a user runs it (its progress bar on
this terminal's stderr), timed from outside, its peak RSS read from the kernel (wait4).
"""
from __future__ import annotations

import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import NEWS_QUESTIONS, ROOT, bench_env, rag_cmd
from rag.index.embeddings import INT8_SUFFIX
from rag.index.manifest import recorded

FULL_RECORDS = 31525


def source(big: Path, limit: int, tmp: Path | None = None) -> Path:
    """The JSONL to ingest: the whole file, or its first `limit` records, written once to a
    fixed place outside the repo (the system temp dir), so that an index built from it in one run
    is recognised as complete by the next (its file record names that path)."""
    if not limit:
        return big
    dst = Path(tempfile.gettempdir()) / "rag-bench-slices" / f"first-{limit}.jsonl"
    if dst.is_file() and count_records(dst) == limit:
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_suffix(f".{os.getpid()}.part")
    with gzip.open(big, "rt", encoding="utf-8") as src, open(part, "w", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i >= limit:
                break
            out.write(line)
    part.replace(dst)
    return dst


def count_records(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def _docs(data_dir: Path) -> int:
    db = Path(data_dir) / "index" / "archive.sqlite"
    if not db.is_file():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM docs").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:  # created but not yet initialised, or busy: try again later
        return 0


MARKER = "bench-ingested.json"  # written by run_full when its ingest ran to the end


def complete(data_dir: Path, src: Path) -> bool:
    """Whether an ingest of src into data_dir ran to its end. The index records a file only when
    every record of it landed (one with failed records is retried on the next run), so a run
    whose ingest ended with some records refused (exit 3) is known by run_full's marker."""
    marker = Path(data_dir) / MARKER
    try:
        if json.loads(marker.read_text(encoding="utf-8")).get("src") == str(src.resolve()):
            return True
    except (OSError, ValueError, AttributeError):
        pass
    db = Path(data_dir) / "index" / "archive.sqlite"
    if not db.is_file():
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT 1 FROM files WHERE path=?", (str(src.resolve()),)).fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        con.close()


def ingest_child(src: Path, data_dir: Path, *, env: dict[str, str] | None = None,
                 kill_at_docs: int | None = None, kill_delay_s: float = 0.0) -> dict:
    """`rag ingest src --json` into data_dir; SIGKILLed once kill_at_docs documents have landed
    (plus kill_delay_s, so the kill can fall anywhere in the next batch)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(rag_cmd(data_dir, "ingest", str(src), "--json"), cwd=ROOT, env=env or bench_env(),
                                stdout=out)
        killed_at = None
        while True:  # wait4, not Popen.poll: the kernel's rusage (peak RSS) comes with the reaping
            watching = kill_at_docs is not None and killed_at is None
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if watching else 0)
            if pid:
                break
            if _docs(data_dir) >= kill_at_docs:
                time.sleep(kill_delay_s)
                killed_at = _docs(data_dir)
                os.kill(proc.pid, signal.SIGKILL)  # not Popen.send_signal: it would reap (poll) first
            else:
                time.sleep(0.2)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        out.seek(0)
        text = out.read()
    code = proc.returncode
    res = {"seconds": seconds, "exit": code, "peak_rss_mb": usage.ru_maxrss / 1024}
    if kill_at_docs is not None:
        res.update(killed=code == -signal.SIGKILL, documents_when_killed=killed_at)
    try:
        rep = json.loads(text)
        res.update({k: rep[k] for k in ("added", "unchanged", "updated", "failed", "chunks", "total_chunks")})
    except ValueError:
        pass
    return res


def run_full(src: Path, data_dir: Path, *, backend: str = "", device: str = "",
             env_extra: dict[str, str] | None = None) -> dict:
    """Figure 1: the ingest of src with the real model, and what it says about the whole file.
    env_extra: more RAG_* settings for the child (e.g. RAG_EMBEDDING_URL)."""
    n = count_records(src)
    rag = {"RAG_EMBEDDING_BACKEND": backend, "RAG_DEVICE": device, **(env_extra or {})}
    print(f"ingesting {n:,} records of {src.name} into {data_dir} (real model{', ' + backend if backend else ''}"
          f"{', ' + device if device else ''}) ...", flush=True)
    res = ingest_child(src, data_dir, env=bench_env(**rag))
    if res["exit"] in (0, 3):  # ran to the end (3: some records refused, each named in the report)
        (Path(data_dir) / MARKER).write_text(json.dumps({"src": str(src.resolve()), "exit": res["exit"]}),
                                             encoding="utf-8")
    docs = res.get("added", 0) + res.get("updated", 0)
    res.update(records=n, articles_per_s=docs / res["seconds"], chunks_per_s=res.get("chunks", 0) / res["seconds"],
               backend=backend or "auto", device=device or "auto", data_dir=str(data_dir),
               embedding_model=recorded(Path(data_dir) / "index").get("embedding_model", ""))
    if n < FULL_RECORDS:
        res["estimated_full_s"] = FULL_RECORDS / max(res["articles_per_s"], 1e-9)
    print(f"  {docs:,} articles, {res.get('chunks', 0):,} chunks in {res['seconds']:.0f} s: "
          f"{res['articles_per_s']:.2f} articles/s, {res['chunks_per_s']:.1f} chunks/s, peak RSS "
          f"{res['peak_rss_mb'] / 1024:.2f} GB (target < 3 GB), exit {res['exit']}"
          + (f"; the whole file ({FULL_RECORDS:,}) would take ~{res['estimated_full_s'] / 3600:.1f} h at this rate"
             if "estimated_full_s" in res else ""), flush=True)
    return res


def resume_check(src: Path, clean_dir: Path, resumed_dir: Path, *, seed: int | None = None, queries: int = 50,
                 backend: str = "", device: str = "") -> dict:
    """Figure 1, resumability: killed at a random point, re-run, compared with the clean run
    (both runs with the clean run's backend and device settings)."""
    if not backend and recorded(Path(clean_dir) / "index").get("embedding_model", "").endswith(INT8_SUFFIX):
        backend = "onnx-int8"  # a new dir would get fp32 under auto, and compare() would refuse the pair
    env = bench_env(RAG_EMBEDDING_BACKEND=backend, RAG_DEVICE=device)
    rng = random.Random(seed)
    n = count_records(src)
    share = rng.uniform(0.1, 0.9)
    target, delay = max(1, int(n * share)), rng.uniform(0.0, 3.0)
    print(f"resume check: ingest killed once {target:,} of {n:,} documents have landed (+{delay:.1f} s), then re-run",
          flush=True)
    first = ingest_child(src, resumed_dir, env=env, kill_at_docs=target, kill_delay_s=delay)
    if not first.get("killed"):
        print("  the ingest ended before the kill point (documents land a batch at a time): use more records",
              flush=True)
    second = ingest_child(src, resumed_dir, env=env)
    cmp = compare(clean_dir, resumed_dir, queries)
    res = {"records": n, "kill_share": share, "first": first, "rerun": second, **cmp}
    print(f"  killed with {first.get('documents_when_killed')} documents in; the re-run added {second.get('added')} "
          f"and embedded {second.get('chunks')} chunks in {second['seconds']:.0f} s; "
          f"equal to the clean run: counts {cmp['counts_equal']}, chunk ids {cmp['chunk_ids_equal']}, documents "
          f"{cmp['documents_equal']}, vectors (min cosine) {cmp['vectors_min_cosine']}; identical top-10 of "
          f"{cmp['queries']} questions: lexical {cmp['lexical_top10_identical']}, exact dense "
          f"{cmp['exact_dense_top10_identical']}, served dense {cmp['dense_top10_identical']} (overlap "
          f"{cmp['dense_top10_overlap']:.3f}), served hybrid {cmp['hybrid_top10_identical']} (overlap "
          f"{cmp['hybrid_top10_overlap']:.3f})", flush=True)
    return res


def compare(clean_dir: Path, other_dir: Path, queries: int = 50) -> dict:
    """Documents, chunks, vectors, clusters, chunk ids, the stored vectors themselves, and the
    top-10 of `queries` news questions: lexical, exact dense (brute force over the stored
    vectors) and as served (Chroma's HNSW, approximate: its graph depends on insertion order, so
    two indexes of the same vectors may differ deep in a ranking), dense and hybrid."""
    import numpy as np

    from rag.config import load_settings
    from rag.index.embeddings import get_embedder
    from rag.services import open_archive
    from rag.types import Filters

    s_clean, s_other = load_settings(data_dir=clean_dir), load_settings(data_dir=other_dir)
    emb = get_embedder(s_clean)
    a, b = open_archive(s_clean, embedder=emb), open_archive(s_other, embedder=emb)
    keys = ("documents", "chunks", "vectors", "clusters", "multi_doc_clusters")
    sa, sb = a.store.stats(), b.store.stats()
    (sql_a, dense_a), (sql_b, dense_b) = a.store.all_chunk_ids(), b.store.all_chunk_ids()
    docs_a = set(a.store.db.execute("SELECT doc_id, content_hash FROM docs").fetchall())
    docs_b = set(b.store.db.execute("SELECT doc_id, content_hash FROM docs").fetchall())
    ids = sorted(sql_a)
    va = a.store.vectors(ids)
    vb = b.store.vectors(ids) if sql_a == dense_b else None
    with open(NEWS_QUESTIONS, encoding="utf-8") as f:
        qs = [json.loads(line)["question"] for line in f if line.strip()][:queries]
    modes = ("lexical", "dense", "hybrid")
    same = dict.fromkeys((*modes, "exact_dense"), 0)
    overlap = dict.fromkeys(modes, 0.0)
    for q in qs:
        for mode in modes:
            ra = [h.chunk.id for h in a.retriever.search(q, Filters(), 10, mode=mode)]
            rb = [h.chunk.id for h in b.retriever.search(q, Filters(), 10, mode=mode)]
            same[mode] += ra == rb
            overlap[mode] += len(set(ra) & set(rb)) / len(ra) if ra else float(not rb)
        if vb is not None:
            qv = emb.embed_query(q)
            same["exact_dense"] += list(np.argsort(-(va @ qv))[:10]) == list(np.argsort(-(vb @ qv))[:10])
    n = max(1, len(qs))
    return {
        "clean": {k: sa[k] for k in keys}, "resumed": {k: sb[k] for k in keys},
        "counts_equal": all(sa[k] == sb[k] for k in keys),
        "chunk_ids_equal": sql_a == sql_b == dense_a == dense_b, "documents_equal": docs_a == docs_b,
        "vectors_min_cosine": float(np.min(np.sum(va * vb, axis=1))) if vb is not None and len(ids) else None,
        "queries": len(qs), **{f"{m}_top10_identical": same[m] for m in same},
        **{f"{m}_top10_overlap": overlap[m] / n for m in modes},
    }


if __name__ == "__main__":
    raise SystemExit("run it through bench/ingest_bench.py --full / --resume")
