"""Wire-copy clustering benchmark (not a test): rag.index.cluster over the 31,525 ANT articles,
without embedding (normalise + shingle + MinHash + LSH + the SQLite cluster tables).

  python bench/cluster_bench.py sweep      # signatures, candidate pairs, clusters per threshold,
                                           # and a stratified sample of pairs to label
  python bench/cluster_bench.py measure [--write-params]
                                           # precision on evals/data/cluster_pairs.jsonl, recall on
                                           # synthetic near-copies, the real Clusterer's time and
                                           # memory; --write-params records the choice in
                                           # rag/index/cluster.json

The data file (JSONL: docno, url, src, cat, title, time, author, abstract, text) lies outside
the repository; the labels are committed as doc ids only. Results go to bench/results/.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datasketch import MinHashLSH  # noqa: E402

from rag.index.cluster import (  # noqa: E402
    PARAMS_FILE,
    ClusterDoc,
    Clusterer,
    ClusterParams,
    _minhash,
    load_params,
    shingles,
    signature,
)
from rag.index.sqlite import Database  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "news" / "ant_multisource_all.jsonl.gz"
LABELS = ROOT / "evals" / "data" / "cluster_pairs.jsonl"
OUT = ROOT / "bench" / "results"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BINS = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]


def load(path: Path = DATA) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def iso(rfc2822: str) -> str:
    """The archive's "Fri, 16 Feb 2018 22:08:10 +0400" as ISO 8601 (what the ingest readers store)."""
    try:
        return parsedate_to_datetime(rfc2822).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return ""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def signatures(arts: list[dict], p: ClusterParams) -> tuple[dict[str, np.ndarray], float]:
    t0 = time.perf_counter()
    sigs = {}
    for a in arts:
        s = signature(a.get("text") or "", p)
        if s is not None:
            sigs[a["docno"]] = s
    return sigs, time.perf_counter() - t0


def candidate_pairs(sigs: dict[str, np.ndarray], p: ClusterParams, low: float) -> dict[tuple[str, str], float]:
    """Pairs an LSH tuned to `low` proposes, with their estimated Jaccard (>= low kept)."""
    lsh = MinHashLSH(threshold=low, num_perm=p.num_perm)
    with lsh.insertion_session() as s:
        for d, sig in sigs.items():
            s.insert(d, _minhash(sig, p), check_duplication=False)
    pairs = {}
    for d, sig in sigs.items():
        for o in lsh.query(_minhash(sig, p)):
            if o <= d:
                continue
            j = float(np.mean(sig == sigs[o]))
            if j >= low:
                pairs[(d, o)] = j
    return pairs


def union_sizes(ids: list[str], pairs: dict[tuple[str, str], float], t: float) -> list[int]:
    parent = {d: d for d in ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), j in pairs.items():
        if j >= t:
            parent[find(a)] = find(b)
    return list(Counter(find(d) for d in ids).values())


def distribution(sizes: list[int]) -> dict:
    c = Counter(sizes)
    return {"clusters": len(sizes), "singletons": c[1], "size_2": c[2],
            "size_3_5": sum(v for k, v in c.items() if 3 <= k <= 5),
            "size_6_10": sum(v for k, v in c.items() if 6 <= k <= 10),
            "size_gt_10": sum(v for k, v in c.items() if k > 10), "max": max(sizes) if sizes else 0,
            "docs_in_multi": sum(k * v for k, v in c.items() if k > 1)}


def exact_jaccard(a: str, b: str, k: int) -> float:
    x, y = shingles(a, k), shingles(b, k)
    return len(x & y) / len(x | y) if x and y else 0.0


def cmd_sweep(args) -> None:
    p = load_params()
    arts = load()
    by = {a["docno"]: a for a in arts}
    sigs, secs = signatures(arts, p)
    print(f"{len(arts)} articles, {len(sigs)} with text; signatures in {secs:.1f}s ({1000 * secs / len(arts):.2f}s/1k)")
    pairs = candidate_pairs(sigs, p, 0.3)
    print(f"{len(pairs)} candidate pairs with estimated Jaccard >= 0.3")
    rows = []
    for t in THRESHOLDS:
        d = distribution(union_sizes(list(by), pairs, t))
        rows.append({"threshold": t, **d})
    _table(rows)
    rng = random.Random(args.seed)
    sample = []
    for lo, hi in BINS:
        inbin = sorted(k for k, j in pairs.items() if lo <= j < hi)
        sample += [(a, b, pairs[(a, b)]) for a, b in rng.sample(inbin, min(len(inbin), args.per_bin))]
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "cluster_pairs_to_label.txt", "w", encoding="utf-8") as f:
        for i, (a, b, j) in enumerate(sample):
            A, B = by[a], by[b]
            f.write(f"#{i} {a} | {b} | est={j:.3f} exact={exact_jaccard(A['text'], B['text'], p.shingle):.3f}\n")
            for X in (A, B):
                f.write(f"  [{X['src']} {X['time'][:16]}] {X['title']}\n    {' '.join(X['text'].split())[:260]}\n")
            f.write("\n")
    json.dump({"sweep": rows, "pairs": len(pairs)}, open(OUT / "cluster_sweep.json", "w"), indent=1)
    print(f"{len(sample)} pairs to label in {OUT / 'cluster_pairs_to_label.txt'}")


def _table(rows: list[dict]) -> None:
    keys = list(rows[0])
    print(" | ".join(f"{k:>11}" for k in keys))
    for r in rows:
        print(" | ".join(f"{r[k]:>11.3f}" if isinstance(r[k], float) else f"{r[k]:>11}" for k in keys))


def precision(labels: list[dict], pairs: dict[tuple[str, str], float]) -> list[dict]:
    """Per threshold t: the labelled pairs with estimated Jaccard >= t, their precision, and the
    precision weighted by how many candidate pairs each stratum (BINS) holds in the archive (the
    sample is stratified, so the plain share over-weights the sparse low bins)."""
    per_bin = []
    for lo, hi in BINS:
        lab = [x["same"] for x in labels if lo <= x["jaccard"] < hi]
        n = sum(1 for j in pairs.values() if lo <= j < hi)
        per_bin.append((lo, n, sum(lab) / len(lab) if lab else float("nan"), len(lab)))
    rows = []
    for t in THRESHOLDS:
        above = [x for x in labels if x["jaccard"] >= t]
        bins = [b for b in per_bin if b[0] >= t - 1e-9 and b[3]]
        w = sum(b[1] for b in bins)
        rows.append({"threshold": t, "labelled": len(above),
                     "bin_precision": round(next((b[2] for b in per_bin if abs(b[0] - t) < 1e-9), float("nan")), 3),
                     "precision": round(sum(x["same"] for x in above) / len(above), 3) if above else float("nan"),
                     "weighted_precision": round(sum(b[1] * b[2] for b in bins) / w, 3) if w else float("nan"),
                     "pairs_in_archive": sum(1 for j in pairs.values() if j >= t)})
    return rows


_SENT = re.compile(r"(?<=[.!؟?])\s+|\n+")


def near_copies(arts: list[dict], n: int, seed: int) -> list[tuple[str, str, str]]:
    """(original docno, variant kind, text) for n articles with >= 4 sentences."""
    rng = random.Random(seed)
    pool = [a for a in arts if len([s for s in _SENT.split(a.get("text") or "") if s.strip()]) >= 4]
    picked = rng.sample(pool, n)
    fillers = [s for a in rng.sample(pool, 200) for s in _SENT.split(a["text"]) if len(s.split()) > 8]
    out = []
    for a in picked:
        sents = [s for s in _SENT.split(a["text"]) if s.strip()]
        out.append((a["docno"], "exact", a["text"]))
        i = rng.randrange(len(sents))
        out.append((a["docno"], "drop_sentence", "\n".join(sents[:i] + sents[i + 1:])))
        j = rng.randrange(len(sents))
        out.append((a["docno"], "change_sentence", "\n".join(sents[:j] + [rng.choice(fillers)] + sents[j + 1:])))
        out.append((a["docno"], "byline", "لندن - رويترز: " + a["text"] + "\nالمصدر: وكالات"))
    return out


def run_clusterer(arts: list[dict], p: ClusterParams, db_dir: Path, batch: int = 256) -> dict:
    """The real Clusterer over SQLite, as Store.write_docs drives it (one transaction per batch)."""
    db = Database(db_dir / "archive.sqlite")
    db.create_schema()
    Clusterer.create_schema(db.conn)
    cl = Clusterer(p)
    with db.tx() as c:
        cl.reset(c)
    tracemalloc.start()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    for i in range(0, len(arts), batch):
        docs = [ClusterDoc(a["docno"], a.get("text") or "", a.get("title") or "", a.get("src") or "",
                           iso(a.get("time") or "")) for a in arts[i:i + batch]]
        with db.tx() as c:
            cl.assign(c, docs)
    secs = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = rss_mb()
    cl2 = Clusterer(p)  # a fresh process: the LSH rebuilt from the stored signatures
    t1 = time.perf_counter()
    with db.tx() as c:
        cl2._ready(c)
    rebuild = time.perf_counter() - t1
    return {"db": db, "clusterer": cl, "seconds": secs, "tracemalloc_peak_mb": peak / 2**20,
            "rss_growth_mb": rss1 - rss0, "lsh_rebuild_s": rebuild}


def measure_one(arts: list[dict], p: ClusterParams, copies: list[tuple[str, str, str]]) -> dict:
    """The real Clusterer at one threshold: clusters, time, memory, near-copy recall, removal."""
    n = len(arts)
    with tempfile.TemporaryDirectory() as tmp:
        r = run_clusterer(arts, p, Path(tmp))
        db, cl = r["db"], r["clusterer"]
        dist = distribution([s for (s,) in db.conn.execute("SELECT size FROM clusters")])
        multi_src = db.conn.execute("SELECT COUNT(*) FROM clusters WHERE size > 1 AND sources LIKE '%,%'").fetchone()[0]
        largest = Clusterer.stats(db.conn, 5)["largest_clusters"]
        orig = dict(db.conn.execute("SELECT doc_id, cluster_id FROM doc_clusters"))
        hits, per_kind = Counter(), Counter()
        t0 = time.perf_counter()
        for docno, kind, text in copies:
            cid = f"{docno}#copy-{kind}"
            with db.tx() as c:  # a near-copy arrives, is checked, and is removed again
                cl.assign(c, [ClusterDoc(cid, text, "", "synthetic", "")])
                got = c.execute("SELECT cluster_id FROM doc_clusters WHERE doc_id=?", (cid,)).fetchone()[0]
                cur = c.execute("SELECT cluster_id FROM doc_clusters WHERE doc_id=?", (docno,)).fetchone()[0]
                cl.remove(c, [cid])
            per_kind[kind] += 1
            hits[kind] += got == cur
        copy_secs = time.perf_counter() - t0
        removal_ok = dict(db.conn.execute("SELECT doc_id, cluster_id FROM doc_clusters")) == orig
        db.conn.close()
    return {
        "threshold": p.threshold, **dist, "multi_source_clusters": multi_src,
        "seconds": round(r["seconds"], 1), "s_per_1k": round(1000 * r["seconds"] / n, 2),
        "py_peak_mb": round(r["tracemalloc_peak_mb"], 1),
        "py_peak_mb_per_1k": round(1000 * r["tracemalloc_peak_mb"] / n, 2),
        "rss_growth_mb": round(r["rss_growth_mb"], 1), "lsh_rebuild_s": round(r["lsh_rebuild_s"], 2),
        **{f"recall_{k}": round(hits[k] / per_kind[k], 3) for k in per_kind},
        "copy_ms": round(1000 * copy_secs / len(copies), 1), "removal_ok": removal_ok, "largest": largest,
    }


def cmd_measure(args) -> None:
    base = load_params()
    arts = load()
    sigs, sig_secs = signatures(arts, base)
    pairs = candidate_pairs(sigs, base, 0.3)
    del sigs
    labels = [json.loads(x) for x in LABELS.read_text().splitlines() if x.strip()]
    prec = precision(labels, pairs)
    print(f"{len(arts)} articles; signatures alone {sig_secs:.1f}s; {len(pairs)} candidate pairs (est. Jaccard >= 0.3)")
    print(f"precision on {len(labels)} hand-labelled pairs (same story), stratified by estimated Jaccard:")
    _table(prec)
    copies = near_copies(arts, args.copies, args.seed)
    rows = []
    for t in [float(x) for x in args.thresholds.split(",")]:
        rows.append(measure_one(arts, ClusterParams(t, base.num_perm, base.shingle, base.seed, base.min_shingles), copies))
        print(f"threshold {t}: done in {rows[-1]['seconds']}s", flush=True)
    print(f"clusterer over {len(arts)} articles ({args.copies} originals x 4 synthetic near-copies for recall):")
    _table([{k: v for k, v in r.items() if k != "largest"} for r in rows])
    chosen = next((r for r in rows if r["threshold"] == args.choose), rows[0])
    print(f"largest clusters at threshold {chosen['threshold']}:")
    for c in chosen["largest"]:
        print(f"  {c['size']:>4}  {c['sources']}  {c['first_date']} .. {c['last_date']}  {c['title'][:70]}")
    OUT.mkdir(parents=True, exist_ok=True)
    json.dump({"articles": len(arts), "precision": prec, "rows": rows}, open(OUT / "cluster_measure.json", "w"), ensure_ascii=False, indent=1)
    if args.write_params:
        write_params(args, base, len(arts), prec, rows)


def write_params(args, base: ClusterParams, n: int, prec: list[dict], rows: list[dict]) -> None:
    """Record the chosen threshold, with its provenance and figures, in rag/index/cluster.json."""
    chosen = next(r for r in rows if r["threshold"] == args.choose)
    figures = {k: v for k, v in chosen.items() if k != "largest"}
    PARAMS_FILE.write_text(json.dumps({
        "threshold": chosen["threshold"], "num_perm": base.num_perm, "shingle": base.shingle, "seed": base.seed,
        "min_shingles": base.min_shingles,
        "method": "datasketch 2.0.0 MinHash (affine32) + MinHashLSH over word 3-shingles of "
                  "rag.text.arabic.tokenize; estimated Jaccard >= threshold links two documents (single linkage)",
        "data": f"ANT multi-source news, ant_multisource_all.jsonl.gz ({n} articles: skynews, alarabia, "
                "france24, BBC, CNN); labels: evals/data/cluster_pairs.jsonl (105 pairs, 15 per Jaccard bin)",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python bench/cluster_bench.py measure --thresholds "
                   f"{','.join(str(r['threshold']) for r in rows)}; python bench/cluster_bench.py record "
                   f"--choose {chosen['threshold']}",
        "why": args.why, "precision": prec, "figures": figures, "compared": [
            {k: r[k] for k in ("threshold", "clusters", "docs_in_multi", "recall_exact", "recall_drop_sentence",
                               "recall_change_sentence", "recall_byline")} for r in rows],
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {PARAMS_FILE}")
    load_params.cache_clear()


def cmd_record(args) -> None:
    """Write cluster.json from the last `measure` (bench/results/cluster_measure.json)."""
    res = json.loads((OUT / "cluster_measure.json").read_text(encoding="utf-8"))
    n = res.get("articles") or len(load())
    write_params(args, load_params(), n, res["precision"], res["rows"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("--per-bin", type=int, default=15)
    s.add_argument("--seed", type=int, default=18)
    s.set_defaults(func=cmd_sweep)
    m = sub.add_parser("measure")
    m.add_argument("--thresholds", default="0.5,0.6,0.7,0.8")
    m.add_argument("--choose", type=float, default=0.7, help="the threshold --write-params records")
    m.add_argument("--why", default="", help="the reason for the choice, recorded in cluster.json")
    m.add_argument("--copies", type=int, default=200)
    m.add_argument("--seed", type=int, default=18)
    m.add_argument("--write-params", action="store_true")
    m.set_defaults(func=cmd_measure)
    r = sub.add_parser("record", help="write cluster.json for --choose from the last measure")
    r.add_argument("--choose", type=float, required=True)
    r.add_argument("--why", default="")
    r.set_defaults(func=cmd_record)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
