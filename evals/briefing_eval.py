"""Briefing dev set: build each topic's briefing over demo archive + N ant5000 articles and
score it on the check (or tune) half; with --fit, choose the relevance thresholds on the tune
half and write them to rag/briefing/thresholds.json.

    python -m evals.briefing_eval [--n 400] [--split check|tune|all] [--fit] [--baseline]

The index (real embedder, demo archive + the topics' expected ant5000 articles + the first
distractors in manifest order whose titles match no topic's pattern, N in all) is built once
under ~/.cache/arabic-rag/briefing-eval-N<n> and reused. Figures per split:
  recall     expected documents cited / expected documents (topics with an expected set);
  precision  proxy: a sentence (summary, sections) is on topic when the document it cites is in
             the topic's expected set; mean over topics that cite anything;
  dropped    aspects dropped for too little support / aspects considered;
  absent     sentences written for topics with no expected documents (should be few);
  sentences  mean sentences per briefing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ROOT / "evals" / "data" / "briefing.topics.jsonl"
DEMO = ROOT / "demo" / "archive"
NEWS = Path("/work/shared/data/news/ant5000")


def load_topics(path: Path = TOPICS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_of(topic_id: str) -> str:
    """Fixed halves by a hash of the topic id."""
    return "tune" if hashlib.sha256(topic_id.encode()).digest()[0] % 2 == 0 else "check"


def news_subset(topics: list[dict], n: int, news: Path = NEWS) -> list[dict]:
    rows = [json.loads(line) for line in (news / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    expected = {d for t in topics if t["corpus"] == "ant5000" for d in t["expected"]}
    pats = [re.compile(t["title_pattern"]) for t in topics if t.get("title_pattern")]
    chosen = [r for r in rows if r["docno"] in expected]
    for r in rows:
        if len(chosen) >= n:
            break
        if r["docno"] not in expected and not any(p.search(r["title"]) for p in pats):
            chosen.append(r)
    return chosen


def build_index(n: int, settings=None):
    """The eval data dir with demo + N news articles ingested (incremental: reused)."""
    from ingest.pipeline import run_ingest
    from rag.config import load_settings
    from rag.services import open_index

    settings = settings or load_settings()
    data = Path.home() / ".cache" / "arabic-rag" / f"briefing-eval-N{n}"
    src = data / "news"
    (src / "articles").mkdir(parents=True, exist_ok=True)
    rows = news_subset(load_topics(), n)
    with open(src / "manifest.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            dst = src / r["file"]
            if not dst.exists():
                shutil.copyfile(NEWS / r["file"], dst)
    s = settings.replace(data_dir=data, chroma_url="")
    from rag.index.embeddings import get_embedder

    embedder = get_embedder(s)
    rep = run_ingest(s, [DEMO, src / "articles"], embedder=embedder)
    store = open_index(s, embedder=embedder, require=True)
    print(f"index {data}: {rep.as_dict()['total_chunks']} chunks, {rep.added} added", file=sys.stderr)
    return s, store


def eval_id(info) -> str:
    """The dev set's id of an indexed document: demo file stem, record id, or ant5000 docno."""
    key = info.key
    if "#" in key:
        return key.rsplit("#", 1)[1]
    stem = Path(info.path).stem
    return stem.split("_", 1)[1] if re.match(r"^\d{5}_", stem) else stem


class CachedEmbedder:
    """The real embedder with a memo, so a threshold sweep embeds each sentence once."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self._q: dict = {}
        self._d: dict = {}

    def embed_query(self, text):
        if text not in self._q:
            self._q[text] = self.inner.embed_query(text)
        return self._q[text]

    def embed_documents(self, texts):
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in self._d]
        if todo:
            for t, v in zip(todo, self.inner.embed_documents(todo)):
                self._d[t] = v
        return np.stack([self._d[t] for t in texts]) if texts else np.zeros((0, self.dimension))


def cached_search(search):
    memo: dict = {}

    def run(query, filters, k):
        key = (query, filters, k)
        if key not in memo:
            memo[key] = search(query, filters, k)
        return memo[key]
    return run


def score_topic(t: dict, b, ids: dict[str, str], section_of=None) -> dict:
    by_n = {c.n: ids.get(c.doc_id, c.doc_id) for c in b.sources}
    cited = set(by_n.values())
    exp = set(t["expected"])
    sents = list(b.summary) + [s for sec in b.sections for s in sec.sentences]
    on = [s for s in sents if any(by_n.get(n) in exp for n in s.citations)]
    dropped = getattr(b, "dropped_aspects", ())
    aspects = [sec for sec in b.sections if getattr(sec, "aspect", True)]
    # aspect proxy: a section sentence whose passage sits under an article heading that is also
    # one of the briefing's headings belongs under that heading
    heads = {sec.heading for sec in aspects}
    placed = []
    for sec in aspects:
        for s in sec.sentences:
            own = {section_of(c) for c in getattr(s, "passages", ())} & heads if section_of else set()
            if own:
                placed.append(sec.heading in own)
    n_aspects = len(aspects) + len(dropped)
    return {"id": t["id"], "split": split_of(t["id"]), "cited": sorted(cited),
            "recall": len(exp & cited) / len(exp) if exp else None,
            "precision": (len(on) / len(sents)) if sents else None,
            "aspect_precision": sum(placed) / len(placed) if placed else None,
            "sentences": len(sents), "dropped": len(dropped), "aspects": n_aspects,
            "section_sentences": sum(len(sec.sentences) for sec in b.sections),
            "other": sum(len(sec.sentences) for sec in b.sections if sec not in aspects),
            "sections": [sec.heading for sec in aspects], "open": list(getattr(b, "open_questions", ())),
            "timeline": len(b.timeline), "figures": len(getattr(b, "figures", ())), "note": getattr(b, "coverage_note", "")}


def summarize(rows: list[dict]) -> dict:
    def mean(xs):
        xs = [x for x in xs if x is not None]
        return round(sum(xs) / len(xs), 3) if xs else None
    with_exp = [r for r in rows if r["recall"] is not None]
    absent = [r for r in rows if r["recall"] is None]
    aspects = sum(r["aspects"] for r in rows)
    in_sections = sum(r.get("section_sentences", 0) for r in rows)
    return {"topics": len(rows), "recall": mean(r["recall"] for r in with_exp),
            "precision": mean(r["precision"] for r in with_exp),
            "aspect_precision": mean(r["aspect_precision"] for r in rows),
            "dropped_share": round(sum(r["dropped"] for r in rows) / aspects, 3) if aspects else None,
            "other_share": round(sum(r.get("other", 0) for r in rows) / in_sections, 3) if in_sections else None,
            "absent_sentences": mean(r["sentences"] for r in absent),
            "sentences": mean(r["sentences"] for r in rows)}


def objective(summary: dict) -> float:
    """F1 of recall and precision, plus half the aspect proxy, less 0.02 per sentence written
    on a topic the archive does not cover."""
    r, p = summary["recall"] or 0.0, summary["precision"] or 0.0
    f = 2 * r * p / (r + p) if r + p else 0.0
    return f + 0.5 * (summary["aspect_precision"] or 0.0) - 0.02 * (summary["absent_sentences"] or 0.0)


def run_topics(topics, search, settings, embedder, ids, thresholds=None, section_of=None,
               keep: list | None = None) -> list[dict]:
    import inspect

    from rag.briefing.build import build_briefing

    params = inspect.signature(build_briefing).parameters
    rows = []
    for t in topics:
        kw = {}
        if "embedder" in params:
            kw = {"embedder": embedder, "aspects": t.get("aspects", ()), "thresholds": thresholds}
        b = build_briefing(t["topic"], search, settings, **kw)
        rows.append(score_topic(t, b, ids, section_of))
        if keep is not None:
            keep.append((t, b))
    return rows


def fit(tune, search, settings, embedder, ids, out: Path, section_of=None) -> dict:
    """The topic threshold, sentence weight and passage lexical weight on the tune half, at the
    placement (aspect, aspect_margin) in the file: those are fitted on hand labels by
    evals.fit_briefing_aspects, since this objective's aspect proxy sees one topic only."""
    from rag.briefing.relevance import Thresholds, load_thresholds

    shipped = load_thresholds(embedder.model_id, out)
    placement = {"aspect": shipped.aspect if shipped.dense else 0.84,
                 "aspect_margin": shipped.aspect_margin}

    def run(**kw):
        th = Thresholds(min_support=2, thin=2, model=embedder.model_id, **kw)
        sm = summarize(run_topics(tune, search, settings, embedder, ids, th, section_of))
        return objective(sm), kw, sm

    best = None
    for topic in [x / 200 for x in range(160, 180)]:  # 0.800 .. 0.895
        for w in (0.3, 0.5):
            for plw in (0.0, 0.05, 0.1):
                got = run(topic=topic, sentence_weight=w, lex_weight=0.0, passage_lex_weight=plw,
                          **placement)
                if best is None or got[0] > best[0] + 1e-9:
                    best = got
                    print(f"  {got[0]:.3f} {got[1]} {got[2]}", file=sys.stderr)
    _, kw, sm = best
    data = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    data.setdefault("lexical", {"min_support": 2, "thin": 2})
    old = data.setdefault("models", {}).get(embedder.model_id, {})
    data["models"][embedder.model_id] = {
        **kw, "min_support": 2, "thin": 2,
        "provenance": {"fitted_by": "python -m evals.briefing_eval --fit",
                       "data": "evals/data/briefing.topics.jsonl; index: demo/archive + "
                               f"{sum(1 for d in set(ids.values()) if re.match(r'^[A-Z]{2}-', d))} ant5000 articles "
                               f"({settings.data_dir})",
                       "split": "tune half: topics whose sha256(id) first byte is even",
                       "objective": objective.__doc__.strip().replace("\n   ", ""),
                       "grid": "topic 0.800..0.895 step 0.005 x sentence_weight {0.3,0.5} x "
                               "passage_lex_weight {0,0.05,0.1} (lex_weight 0), at the placement "
                               f"fitted by evals.fit_briefing_aspects {placement}",
                       "date": date.today().isoformat(), "tune_figures": sm},
        **({"placement_provenance": old["placement_provenance"]} if "placement_provenance" in old else {})}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return data


def _sentences(built, ids):
    for t, b in built:
        by_n = {c.n: ids.get(c.doc_id, c.doc_id) for c in b.sources}
        parts = [("summary", False, s) for s in b.summary] + [
            (sec.heading, getattr(sec, "aspect", True), s) for sec in b.sections for s in sec.sentences]
        for heading, aspect, s in parts:
            docs = [by_n.get(n) for n in s.citations]
            yield {"topic_id": t["id"], "topic": t["topic"], "heading": heading, "aspect": aspect,
                   "text": s.text, "docs": docs, "proxy_on_topic": any(d in t["expected"] for d in docs)}


def _sha1(text: str) -> str:
    """Labels name a sentence by the SHA-1 of its whitespace-normalised text: no article text
    in the repository."""
    return hashlib.sha1(" ".join(text.split()).encode()).hexdigest()


def same_heading(label: dict, heading: str | None) -> bool:
    """Whether a label was given under `heading`: its `heading`, or the SHA-1 of it
    (`heading_sha1`, for headings taken from news articles' words); a label naming none fits any."""
    if "heading_sha1" in label:
        return heading is not None and label["heading_sha1"] == _sha1(heading)
    return label.get("heading", heading) == heading


def agreement(sentences: list[dict], labels: Path) -> dict | None:
    """How often the proxy agrees with the hand labels on the sentences both judge, and the
    hand-labelled share on topic and (of the sentences under an aspect's heading, labelled
    under that same heading) on aspect."""
    if not labels.exists():
        return None
    hand: dict[tuple, list[dict]] = {}
    for line in labels.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            hand.setdefault((r["topic_id"], r.get("sentence_sha1") or _sha1(r["text"])), []).append(r)
    run = {(r["topic_id"], _sha1(r["text"])): r for r in sentences}
    both = [k for k in hand if k in run]
    if not both:
        return {"labelled": sum(map(len, hand.values())), "in_this_run": 0}
    on = [hand[k][-1]["on_topic"] for k in both]
    aspect = []
    for k in both:
        r = run[k]
        if not r.get("aspect", True):
            continue
        same = [x for x in hand[k] if x.get("on_aspect") is not None and same_heading(x, r.get("heading"))]
        if same:
            aspect.append(same[-1]["on_aspect"])
    return {"labelled": sum(map(len, hand.values())), "in_this_run": len(both),
            "hand_on_topic": round(sum(on) / len(on), 3),
            "hand_on_aspect": round(sum(aspect) / len(aspect), 3) if aspect else None,
            "on_aspect_labelled": len(aspect),
            "proxy_agreement": round(sum(hand[k][-1]["on_topic"] == run[k]["proxy_on_topic"] for k in both) / len(both), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="ant5000 articles in the index")
    ap.add_argument("--split", default="check", choices=("check", "tune", "all"))
    ap.add_argument("--fit", action="store_true", help="fit thresholds on the tune half first")
    ap.add_argument("--json", help="write the per-topic rows here")
    ap.add_argument("--index-only", action="store_true")
    ap.add_argument("--dump", help="write every sentence (topic, heading, text, cited ids, proxy) "
                                   "here as JSONL, e.g. to label a sample by hand")
    ap.add_argument("--labels", default=str(ROOT / "evals" / "data" / "briefing.labels.jsonl"),
                    help="sentences labelled by hand: agreement with the proxy is reported")
    args = ap.parse_args(argv)
    settings, store = build_index(args.n)
    if args.index_only:
        return 0
    from rag.services import open_archive

    retriever = open_archive(settings, store=store).retriever
    search = cached_search(retriever.search)
    embedder = CachedEmbedder(store.embedder)
    ids = {d.doc_id: eval_id(d) for d in store.documents()}
    memo: dict[str, str] = {}

    def section_of(chunk_id: str) -> str:
        if chunk_id not in memo:
            got = store.chunks([chunk_id]).get(chunk_id)
            memo[chunk_id] = got.section if got else ""
        return memo[chunk_id]
    topics = load_topics()
    if args.fit:
        from rag.briefing.relevance import THRESHOLDS_FILE

        t0 = time.time()
        fit([t for t in topics if split_of(t["id"]) == "tune"], search, settings, embedder, ids,
            THRESHOLDS_FILE, section_of)
        print(f"fitted in {time.time() - t0:.0f}s -> {THRESHOLDS_FILE}", file=sys.stderr)
    chosen = [t for t in topics if args.split == "all" or split_of(t["id"]) == args.split]
    built: list = []
    rows = run_topics(chosen, search, settings, embedder, ids, section_of=section_of, keep=built)
    sentences = list(_sentences(built, ids))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as fh:
            for r in sentences:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    for r in rows:
        print(json.dumps({k: r[k] for k in ("id", "recall", "precision", "aspect_precision", "sentences", "dropped",
                                             "aspects", "other", "sections", "open", "note")},
                         ensure_ascii=False))
    print(json.dumps({"split": args.split, **summarize(rows)}, ensure_ascii=False))
    agree = agreement(sentences, Path(args.labels))
    if agree:
        print(json.dumps({"hand_labels": agree}, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
