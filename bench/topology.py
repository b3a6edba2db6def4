"""The full-archive figures in one command (a benchmark, not a test): runs the benches of the
issue "The full archive" and writes the table the README's "Topology" section shows.

  python bench/topology.py --data-dir DIR [--out bench/results/topology.md] [--readme]
  python bench/topology.py --data-dir /tmp/topo --limit 300 --users 2 --questions 3 \
      --during-ingest 30 --queries 30 --cold 1 --ratio-articles 20 --embed-records 30   # a small check

Steps (--steps picks some; each writes its JSON under --results, and the table is rendered
from whatever JSON is there, so a step can be re-run alone):
  ingest      bench/ingest_bench.py: the --ratio-articles (500) ant5000 ratio against the naive
              LangChain pipeline (the default backend, then onnx-int8), then the 31k JSONL (or
              its first --limit records) into DIR with the real model (skipped when DIR already
              holds it; --redo-ingest), and the
              kill-and-resume check: a second ingest into a temp dir, compared with DIR
  query       bench/query_bench.py over DIR: --queries (200) news questions warm, --cold (3) starts
  concurrent  bench/concurrent_bench.py over DIR: --users x --questions, alone and while
              --during-ingest articles are added through the app's /upload (the app writes) and
              by a separate `rag ingest` (another process writes)
  chroma      the same with `chroma run` serving DIR's Chroma folder (RAG_CHROMA_URL)
  embedding   an embedding server (tests/embedding_server.py, the real model over /v1/embeddings,
              RAG_EMBEDDING_URL) on the same host: the ingest of --embed-records against the
              in-process model in the same run, and the users through it
--readme replaces the table between the README's topology-figures markers.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import BIG_JSONL, bench_env  # noqa: E402

STEPS = ("ingest", "query", "concurrent", "chroma", "embedding")
BEGIN, END = "<!-- topology-figures:begin -->", "<!-- topology-figures:end -->"


def bench(script: str, *args: str, log: Path, **rag: str) -> int:
    """Run bench/<script> as its own process (RAG_* settings as given), its output both here and
    in the log."""
    cmd = [sys.executable, str(ROOT / "bench" / script), *args]
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=bench_env(**rag), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        for line in proc.stdout:
            sys.stdout.write(line)
            f.write(line)
        return proc.wait()


def run_steps(args, res: Path) -> None:
    log = res / "topology.log"
    data = str(args.data_dir)
    common = ["--users", str(args.users), "--questions", str(args.questions), "--baseline", str(args.baseline)]
    if "ingest" in args.steps:
        for name, backend in (("ingest_ratio", ""), ("ingest_ratio_int8", "onnx-int8")):  # the default, then int8
            bench("ingest_bench.py", "--articles", str(args.ratio_articles), "--skip-memory", "--json",
                  str(res / f"{name}.json"), log=log, RAG_EMBEDDING_BACKEND=backend)
        from bench import full_ingest

        limit = ["--limit", str(args.limit)] if args.limit else []
        src = full_ingest.source(BIG_JSONL, args.limit)
        if args.redo_ingest or not full_ingest.complete(args.data_dir, src):
            bench("ingest_bench.py", "--full", "--skip-ratio", "--data-dir", data, *limit,
                  "--json", str(res / "ingest_full.json"), log=log)
        else:
            print(f"{data} already holds {src.name}: its figures stay (--redo-ingest to measure again)")
        if not args.no_resume:  # a second ingest into a fresh dir, compared with DIR as the clean run
            bench("ingest_bench.py", "--resume", "--skip-ratio", "--data-dir", data, *limit, "--seed", str(args.seed),
                  "--json", str(res / "ingest_resume.json"), log=log)
    if "query" in args.steps:
        bench("query_bench.py", "--data-dir", data, "--n", str(args.queries), "--cold", str(args.cold),
              "--json", str(res / "query.json"), log=log)
    if "concurrent" in args.steps:
        bench("concurrent_bench.py", "--data-dir", data, *common, "--json", str(res / "users.json"), log=log)
        for via in ("upload", "cli"):
            bench("concurrent_bench.py", "--data-dir", data, *common, "--during-ingest", str(args.during_ingest),
                  "--ingest-via", via, "--json", str(res / f"users_ingest_{via}.json"), log=log)
    if "chroma" in args.steps:
        bench("concurrent_bench.py", "--data-dir", data, *common, "--chroma-server",
              "--json", str(res / "users_chroma.json"), log=log)
        bench("concurrent_bench.py", "--data-dir", data, *common, "--chroma-server", "--during-ingest",
              str(args.during_ingest), "--ingest-via", "cli", "--json", str(res / "users_chroma_ingest.json"), log=log)
    if "embedding" in args.steps:
        embed_ingest(args.embed_records, res / "embedding_ingest.json")
        bench("concurrent_bench.py", "--data-dir", data, *common, "--embedding-server",
              "--json", str(res / "users_embedding.json"), log=log)


def embed_ingest(n: int, out: Path) -> None:
    """N records ingested in-process and through the embedding server, in the same run."""
    import shutil
    import tempfile

    from bench import full_ingest
    from bench.common import embedding_server, rss_mb

    tmp = Path(tempfile.mkdtemp(prefix="topology-embed-"))
    try:
        src = full_ingest.source(BIG_JSONL, n, tmp)
        local = full_ingest.run_full(src, tmp / "local")
        with embedding_server(tmp / "server.log", tmp / "served") as (url, proc):
            served = full_ingest.run_full(src, tmp / "served", env_extra={"RAG_EMBEDDING_URL": url})
            served["server_rss_mb"] = rss_mb(proc.pid)
        cmp = full_ingest.compare(tmp / "local", tmp / "served", queries=20)
        out.write_text(json.dumps({"in_process": local, "server": served, "compare": cmp}, indent=1))
        print(f"embedding server: {served['articles_per_s']:.2f} articles/s vs in-process "
              f"{local['articles_per_s']:.2f} ({served['articles_per_s'] / local['articles_per_s']:.2f}x); "
              f"same chunks {cmp['chunk_ids_equal']}, vectors min cosine {cmp['vectors_min_cosine']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- the table -------------------------------------------------------------------------------------
def _load(res: Path, name: str) -> dict | None:
    p = res / f"{name}.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _users_cell(u: dict | None) -> str:
    if not u:
        return "not measured"
    s = u["users"]
    rss = u["server_rss_mb"]
    own = "every user got its own answer" if s["every_user_got_its_own"] else f"own answers {s['own_answers']}/{s['answers']}"
    cell = (f"p50 **{s['p50_s']:.2f} s**, p95 **{s['p95_s']:.2f} s** (one user alone p50 {u['alone']['p50_s']:.2f} s), "
            f"{s['errors']} errors, {own}; app RSS {rss['before']:,.0f} → {rss['after']:,.0f} MB (peak {rss['peak']:,.0f})")
    if "chroma_server_rss_mb" in u:
        cell += f"; Chroma server {u['chroma_server_rss_mb']:,.0f} MB"
    if "embedding_server_rss_mb" in u:
        cell += f"; embedding server {u['embedding_server_rss_mb']:,.0f} MB"
    ing = u.get("ingest")
    if ing:
        rate = (ing.get("added") or 0) / ing["seconds"] if ing.get("seconds") else 0
        cell += (f"; the ingest: {ing.get('added')} articles in {ing.get('seconds', 0):.0f} s ({rate:.1f}/s), "
                 f"{'still running when the users finished' if ing.get('running_when_users_finished') else 'done before the users finished'}; "
                 f"the app then finds {ing.get('app_finds_new_dense')}/{ing.get('probed_new_documents')} new documents "
                 f"by dense search, {ing.get('app_finds_new_lexical')}/{ing.get('probed_new_documents')} by lexical")
    return cell


def table(res: Path, args) -> str:
    rows: list[tuple[str, str, str]] = []
    ratio, full, query = _load(res, "ingest_ratio"), _load(res, "ingest_full"), _load(res, "query")
    resume = _load(res, "ingest_resume")
    if full and "full" in full:
        f = full["full"]
        model = f" ({f['embedding_model'].split('/')[-1]})" if f.get("embedding_model") else ""
        what = f"ingest of the 31k JSONL ({f['records']:,} records), real model{model}, one `rag ingest`"
        est = (f"; the whole file (31,525) ~{f['estimated_full_s'] / 3600:.1f} h at this rate"
               if "estimated_full_s" in f else "")
        rows.append((what, f"{f['seconds'] / 60:,.1f} min: **{f['articles_per_s']:.2f} articles/s**, "
                           f"{f['chunks_per_s']:.1f} chunks/s, {f.get('total_chunks', 0):,} chunks"
                           + (f", {f['failed']} records refused (each named by line)" if f.get("failed") else "")
                           + "; peak RSS "
                           f"**{f['peak_rss_mb'] / 1024:.2f} GB**{est}", "peak < 3 GB"))
    if full and "reingest_unchanged" in full:
        r = full["reingest_unchanged"]
        rows.append(("`rag ingest` of the same file again (nothing changed)",
                     f"{r['seconds']:.0f} s: {r.get('unchanged', 0):,} unchanged, {r.get('chunks', 0)} chunks embedded, "
                     f"{r.get('failed', 0)} records refused again (each named by line); peak RSS "
                     f"{r['peak_rss_mb'] / 1024:.2f} GB", ""))
    for r in (ratio, _load(res, "ingest_ratio_int8")):
        if r and "throughput_ratio" in r:
            ours = f" (ours: {r['backend']})" if r.get("backend") else ""
            rows.append((f"ingest throughput vs the naive LangChain pipeline, {r['articles']} ant5000 articles, "
                         f"same model{ours}",
                         f"{r['articles'] / r['ours_s']:.2f} vs {r['articles'] / r['naive_s']:.2f} "
                         f"articles/s: **{r['throughput_ratio']:.2f}x**", "≥ 1.5x"))
    if resume and "resume" in resume:
        r = resume["resume"]
        when = (f"killed (SIGKILL) with {r['first'].get('documents_when_killed', '?')} of {r['records']:,} documents in"
                if r["first"].get("killed") else f"NOT killed: {r['records']:,} documents ended first")
        rows.append((f"resumable: {when}, re-run",
                     f"counts {'equal' if r['counts_equal'] else 'DIFFER'}, chunk ids "
                     f"{'equal' if r['chunk_ids_equal'] else 'DIFFER'}, vectors min cosine "
                     f"{r['vectors_min_cosine']:.6f}; identical top-10 of {r['queries']} questions: lexical "
                     f"{r['lexical_top10_identical']}, exact dense {r['exact_dense_top10_identical']}, as served "
                     f"(HNSW, approximate) dense {r['dense_top10_identical']} / hybrid {r['hybrid_top10_identical']} "
                     f"(overlap {r['hybrid_top10_overlap']:.3f})", "equal to a clean run"))
    if query:
        w = query["warm"]
        st = w["stages"]
        rows.append((f"warm `search`, {w['questions']} news questions, {w['documents']:,} documents / {w['chunks']:,} chunks",
                     f"p50 **{st['search']['p50_ms']:.0f} ms**, p95 {st['search']['p95_ms']:.0f} ms (query embedding "
                     f"{st['query embedding (baseline)']['p50_ms']:.0f} ms, dense {st['dense search alone']['p50_ms']:.0f} ms, "
                     f"lexical {st['lexical search alone (stems + roots)']['p50_ms']:.0f} ms)", "p50 < 100 ms"))
        rows.append(("warm extractive `ask`, same questions",
                     f"p50 **{st['extractive ask']['p50_ms']:.0f} ms**, p95 {st['extractive ask']['p95_ms']:.0f} ms",
                     "p50 < 300 ms"))
        if "cold" in query:
            c = query["cold"]
            top = sorted(c["phases"]["phases"], key=lambda p: -p[1])[:3]
            rows.append(("cold `rag ask` (process start to answer)",
                         f"median **{c['median_s']:.1f} s** of {len(c['runs_s'])}; most of it: "
                         + ", ".join(f"{n} {s:.1f} s" for n, s in top), "< 5 s"))
    labels = [("users", "{u} users × {q} questions, embedded Chroma"),
              ("users_ingest_upload", "the same while {k} more articles are uploaded (`/upload`: the app writes)"),
              ("users_ingest_cli", "the same while `rag ingest` adds {k} articles (another process writes, embedded Chroma)"),
              ("users_chroma", "{u} × {q} with `chroma run` (`RAG_CHROMA_URL`)"),
              ("users_chroma_ingest", "the same while `rag ingest` adds {k} articles through the Chroma server"),
              ("users_embedding", "{u} × {q} with embeddings from a server (`RAG_EMBEDDING_URL`, same host)")]
    for name, label in labels:
        u = _load(res, name)
        if u:
            cfg = u["config"]
            rows.append((label.format(u=cfg["users"], q=cfg["questions_per_user"], k=cfg["during_ingest"]),
                         _users_cell(u), "p95 < 1.5 s, 0 errors" if name == "users" else ""))
    e = _load(res, "embedding_ingest")
    if e:
        loc, srv, cmp = e["in_process"], e["server"], e["compare"]
        rows.append((f"ingest through the embedding server, {srv['records']:,} records (server on the same 2 cores)",
                     f"{srv['articles_per_s']:.2f} vs in-process {loc['articles_per_s']:.2f} articles/s "
                     f"(**{srv['articles_per_s'] / loc['articles_per_s']:.2f}x**); chunk ids "
                     f"{'the same' if cmp['chunk_ids_equal'] else 'DIFFER'}, vectors min cosine {cmp['vectors_min_cosine']:.6f}; "
                     f"`rag ingest` RSS {srv['peak_rss_mb']:,.0f} MB (in-process {loc['peak_rss_mb']:,.0f})", ""))
    days = sorted({time.strftime("%Y-%m-%d", time.localtime(f.stat().st_mtime)) for f in res.glob("*.json")})
    stamp = " to ".join(dict.fromkeys([days[0], days[-1]])) if days else time.strftime("%Y-%m-%d")  # a step re-run alone
    head = ("| what | measured | target |\n|---|---|---|\n")
    body = "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows) or "| (nothing measured yet) | | |\n"
    cmd = "python bench/topology.py --data-dir DIR --readme"
    return (f"{head}{body}\nMeasured {stamp} on this machine ({_cpus()} cores) by `{cmd}`"
            + (f" (small check: {args.limit} records)" if getattr(args, "limit", 0) else "") + ".\n")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def write_readme(text: str, readme: Path = ROOT / "README.md") -> bool:
    src = readme.read_text(encoding="utf-8")
    if BEGIN not in src or END not in src:
        print(f"{readme} has no {BEGIN} ... {END} block; the table was not written there")
        return False
    head, rest = src.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="the full index (built by the ingest step)")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "topology")
    ap.add_argument("--out", type=Path, help="the Markdown table (default: RESULTS/topology.md)")
    ap.add_argument("--readme", action="store_true", help="also replace the README's table")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of {', '.join(STEPS)}")
    ap.add_argument("--render-only", action="store_true", help="only render the table from RESULTS")
    ap.add_argument("--limit", type=int, default=0, help="only the first N records of the 31k JSONL")
    ap.add_argument("--no-resume", action="store_true", help="skip the kill-and-resume ingest (a second full ingest)")
    ap.add_argument("--redo-ingest", action="store_true", help="ingest into DIR even when it already holds the JSONL")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--ratio-articles", type=int, default=500)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--cold", type=int, default=3)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--baseline", type=int, default=10)
    ap.add_argument("--during-ingest", type=int, default=1000)
    ap.add_argument("--embed-records", type=int, default=500)
    args = ap.parse_args(argv)
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        ap.error(f"unknown steps {sorted(unknown)}; known: {', '.join(STEPS)}")
    args.results.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        run_steps(args, args.results)
    text = table(args.results, args)
    out = args.out or args.results / "topology.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"\n{text}\nwritten to {out}")
    if args.readme and write_readme(text):
        print("README.md: the topology table replaced")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
