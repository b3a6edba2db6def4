"""Ingest benchmark (not a test): our pipeline against a naive LangChain pipeline with the same
model, measured in the same run, reported as ratios.

  python bench/ingest_bench.py [--articles 500] [--skip-memory]
  python bench/ingest_bench.py --full [--limit N] [--data-dir DIR] [--resume] [--json OUT]
  python bench/ingest_bench.py --resume --limit 300 --skip-ratio      # the kill-and-resume check alone

1. throughput on N articles of ../shared/data/news/ant5000: articles/s and characters/s of
   `run_ingest` vs RecursiveCharacterTextSplitter(1000, 100) + HuggingFaceEmbeddings +
   Chroma.from_documents (target: >= 1.5x), the median ratio of --rounds rounds that alternate
   which pipeline goes first (one run after the other on a busy machine measured 0.94-2.0x);
2. re-ingest of the unchanged folder vs the first ingest (target: >= 50x faster);
3. peak memory while ingesting the 31k-article JSONL with a fake embedder (target: < 3 GB).
4. --full: `rag ingest` of the whole 31,525-article JSONL with the real model (or its first
   --limit N records), as its own process: wall time, articles/s, chunks/s, its peak RSS
   (target < 3 GB); the index stays in --data-dir for the query and concurrency benches. Hours
   on 2 cores, so CI never runs it; a --limit run prints the full run's estimate.
5. --resume: the same input ingested again into a fresh index, SIGKILLed when a random share
   (10-90%, --seed) of its documents has landed, then re-run to the end; the result is compared
   with the clean run of 4 (done first when absent): documents, chunks, vectors, the chunk ids
   of both sides, and the top-10 of 50 news questions (hybrid and dense).
--backend / --device run 4 with another embedding backend (e.g. torch on cuda where there is a
GPU), beside the default measured in the same run with --compare-default.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "news"


def _articles(n: int, dst: Path) -> list[Path]:
    src = sorted((SHARED / "ant5000" / "articles").glob("*.txt"))[:n]
    dst.mkdir(parents=True)
    for p in src:  # copied to a temp folder, never into the repo
        shutil.copy(p, dst / p.name)
    return sorted(dst.glob("*.txt"))


def naive_langchain(files: list[Path], model_path: str, persist: Path) -> float:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    t0 = time.perf_counter()
    docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"path": str(p)}) for p in files]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_documents(docs)
    emb = HuggingFaceEmbeddings(model_name=model_path, encode_kwargs={"normalize_embeddings": True})
    Chroma.from_documents(chunks, emb, persist_directory=str(persist), collection_name="naive")
    return time.perf_counter() - t0


def ours(files_dir: Path, data_dir: Path) -> tuple[float, dict]:
    from ingest.pipeline import run_ingest
    from rag.config import load_settings

    settings = load_settings(data_dir=data_dir)
    t0 = time.perf_counter()
    report = run_ingest(settings, [files_dir], show_progress=False)
    return time.perf_counter() - t0, report.as_dict()


MEMORY_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from ingest.pipeline import run_ingest
from rag.config import load_settings
from tests.fakes import FakeEmbedder
s = load_settings(data_dir={data!r})
t0 = time.perf_counter()
r = run_ingest(s, [{src!r}], embedder=FakeEmbedder(), show_progress=False)
print(r.added, r.chunks, round(time.perf_counter() - t0, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=2, help="ratio rounds, alternating which pipeline goes first")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true")
    ap.add_argument("--skip-ratio", action="store_true", help="skip 1-2 (the 500-article ratio and re-ingest)")
    ap.add_argument("--full", action="store_true", help="4: ingest the 31k JSONL with the real model")
    ap.add_argument("--limit", type=int, default=0, help="only the first N records of the JSONL (4 and 5)")
    ap.add_argument("--data-dir", type=Path, help="where 4 builds (and keeps) its index; default: a temp dir")
    ap.add_argument("--resume", action="store_true", help="5: kill at a random point, re-run, compare")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--backend", default="", help="RAG_EMBEDDING_BACKEND for 4 (e.g. torch)")
    ap.add_argument("--device", default="", help="RAG_DEVICE for 4 (e.g. cuda)")
    ap.add_argument("--compare-default", action="store_true", help="with --backend: also run the default in 4")
    ap.add_argument("--json", type=Path, help="write the figures here (default bench/results/ingest.json)")
    args = ap.parse_args()
    if not (SHARED / "ant5000").is_dir():
        print(f"skipped: {SHARED / 'ant5000'} is absent (the benchmark reads the shared news sample)")
        return 0
    from rag.config import load_settings
    from rag.index.model_prep import resolve_model

    model_path = str(resolve_model(load_settings()))
    tmp = Path(tempfile.mkdtemp(prefix="ragbench-"))
    result: dict = {}
    big = SHARED / "ant_multisource_all.jsonl.gz"
    try:
        if not args.memory_only and not args.skip_ratio:
            result = _throughput(args, model_path, tmp)
        if not args.skip_memory and not args.full and not args.resume and big.is_file():
            result.update(_memory(big, tmp))
        if args.full or args.resume:
            from bench import full_ingest

            src = full_ingest.source(big, args.limit, tmp)
            clean = args.data_dir or tmp / "full"
            if args.full or not full_ingest.complete(clean, src):
                result["full"] = full_ingest.run_full(src, clean, backend=args.backend, device=args.device)
                if args.backend and args.compare_default:
                    result["full_default"] = full_ingest.run_full(src, tmp / "full-default")
                    result["backend_speedup"] = result["full_default"]["seconds"] / result["full"]["seconds"]
                    print(f"{args.backend}/{args.device or 'auto'} vs the default: {result['backend_speedup']:.2f}x")
            if args.resume:
                result["resume"] = full_ingest.resume_check(src, clean, tmp / "resumed", seed=args.seed,
                                                          backend=args.backend, device=args.device)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = args.json or ROOT / "bench" / "results" / "ingest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


def _throughput(args, model_path: str, tmp: Path) -> dict:
    try:
        import langchain_chroma  # noqa: F401
        import langchain_huggingface  # noqa: F401
        import langchain_text_splitters  # noqa: F401
    except ImportError as e:
        print(f"skipped the ratio: the naive pipeline needs the 'bench' extra ({e}): pip install -e '.[bench]'")
        return {}
    files = _articles(args.articles, tmp / "articles")
    chars = sum(len(p.read_text(encoding="utf-8")) for p in files)
    print(f"{len(files)} articles, {chars:,} characters, model {model_path}")

    naive_s, ours_s, ratios = [], [], []
    for r in range(args.rounds):  # alternate which goes first: load from other processes hits both alike
        order = ("naive", "ours") if r % 2 == 0 else ("ours", "naive")
        times = {}
        for side in order:
            if side == "naive":
                times[side] = naive_langchain(files, model_path, tmp / f"naive{r}")
            else:
                times[side], rep = ours(tmp / "articles", tmp / f"ours{r}")
        naive_s.append(times["naive"])
        ours_s.append(times["ours"])
        ratios.append(times["naive"] / times["ours"])
        print(f"round {r + 1} ({' then '.join(order)}): naive {times['naive']:.1f} s "
              f"({len(files) / times['naive']:.2f} articles/s), ours {times['ours']:.1f} s "
              f"({len(files) / times['ours']:.2f} articles/s, {rep['chunks']} chunks): {ratios[-1]:.2f}x")
    t_naive, t_ours = statistics.median(naive_s), statistics.median(ours_s)
    backend = _backend(tmp / "ours0")
    t_again, rep2 = ours(tmp / "articles", tmp / "ours0")
    print(f"re-ingest unchanged: {t_again:.2f} s, {rep2['chunks']} chunks embedded")
    result = {"articles": len(files), "chars": chars, "backend": backend, "naive_s": t_naive, "ours_s": t_ours,
              "reingest_s": t_again,
              "rounds": args.rounds, "round_ratios": ratios,
              "throughput_ratio": statistics.median(ratios), "reingest_speedup": t_ours / t_again}
    print(f"throughput ratio (ours, {backend} / naive), median of {args.rounds} rounds: "
          f"{result['throughput_ratio']:.2f}x  "
          "(target >= 1.5x)")
    print(f"re-ingest speed-up: {result['reingest_speedup']:.0f}x  (target >= 50x)")
    return result


def _backend(data_dir: Path) -> str:
    """The embedding backend our side ran (RAG_EMBEDDING_BACKEND picks another: onnx for fp32)."""
    from rag.config import load_settings
    from rag.index.embeddings import get_embedder

    return get_embedder(load_settings(data_dir=data_dir)).backend


def _memory(big: Path, tmp: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(root=str(ROOT), data=str(tmp / "mem"),
                                                                      src=str(big))],
                         capture_output=True, text=True, check=True).stdout.split()
    rss_gb = int(out[3]) / 1024 / 1024
    print(f"31k JSONL with a fake embedder: {out[0]} articles, {out[1]} chunks in {out[2]} s, "
          f"peak RSS {rss_gb:.2f} GB (target < 3 GB)")
    return {"mem_articles": int(out[0]), "mem_chunks": int(out[1]), "mem_seconds": float(out[2]), "peak_rss_gb": rss_gb}


if __name__ == "__main__":
    sys.exit(main())
