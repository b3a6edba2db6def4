"""Query latency (not a test): warm extractive `ask` and `search` over an existing index, where the
time goes, and the cold start of `rag ask`.

  python bench/query_bench.py --data-dir DIR [--questions Q.jsonl] [--n 200] [--cold 3] [--json OUT]

1. warm: p50/p95 per stage over N questions (default: the first 200 of
   evals/data/news.questions.jsonl, written over the news archive), against a baseline measured
   in the same run (the bare query embedding, which no pipeline can avoid): the query embedding,
   the dense (Chroma) and lexical (FTS5 stems, roots) searches alone, the whole hybrid search
   (fusion, near-duplicate and per-document caps, chunk loading, wire-copy clusters), and the
   extractive answer. Targets at the full archive (31,525 articles): search p50 < 100 ms, ask
   p50 < 300 ms.
   --reader instead compares warm `ask` with the built-in reader off and on, in the same run.
2. --cold K: `rag ask Q --json` as a fresh process K times (process start to answer; target
   < 5 s), then one child that times each phase of that start (imports, opening the index, the
   model, the first answer) to say where the time goes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import NEWS_QUESTIONS, bench_env, pct, rag_cmd  # noqa: E402

PHASES_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
import rag.config
mark("python start + import rag.config")
import rag.index.store, rag.retrieval.hybrid
mark("import the index and retrieval (chromadb, datasketch)")
import rag.answering.assistant
mark("import the answerer")
from rag.text.arabic import roots
roots("تمهيد")
mark("load the root stemmer (nltk)")
from rag.config import load_settings
from rag.services import make_assistant, open_archive
settings = load_settings(data_dir=sys.argv[1])
archive = open_archive(settings)
mark("open the index (Chroma client, SQLite, manifest)")
archive.embedder.embed_query("تمهيد")
mark("load the embedding model (tokenizer, ONNX session)")
assistant = make_assistant(settings, archive)
answer = assistant.ask(sys.argv[2])
mark("the first answer (Chroma loads its HNSW segment, caches fill)")
prev, out = t0, []
for name, t in marks:
    out.append([name, t - prev])
    prev = t
print(json.dumps({"phases": out, "total_s": prev - t0}))
"""


def warm(data_dir: Path, qs: list[str]) -> dict:
    from rag.config import load_settings
    from rag.services import make_assistant, open_archive
    from rag.types import Filters

    settings = load_settings(data_dir=data_dir)
    archive = open_archive(settings)
    store, retriever = archive.store, archive.retriever
    assistant = make_assistant(settings, archive)
    assistant.ask(qs[0])  # warm: model load, caches
    stages: dict[str, list[float]] = {k: [] for k in ("query embedding (baseline)", "dense search alone",
                                                       "lexical search alone (stems + roots)", "search",
                                                       "extractive ask")}

    def timed(name, fn, *a):
        t0 = time.perf_counter()
        out = fn(*a)
        stages[name].append(time.perf_counter() - t0)
        return out

    # The embedder remembers only its last query; the trailing spaces (which the tokenizer drops)
    # keep every stage from reusing another stage's vector, so each pays for its own embedding.
    for q in qs:
        vec = timed("query embedding (baseline)", store.embedder.embed_query, q + " ")
        timed("dense search alone", store.dense_search, vec, settings.fetch_k, Filters())
        timed("lexical search alone (stems + roots)", lambda t: (store.lexical_search(t, settings.fetch_k),
                                                                 store.lexical_search(t, settings.fetch_k, field="roots")),
              q)
        timed("extractive ask", assistant.ask, q)
        timed("search", retriever.search, q + "  ")
    stats = store.stats()
    base = statistics.median(stages["query embedding (baseline)"])
    print(f"index: {stats['documents']:,} documents, {stats['chunks']:,} chunks; {len(qs)} questions")
    out = {"documents": stats["documents"], "chunks": stats["chunks"], "questions": len(qs), "stages": {}}
    for name, xs in stages.items():
        p50, p95 = statistics.median(xs), pct(xs, 95)
        out["stages"][name] = {"p50_ms": 1000 * p50, "p95_ms": 1000 * p95}
        print(f"{name:38s} p50 {1000 * p50:6.0f} ms   p95 {1000 * p95:6.0f} ms   ratio to baseline p50 {p50 / base:.1f}x")
    s, a = out["stages"]["search"], out["stages"]["extractive ask"]
    print(f"targets: search p50 {s['p50_ms']:.0f} ms (< 100), ask p50 {a['p50_ms']:.0f} ms (< 300)")
    return out


def reader_on_off(data_dir: Path, qs: list[str]) -> dict:
    """Warm `ask` with the built-in reader off and on (RAG_READER), the same questions asked by
    both in alternating order over one index, so load on the machine falls on both alike."""
    from rag.config import load_settings
    from rag.retrieval.hybrid import HybridRetriever
    from rag.services import Archive, make_assistant, open_archive

    off_settings = load_settings(data_dir=data_dir).replace(reader="off")
    archive = open_archive(off_settings)
    on_settings = archive.store.settings.replace(reader="builtin")
    on_archive = Archive(on_settings, archive.store, HybridRetriever(on_settings, archive.store))
    askers = {"off": make_assistant(off_settings, archive), "on": make_assistant(on_settings, on_archive)}
    for a in askers.values():
        a.ask(qs[0])  # warm: model and reader load, caches
    times: dict[str, list[float]] = {"off": [], "on": []}
    for i, q in enumerate(qs):
        for name in (("off", "on") if i % 2 == 0 else ("on", "off")):
            t0 = time.perf_counter()
            askers[name].ask(q + (" " if name == "on" else ""))  # each pays for its own query embedding
            times[name].append(time.perf_counter() - t0)
    stats = archive.store.stats()
    out = {"documents": stats["documents"], "chunks": stats["chunks"], "questions": len(qs)}
    print(f"index: {stats['documents']:,} documents, {stats['chunks']:,} chunks; {len(qs)} questions")
    for name, xs in times.items():
        out[name] = {"p50_ms": 1000 * statistics.median(xs), "p95_ms": 1000 * pct(xs, 95)}
        print(f"ask, reader {name:3s}  p50 {out[name]['p50_ms']:6.0f} ms   p95 {out[name]['p95_ms']:6.0f} ms")
    out["ratio_p50"] = out["on"]["p50_ms"] / out["off"]["p50_ms"]
    out["ratio_p95"] = out["on"]["p95_ms"] / out["off"]["p95_ms"]
    print(f"reader on / off: p50 {out['ratio_p50']:.2f}x, p95 {out['ratio_p95']:.2f}x (target: on p50 < 300 ms)")
    return out


def cold(data_dir: Path, question: str, runs: int) -> dict:
    env = bench_env()
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(rag_cmd(data_dir, "ask", question, "--json"), cwd=ROOT, env=env, capture_output=True,
                           text=True)
        walls.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise RuntimeError(f"rag ask failed: {p.stderr[-400:]}")
    child = subprocess.run([sys.executable, "-c", PHASES_CHILD, str(data_dir), question], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True)
    phases = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"cold `rag ask` (process start to answer), {runs} runs: median {statistics.median(walls):.2f} s "
          f"({', '.join(f'{w:.2f}' for w in walls)}; target < 5 s). Where the time goes (one run, "
          f"{phases['total_s']:.2f} s in all):")
    for name, s in phases["phases"]:
        print(f"  {name:62s} {s:5.2f} s")
    return {"runs_s": walls, "median_s": statistics.median(walls), "phases": phases}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--questions", type=Path, default=NEWS_QUESTIONS)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--cold", type=int, default=0, metavar="K", help="also time K cold `rag ask` processes")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--reader", action="store_true",
                    help="only compare warm ask with the built-in reader off and on (RAG_READER)")
    args = ap.parse_args(argv)
    if not args.questions.is_file():
        print(f"skipped: {args.questions} is absent")
        return 0
    qs = [json.loads(line)["question"] for line in args.questions.open(encoding="utf-8") if line.strip()][: args.n]
    result = {"reader": reader_on_off(args.data_dir, qs)} if args.reader else {"warm": warm(args.data_dir, qs)}
    if args.cold:
        result["cold"] = cold(args.data_dir, qs[0], args.cold)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
