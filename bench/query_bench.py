"""Warm query latency (not a test): extractive `ask` and `search` over an existing index.

  python bench/query_bench.py --data-dir DIR [--questions Q.jsonl] [--n 100]

Prints the index size and p50/p95 per stage, against a baseline measured in the same run
(the bare query embedding, which no pipeline can avoid). Target: extractive ask p50 < 300 ms
on an index of ~25k chunks. Use the eval index that `rag eval --contexts ... --distractors`
builds (data_dir/eval-index/...) to get that size without ingesting twice.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QA = ROOT.parent / "shared" / "data" / "qa" / "arcd.questions.jsonl"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--questions", type=Path, default=QA)
    ap.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    if not args.questions.is_file():
        print(f"skipped: {args.questions} is absent")
        return 0
    from rag.config import load_settings
    from rag.services import make_assistant, open_archive

    settings = load_settings(data_dir=args.data_dir)
    archive = open_archive(settings)
    store, retriever = archive.store, archive.retriever
    assistant = make_assistant(settings, archive)
    qs = [json.loads(line)["question"] for line in args.questions.open(encoding="utf-8")][: args.n]
    assistant.ask(qs[0])  # warm: model load, caches
    t_embed, t_search, t_ask = [], [], []
    # The embedder remembers only its last query; the trailing spaces (which the tokenizer drops)
    # keep every stage from reusing another stage's vector, so each pays for its own embedding.
    def timed(fn, arg, into):
        t0 = time.perf_counter()
        fn(arg)
        into.append(time.perf_counter() - t0)

    for q in qs:
        timed(store.embedder.embed_query, q + " ", t_embed)
        timed(assistant.ask, q, t_ask)
        timed(retriever.search, q + "  ", t_search)
    stats = store.stats()
    print(f"index: {stats['documents']} documents, {stats['chunks']} chunks; {len(qs)} questions")
    for name, xs in (("query embedding (baseline)", t_embed), ("search", t_search), ("extractive ask", t_ask)):
        print(f"{name:28s} p50 {1000 * statistics.median(xs):6.0f} ms   p95 {1000 * pct(xs, 95):6.0f} ms   "
              f"ratio to baseline p50 {statistics.median(xs) / statistics.median(t_embed):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
