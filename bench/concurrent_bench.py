"""Concurrent users against the running app (a benchmark, not a test).

  python bench/concurrent_bench.py --data-dir DIR [--users 8] [--questions 20]
         [--during-ingest 1000 [--ingest-via cli|upload]] [--chroma-server] [--embedding-server]
         [--json OUT]
  python bench/concurrent_bench.py --build 300 --users 2 --questions 3    # a small index first

Starts the real app (`rag serve`, loopback only) over DIR, lets it answer one question (model
load), then drives it through gradio_client's /ask route with N simultaneous users, each with
its own client, asking M questions of evals/data/news.questions.jsonl (distinct across users
while there are enough). Reports p50/p95 per answer, errors, whether every user got the answer to
its own question (the answer echoes the question; answer ids are all distinct), and the server's
RSS before and after (and its peak). The baseline measured in the same run is one user asking
alone (the first --baseline questions, default 10): the ratio says what sharing costs.

--during-ingest K ingests K more articles while the users ask: records of the 31k JSONL the index
does not hold (by id and title), or, when too few are left, K of its own documents removed first
from the working copy and ingested back from a slice file. It works on a copy of DIR (--in-place
to write DIR itself). --ingest-via cli runs `rag ingest SLICE` as its own process (one writer,
the app a reader: with the embedded Chroma the app's process does not see the new vectors, which
the bench reports); --ingest-via upload sends the slice through the app's /upload (the app is the
writer). --chroma-server serves DIR's Chroma folder with `chroma run` on a free loopback port and
sets RAG_CHROMA_URL for the app and the ingest. --embedding-server serves the real offline model
from tests/embedding_server.py and sets RAG_EMBEDDING_URL. Everything started here is stopped on
exit; --timeout bounds the whole run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    NEWS_QUESTIONS,
    app_server,
    bench_env,
    chroma_server,
    copy_articles,
    embedding_server,
    indexed,
    jsonl_slice,
    pct,
    questions,
    rag_cmd,
    rss_mb,
)


def build_small(n: int, data_dir: Path, env: dict[str, str]) -> None:
    """Index N ant5000 articles with `rag ingest` (the real model)."""
    src = copy_articles(n, data_dir.parent / "articles")
    t0 = time.perf_counter()
    subprocess.run(rag_cmd(data_dir, "ingest", str(src), "--json"), cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    print(f"built an index of {n} ant5000 articles in {time.perf_counter() - t0:.0f} s")


def prepare_slice(data_dir: Path, k: int, work: Path, how: str = "auto") -> tuple[Path, int, str]:
    """K articles the index lacks, as a JSONL file; (path, n, how they were chosen). how: "new"
    (records the index does not hold), "held" (K it holds, removed from the working copy first),
    "auto" (new while there are enough)."""
    ids, titles = indexed(data_dir)
    if how != "held":
        path, n = jsonl_slice(work / "more.jsonl", k, exclude_ids=ids, exclude_titles=titles)
        if n >= k or how == "new":
            return path, n, f"{n} records of the 31k JSONL the index did not hold"
    # The index holds (nearly) the whole JSONL: make room in the working copy, then add them back.
    from rag.config import load_settings
    from rag.index.store import Store

    last = last_indexed_records(ids, k)
    path, n = jsonl_slice(work / "more.jsonl", k, only_ids=set(last))
    removed = Store(load_settings(env={}, data_dir=data_dir), _NoEmbedder()).remove_docs(last)
    return path, n, (f"{n} records of the 31k JSONL, removed from the working copy first ({removed} documents) "
                     "and ingested back")


def last_indexed_records(ids: set[str], k: int) -> list[str]:
    """The ids of the last K records of the 31k JSONL that the index holds."""
    import gzip

    from bench.common import BIG_JSONL

    held = []
    with gzip.open(BIG_JSONL, "rt", encoding="utf-8") as f:
        for line in f:
            docno = json.loads(line).get("docno") if line.strip() else None
            if docno in ids:
                held.append(docno)
    return held[-k:]


class _NoEmbedder:
    """Removing documents embeds nothing; the store only needs an object."""

    model_id = dimension = document_prompt = None


def ask_all(url: str, users: list[list[str]], log: list, start: threading.Barrier | None = None) -> float:
    """Each user (its own client, its own thread) asks its questions in turn; returns the wall time."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in users]
    barrier = threading.Barrier(len(users) + 1)

    def user(i: int, client, qs: list[str]) -> None:
        barrier.wait()
        for q in qs:
            t0 = time.perf_counter()
            try:
                out = client.predict(q, api_name="/ask")
                log.append({"user": i, "question": q, "s": time.perf_counter() - t0, "ok": True,
                            "own": isinstance(out, dict) and out.get("question") == q,
                            "answer_id": (out or {}).get("answer_id"), "refused": (out or {}).get("refused")})
            except Exception as e:  # the bench counts every failure, whatever its type
                log.append({"user": i, "question": q, "s": time.perf_counter() - t0, "ok": False,
                            "error": f"{type(e).__name__}: {e}"[:300]})

    threads = [threading.Thread(target=user, args=(i, c, qs), daemon=True) for i, (c, qs) in
               enumerate(zip(clients, users))]
    for t in threads:
        t.start()
    if start is not None:
        start.wait()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def summary(log: list) -> dict:
    ok = [r for r in log if r["ok"]]
    lat = [r["s"] for r in ok]
    ids = [r["answer_id"] for r in ok]
    return {"answers": len(ok), "errors": len(log) - len(ok),
            "p50_s": statistics.median(lat) if lat else float("nan"), "p95_s": pct(lat, 95),
            "max_s": max(lat) if lat else float("nan"),
            "own_answers": sum(r["own"] for r in ok), "distinct_answer_ids": len(set(ids)),
            "every_user_got_its_own": bool(ok) and all(r["own"] for r in ok) and len(set(ids)) == len(ok)
            and len(ok) == len(log),
            "error_samples": sorted({r["error"] for r in log if not r["ok"]})[:3]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, help="an existing index (else --build N makes one)")
    ap.add_argument("--build", type=int, default=0, help="first index N ant5000 articles into a temp data dir")
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--questions", type=int, default=20, help="questions per user")
    ap.add_argument("--baseline", type=int, default=10, help="questions one user asks alone first")
    ap.add_argument("--questions-file", type=Path, default=NEWS_QUESTIONS)
    ap.add_argument("--during-ingest", type=int, default=0, metavar="K")
    ap.add_argument("--ingest-via", choices=["cli", "upload"], default="cli")
    ap.add_argument("--slice", choices=["auto", "new", "held"], default="auto",
                    help="the K articles: new to the index, or held ones removed first (auto: new while enough)")
    ap.add_argument("--in-place", action="store_true", help="ingest into DIR itself, not a copy")
    ap.add_argument("--chroma-server", action="store_true")
    ap.add_argument("--embedding-server", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds for the whole run")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    if not args.data_dir and not args.build:
        ap.error("give --data-dir DIR (an index) or --build N")
    if args.in_place and args.slice != "new":
        ap.error("--in-place takes --slice new only (held articles are removed first, from a copy)")
    timer = threading.Timer(args.timeout, lambda: (print("timed out", file=sys.stderr), _exit(124)))
    timer.daemon = True
    timer.start()
    work = Path(tempfile.mkdtemp(prefix="concurrent-bench-"))
    try:
        result = run(args, work)
    finally:
        timer.cancel()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0 if result["users"]["errors"] == 0 and result["users"]["every_user_got_its_own"] else 1


def _exit(code: int) -> None:
    import os

    os._exit(code)


def run(args, work: Path) -> dict:
    qs = questions(args.questions_file)
    with ExitStack() as stack:
        rag_env: dict[str, str] = {}
        embed_pid = None
        if args.embedding_server:
            url, embed_proc = stack.enter_context(embedding_server(work / "embedding-server.log",
                                                                   work / "data" if args.build else args.data_dir))
            rag_env["RAG_EMBEDDING_URL"], embed_pid = url, embed_proc.pid
        env = bench_env(**rag_env)
        data_dir = args.data_dir
        if args.build:
            data_dir = work / "data"
            build_small(args.build, data_dir, env)
        elif args.during_ingest and not args.in_place:
            copy = work / "data"
            t0 = time.perf_counter()
            shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("uploads", "*.lock"))
            print(f"working on a copy of {data_dir} ({time.perf_counter() - t0:.0f} s to copy)")
            data_dir = copy
        slice_path, slice_note = None, ""
        if args.during_ingest:
            slice_path, n, slice_note = prepare_slice(data_dir, args.during_ingest, work, args.slice)
            print(f"ingest during the run: {slice_note}")
        chroma_pid = None
        if args.chroma_server:
            url, chroma_proc = stack.enter_context(chroma_server(data_dir / "index" / "chroma", work / "chroma.log"))
            rag_env["RAG_CHROMA_URL"], chroma_pid = url, chroma_proc.pid
            env = bench_env(**rag_env)
        t_start = time.perf_counter()
        url, proc = stack.enter_context(app_server(data_dir, env, work / "app.log"))
        from gradio_client import Client

        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        first = client.predict(qs[0], api_name="/ask")
        warm = {"server_up_s": t0 - t_start, "first_answer_s": time.perf_counter() - t0}
        stats = client.predict(api_name="/stats")
        print(f"app up in {warm['server_up_s']:.1f} s over {stats['documents']} documents, {stats['chunks']} chunks "
              f"(chroma: {stats['chroma']}); first answer {warm['first_answer_s']:.1f} s"
              f" ({'refused' if first.get('refused') else 'answered'})")
        alone: list = []
        ask_all(url, [qs[1:1 + args.baseline]], alone)
        base = summary(alone)
        print(f"one user alone: p50 {base['p50_s']:.2f} s, p95 {base['p95_s']:.2f} s over {base['answers']} answers")

        n = args.users * args.questions
        pool = qs[1 + args.baseline:] if len(qs) > n + 1 + args.baseline else qs
        users = [[pool[(u * args.questions + j) % len(pool)] for j in range(args.questions)] for u in range(args.users)]
        rss_before = rss_mb(proc.pid)
        peak, stop = [rss_before], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(proc.pid))
                time.sleep(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        ingest = _start_ingest(args, slice_path, data_dir, env, url, work) if slice_path else None
        log: list = []
        wall = ask_all(url, users, log)
        ingest_running_at_end = ingest is not None and ingest.running()
        ingest_result = ingest.finish() if ingest else None
        stop.set()
        sampler.join()
        rss_after = rss_mb(proc.pid)
        users_summary = summary(log)
        after = client.predict(api_name="/stats")
        result = {
            "index": {"documents": stats["documents"], "chunks": stats["chunks"], "chroma": stats["chroma"],
                      "embedding": rag_env.get("RAG_EMBEDDING_URL", "in-process")},
            "config": {"users": args.users, "questions_per_user": args.questions,
                       "during_ingest": args.during_ingest, "ingest_via": args.ingest_via if args.during_ingest else "",
                       "chroma_server": args.chroma_server, "embedding_server": args.embedding_server},
            "warm": warm, "alone": base, "users": users_summary, "wall_s": wall,
            "answers_per_s": users_summary["answers"] / wall if wall else 0.0,
            "p50_ratio_to_alone": users_summary["p50_s"] / base["p50_s"] if base["answers"] else float("nan"),
            "server_rss_mb": {"before": rss_before, "peak": peak[0], "after": rss_after},
        }
        if chroma_pid:
            result["chroma_server_rss_mb"] = rss_mb(chroma_pid)
        if embed_pid:
            result["embedding_server_rss_mb"] = rss_mb(embed_pid)
        if ingest_result is not None:
            ingest_result.update(visibility(client, slice_path))
            ingest_result.update({"slice": slice_note, "running_when_users_finished": ingest_running_at_end,
                                  "app_sees_documents": after["documents"], "app_sees_vectors": after["vectors"],
                                  "documents_before": stats["documents"]})
            result["ingest"] = ingest_result
        u = users_summary
        print(f"{args.users} users x {args.questions} questions{' during an ingest' if ingest else ''}: "
              f"p50 {u['p50_s']:.2f} s, p95 {u['p95_s']:.2f} s (alone p50 {base['p50_s']:.2f} s: "
              f"{result['p50_ratio_to_alone']:.1f}x), errors {u['errors']}, own answers {u['own_answers']}/{u['answers']}, "
              f"server RSS {rss_before:.0f} -> {rss_after:.0f} MB (peak {peak[0]:.0f})")
        return result


def visibility(client, slice_path: Path, n: int = 20) -> dict:
    """Whether the app's own process finds the newly ingested documents, dense and lexical: each
    of the first N records' title asked with /search (top 5), counted when its doc id comes back."""
    with open(slice_path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()][:n]
    seen = {"dense": 0, "lexical": 0}
    for rec in recs:
        query = (rec.get("title") or rec.get("text", "")[:120]).strip()
        for mode in seen:
            out = client.predict(query, 5, mode, api_name="/search")
            seen[mode] += any(r["doc_id"] == rec.get("docno") for r in out["results"])
    return {"probed_new_documents": len(recs), "app_finds_new_dense": seen["dense"],
            "app_finds_new_lexical": seen["lexical"]}


class _Ingest:
    def __init__(self, thread: threading.Thread, state: dict, proc: subprocess.Popen | None = None):
        self.thread, self.state, self.proc = thread, state, proc

    def running(self) -> bool:
        return self.thread.is_alive()

    def finish(self) -> dict:
        self.thread.join()
        return self.state


def _start_ingest(args, slice_path: Path, data_dir: Path, env: dict, url: str, work: Path) -> _Ingest:
    state: dict = {"via": args.ingest_via}

    def via_cli() -> None:
        t0 = time.perf_counter()
        p = subprocess.run(rag_cmd(data_dir, "ingest", str(slice_path), "--json", "--wait", "600"), cwd=ROOT, env=env,
                           capture_output=True, text=True)
        state["seconds"] = time.perf_counter() - t0
        state["exit"] = p.returncode
        try:
            rep = json.loads(p.stdout)
            state.update(added=rep["added"], chunks=rep["chunks"], failed=rep["failed"])
        except ValueError:
            state["stderr"] = p.stderr[-500:]

    def via_upload() -> None:
        from gradio_client import Client, handle_file

        t0 = time.perf_counter()
        try:
            out = Client(url, verbose=False).predict([handle_file(str(slice_path))], api_name="/upload")
            state.update(added=out.get("added"), chunks=out.get("chunks"), exit=0)
        except Exception as e:  # reported, not raised: the users' figures still stand
            state.update(exit=1, error=f"{type(e).__name__}: {e}"[:300])
        state["seconds"] = time.perf_counter() - t0

    t = threading.Thread(target=via_cli if args.ingest_via == "cli" else via_upload, daemon=True)
    t.start()
    time.sleep(3.0)  # let it start reading and embedding before the users come
    return _Ingest(t, state)


if __name__ == "__main__":
    raise SystemExit(main())
