"""Fit where a briefing's sentences go: the aspect threshold and margin of
rag.briefing.placement, chosen on hand labels of the briefing dev set's tune half and written to
rag/briefing/thresholds.json with provenance.

    python -m evals.fit_briefing_aspects --dump /tmp/placements.jsonl [--split tune]
    python -m evals.fit_briefing_aspects [--labels evals/data/briefing.aspect_labels.jsonl] [--dry-run]

Each topic's briefing is planned with placement left open (every on-topic sentence scored against
every heading, none held back), over the same index as evals.briefing_eval. `--dump` writes those
sentences with their headings and cosines for labelling by hand (to a path outside the
repository: it holds article text). The labels file names a sentence by topic id, the SHA-1 of
its whitespace-normalised text and its cited ids, and says which of the briefing's headings it
is about (`fits`, [] for none) given the headings it was shown (`headings`; for news topics both
as SHA-1s, `fits_sha1` / `headings_sha1`, since their headings are news articles' words); a label
whose headings no longer match the planned briefing's is stale and left out. The fit sweeps aspect x
aspect_margin and keeps the pair with the best F0.5 of placement: a sentence placed under a
heading it is about counts for, one placed under another against, one about a heading but left
out of every section is missed. Precision weighs double, since a sentence under the wrong
heading is what embarrasses a trainer, while a left-out one can still be quoted in the summary.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from evals import briefing_eval as be
from rag.briefing.placement import place
from rag.index.embeddings import cosine_scale

LABELS = be.ROOT / "evals" / "data" / "briefing.aspect_labels.jsonl"
ASPECT_GRID = [round(0.76 + x / 200, 3) for x in range(29)]  # 0.760 .. 0.900
MARGIN_GRID = [x / 200 for x in range(11)]  # 0 .. 0.05
OPEN = -1e9  # an aspect threshold that holds no sentence back


def planned(topics, search, settings, embedder, ids, thresholds) -> list[dict]:
    """Every on-topic sentence of each topic's plan with its cosines to the headings."""
    from rag.briefing.build import plan_briefing

    out = []
    for t in topics:
        plan = plan_briefing(t["topic"], search, settings, embedder=embedder,
                             aspects=t.get("aspects", ()), thresholds=thresholds)
        for c in plan.on_topic:
            out.append({"topic_id": t["id"], "topic": t["topic"], "headings": plan.headings,
                        "sentence_sha1": be._sha1(c.text),
                        "docs": [ids.get(ch.doc_id, ch.doc_id) for ch in c.chunks],
                        "text": c.text, "raw": [round(x, 4) for x in c.aspect_raw],
                        "topic_cos": round(c.topic_cos, 4)})
    return out


def load_labels(path: Path, split: str = "tune") -> list[dict]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r for r in rows if be.split_of(r["topic_id"]) == split]


def join(rows: list[dict], labels: list[dict]) -> list[tuple[dict, dict]]:
    """(planned sentence, label) pairs whose headings still match. A label names the headings
    as text (`headings`, `fits`) or, for headings taken from news articles' words, by SHA-1
    (`headings_sha1`, `fits_sha1`); `fits` comes back as text either way."""
    by_key = {(r["topic_id"], r["sentence_sha1"]): r for r in rows}
    out = []
    for lab in labels:
        r = by_key.get((lab["topic_id"], lab["sentence_sha1"]))
        if r is None:
            continue
        if "headings_sha1" in lab:
            shas = [be._sha1(h) for h in r["headings"]]
            if shas != list(lab["headings_sha1"]):
                continue
            lab = {**lab, "fits": [h for h, x in zip(r["headings"], shas) if x in set(lab["fits_sha1"])]}
        elif list(r["headings"]) != list(lab["headings"]):
            continue
        out.append((r, lab))
    return out


def score(pairs, aspect: float, margin: float) -> dict:
    """Placement against the labels: precision, recall and F0.5 (see the module docstring)."""
    tp = fp = fn = 0
    for r, lab in pairs:
        j = place(r["raw"], aspect, margin)
        fits = set(lab["fits"])
        if j is not None and r["headings"][j] in fits:
            tp += 1
        elif j is not None:
            fp += 1
            fn += bool(fits)
        elif fits:
            fn += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f = 1.25 * p * rec / (0.25 * p + rec) if p + rec else 0.0
    return {"f05": round(f, 4), "precision": round(p, 4), "recall": round(rec, 4),
            "placed": tp + fp, "labelled": len(pairs)}


def fit(pairs) -> tuple[dict, dict]:
    """The (aspect, aspect_margin) of best F0.5; ties go to the higher recall, then the lower
    thresholds."""
    best = None
    for a in ASPECT_GRID:
        for m in MARGIN_GRID:
            s = score(pairs, a, m)
            key = (s["f05"], s["recall"], -a, -m)
            if best is None or key > best[0]:
                best = (key, {"aspect": a, "aspect_margin": m}, s)
    return best[1], best[2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="ant5000 articles in the index")
    ap.add_argument("--split", default="tune", choices=("check", "tune", "all"))
    ap.add_argument("--dump", help="write the planned sentences (with text) here and stop")
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--dry-run", action="store_true", help="report the fit, write nothing")
    args = ap.parse_args(argv)
    from rag.briefing.relevance import THRESHOLDS_FILE, load_thresholds
    from rag.services import open_archive

    settings, store = be.build_index(args.n)
    search = be.cached_search(open_archive(settings, store=store).retriever.search)
    embedder = be.CachedEmbedder(store.embedder)
    ids = {d.doc_id: be.eval_id(d) for d in store.documents()}
    shipped = load_thresholds(embedder.model_id)
    topics = [t for t in be.load_topics() if args.split == "all" or be.split_of(t["id"]) == args.split]
    rows = planned(topics, search, settings, embedder, ids, replace(shipped, aspect=OPEN, aspect_margin=0.0))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{len(rows)} sentences -> {args.dump}", file=sys.stderr)
        return 0
    if args.split != "tune":
        ap.error("the fit uses the tune half only; --split check only with --dump")
    labels = load_labels(Path(args.labels))
    pairs = join(rows, labels)
    if not pairs:
        print(f"none of {len(labels)} labels matches this run's sentences and headings", file=sys.stderr)
        return 1
    chosen, figures = fit(pairs)
    before = score(pairs, shipped.aspect, shipped.aspect_margin)
    print(json.dumps({"chosen": chosen, "tune": figures,
                      "tune_at_shipped": {"aspect": shipped.aspect, "aspect_margin": shipped.aspect_margin, **before},
                      "labels": len(labels), "matched": len(pairs)}, ensure_ascii=False))
    if args.dry_run:
        return 0
    data = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    models = data["models"]  # an int8 embedder's first fit starts from its fp32 model's entry
    entry = models.setdefault(embedder.model_id, dict(models.get(cosine_scale(embedder.model_id), {})))
    entry.update(chosen)
    labels_at = Path(args.labels).resolve()
    entry["placement_provenance"] = {
        "fitted_by": "python -m evals.fit_briefing_aspects",
        "fits": ["aspect", "aspect_margin"],
        "supersedes": "the aspect stage of evals.briefing_eval --fit (whose aspect proxy only "
                      "saw one topic)",
        "data": f"{labels_at.relative_to(be.ROOT) if labels_at.is_relative_to(be.ROOT) else labels_at}: "
                f"{len(pairs)} on-topic sentences of the tune half labelled by hand with the "
                "headings they are about; index as evals.briefing_eval",
        "split": "tune half: topics whose sha256(id) first byte is even",
        "objective": "F0.5 of placement: under a heading it is about (for), under another "
                     "(against), about a heading but under none (missed)",
        "grid": f"aspect {ASPECT_GRID[0]}..{ASPECT_GRID[-1]} step 0.005 x aspect_margin "
                f"{MARGIN_GRID[0]}..{MARGIN_GRID[-1]} step 0.005",
        "date": date.today().isoformat(), "tune_figures": figures,
        "tune_figures_at_previous_thresholds": {"aspect": shipped.aspect, "aspect_margin": shipped.aspect_margin, **before}}
    if "asked_aspect" in entry:
        entry["placement_provenance"]["asked"] = (
            f"asked_aspect {entry['asked_aspect']} / asked_aspect_margin {entry.get('asked_aspect_margin')}: "
            "kept from the earlier evals.briefing_eval --fit for aspects a trainer asks for; no "
            "tune-half topic asks for aspects, so this fit saw discovered aspects only")
    THRESHOLDS_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"-> {THRESHOLDS_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
