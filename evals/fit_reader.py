"""Fit how the pipeline weighs the built-in reader's scores, on the tune halves; write them into
the reader's reader.json ("combine").

- passage_prior: the passage rerank orders the top READER_PASSAGES by reader score + prior *
  relative fused score (rag.retrieval.rerank); chosen for the mean recall@1 over the sets.
- sentence_weight: the answerer adds weight * reader score to its ranking's head
  (rag.answering.sentences.with_reader); chosen for the mean share of questions whose best
  sentence comes from the gold passage (what citation precision counts), then holds a gold answer.

Each is also chosen leave-one-set-out (on the two other sets' tune halves) and reported on the
third, so a weight that only suits one set shows.

  python -m evals.fit_reader --data-dir /tmp/evaldata [--reader-dir DIR] [--write]
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from evals.reader_data import SETS, holds_answer, open_set
from evals.run import _as_gold

PRIORS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 1e3)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 1e3)


def collect(data_dir: Path, reader_dir: str, sets: Sequence[str], half: str = "tune", limit: int | None = None,
            log=print) -> dict:
    """Per set, per question: for each prior, whether the reranked first passage is gold; then, at
    the prior fitted over all sets and with the reader off (prior PRIORS[-1]), the sentence choice
    per weight: (from the gold passage, holds a gold answer)."""
    from rag.answering.question import analyze_question
    from rag.answering.sentences import RERANK_SENTENCES, with_reader
    from rag.config import load_settings
    from rag.index.embeddings import get_embedder
    from rag.index.reader import get_reader
    from rag.retrieval.rerank import READER_PASSAGES, reader_rerank

    settings = load_settings(data_dir=data_dir, reader="off")
    reader = get_reader(settings.replace(reader="builtin", reader_dir=reader_dir))
    embedder = get_embedder(settings)
    runs: dict = {}
    data: dict = {}
    for name in sets:
        retriever, qs, gold_id, _ = open_set(settings, embedder, name, half)
        runs[name] = []
        for q in qs[:limit]:
            asked = retriever.repair(q.question)
            hits = retriever.search(asked, k=max(settings.k, READER_PASSAGES))

            def gold(h, q=q, gold_id=gold_id):
                return _as_gold(h.chunk, q.context_id, gold_id) == q.context_id

            runs[name].append((q, asked, hits, gold))
        data[name] = [{"passage": {p: bool(hits) and gold(reader_rerank(asked, hits, reader, p)[0]) for p in PRIORS},
                       "sentence": {}} for q, asked, hits, gold in runs[name]]
        log(f"{name}: {len(data[name])} questions, passages done")
    fitted = best_prior(data, sets)
    for name in sets:
        for row, (q, asked, hits, gold) in zip(data[name], runs[name]):
            for prior in {fitted, PRIORS[-1]}:
                ranked_hits = reader_rerank(asked, hits, reader, prior)
                a = analyze_question(asked, ranked_hits[:settings.k], embedder)
                ranked = a.answer_ranking()
                if a.cross or not ranked:
                    row["sentence"][prior] = {w: (False, False) for w in WEIGHTS}
                    continue
                scores = reader.score(asked, [s.text for _, s in ranked[:RERANK_SENTENCES]])
                row["sentence"][prior] = {}
                for w in WEIGHTS:
                    best = with_reader(ranked, scores, w)[0][1]
                    row["sentence"][prior][w] = (gold(a.hits[best.hit_index]), holds_answer(best.text, q.answers))
        log(f"{name}: sentences done")
    return data


def recall(rows, prior) -> float:
    return sum(r["passage"][prior] for r in rows) / max(1, len(rows))


def sentence_figure(rows, prior, w) -> tuple[float, float]:
    n = max(1, len(rows))
    return (sum(r["sentence"][prior][w][0] for r in rows) / n, sum(r["sentence"][prior][w][1] for r in rows) / n)


def best_prior(data: dict, sets: Sequence[str]) -> float:
    """The passage prior with the best recall@1 summed over `sets` (ties: the one nearest 1)."""
    return max(PRIORS, key=lambda p: (sum(recall(data[s], p) for s in sets), -abs(p - 1)))


def choose(data: dict, sets: Sequence[str]) -> tuple[float, float]:
    prior = best_prior(data, sets)
    if prior not in data[sets[0]][0]["sentence"]:  # sentences were read at the all-sets prior only
        prior = next(iter(p for p in data[sets[0]][0]["sentence"] if p != PRIORS[-1]), PRIORS[-1])
    weight = max(WEIGHTS, key=lambda w: (sum(sentence_figure(data[s], prior, w)[0] for s in sets),
                                         sum(sentence_figure(data[s], prior, w)[1] for s in sets), -abs(w - 1)))
    return prior, weight


def report(data: dict) -> dict:
    sets = list(data)
    prior, weight = choose(data, sets)
    out = {"passage_prior": prior, "sentence_weight": weight, "tune": {}, "leave_one_set_out": {}}
    for s in sets:
        out["tune"][s] = {"recall@1_off": round(recall(data[s], PRIORS[-1]), 4),
                          "recall@1_on": round(recall(data[s], prior), 4),
                          "gold_sentence_passage_off": round(sentence_figure(data[s], PRIORS[-1], 0.0)[0], 4),
                          "gold_sentence_passage_on": round(sentence_figure(data[s], prior, weight)[0], 4),
                          "sentence_holds_answer_off": round(sentence_figure(data[s], PRIORS[-1], 0.0)[1], 4),
                          "sentence_holds_answer_on": round(sentence_figure(data[s], prior, weight)[1], 4)}
        others = [o for o in sets if o != s]
        if others:
            p, w = choose(data, others)
            out["leave_one_set_out"][s] = {"passage_prior": p, "sentence_weight": w,
                                           "recall@1": round(recall(data[s], p), 4),
                                           "gold_sentence_passage": round(sentence_figure(data[s], p, w)[0], 4)}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.fit_reader")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/evaldata"))
    p.add_argument("--reader-dir", default="", help="the reader to fit for (default: the packaged one)")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--limit", type=int)
    p.add_argument("--save", type=Path, help="keep the collected rows here (outside the repo: they hold no text)")
    p.add_argument("--load", type=Path, help="report from rows saved with --save instead of collecting")
    p.add_argument("--write", action="store_true", help="store the weights in the reader's reader.json")
    a = p.parse_args(argv)
    if a.load:
        data = pickle.loads(a.load.read_bytes())
    else:
        data = collect(a.data_dir, a.reader_dir, a.sets.split(","), limit=a.limit,
                       log=lambda m: print(m, file=sys.stderr))
        if a.save:
            a.save.write_bytes(pickle.dumps(data))
    out = report(data)
    print(json.dumps(out, indent=1))
    if a.write:
        from rag.index.reader import PACKAGED, READER_INFO

        path = (Path(a.reader_dir) if a.reader_dir else PACKAGED) / READER_INFO
        info = json.loads(path.read_text(encoding="utf-8"))
        # The largest prior is the fused order itself: then the passage rerank is not run at all.
        prior = None if out["passage_prior"] == PRIORS[-1] else out["passage_prior"]
        info["combine"] = {"passage_prior": prior, "sentence_weight": out["sentence_weight"],
                           "fitted_by": "python -m evals.fit_reader (tune halves)", "tune": out["tune"],
                           "leave_one_set_out": out["leave_one_set_out"]}
        path.write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    from evals.run import script_main

    raise SystemExit(script_main(main))
