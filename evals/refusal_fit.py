"""Fit the Arabic refusal rules on the tune halves of every dev set; report check halves and
leave-one-set-out (not part of `rag eval`):

  python -m evals.refusal_fit collect --data-dir DIR --out FEATURES.jsonl
  python -m evals.refusal_fit fit FEATURES.jsonl [--features F ...] [--write | --out DIR]

`collect` asks each set's questions as the chain asks them (spelling repaired, hybrid, k) over
its eval index with the 5,000 news distractors and writes every refusal feature per question:

  arcd   ARCD's refusal mix over the ARCD paragraphs: answerable ARCD questions and XQuAD-ar
         questions ARCD cannot answer;
  xquad  XQuAD-ar's questions over its paragraphs (answerable) and the mix's ARCD questions
         over them (not answerable there), so each Wikipedia set has both kinds;
  news   our own news set (evals/data/news.questions.jsonl, Arabic, not follow-ups) over the
         ant5000 archive: near misses such as a year the archive does not cover.

`fit` fits the logistic rule on the tune halves of all sets, picks the threshold on the tune
halves (the highest at which at most --max-answerable of answerable questions are refused in
any set), and prints, per set, the check-half figures of that fit and the leave-one-set-out
figures (fit and threshold on the other sets' tune halves, measured on this set's check half).
With --write (the packaged weights) or --out DIR the rule is written with that provenance.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.calibrate import _sigmoid, fit_logistic
from evals.gold import SHARED_NEWS as NEWS
from evals.gold import SHARED_QA as QA
from evals.gold import load_questions, split_of
from evals.run import asked_as_the_chain_asks, script_main
from rag.answering import weights
from rag.answering.question import analyze_question
from rag.answering.refusal import REFUSAL_FEATURES, features
from rag.config import load_settings

NEWS_SET = Path(__file__).with_name("data") / "news.questions.jsonl"


def _sets():
    """(set name, questions, contexts, answerable override) to collect; None keeps the file's labels."""
    mix = QA / "arcd_refusal_mix.questions.jsonl"
    return [("arcd", mix, QA / "arcd.contexts.jsonl", None),
            ("xquad", QA / "xquad_ar.questions.jsonl", QA / "xquad_ar.contexts.jsonl", None),
            ("xquad", mix, QA / "xquad_ar.contexts.jsonl", "arcd-only"),
            ("news", NEWS_SET, QA / "arcd.contexts.jsonl", None)]


def _arabic(q) -> bool:
    return not any("a" <= c.lower() <= "z" for c in q.question)


def collect(args) -> int:
    from rag.index.embeddings import get_embedder

    settings = load_settings(data_dir=args.data_dir, reader="builtin" if args.reader else None)
    embedder = get_embedder(settings)
    reader = None
    if args.reader:
        from rag.index.reader import get_reader

        reader = get_reader(settings)
    with open(args.out, "w", encoding="utf-8") as out:
        for name, questions, contexts, override in _sets():
            if args.sets and name not in args.sets:
                continue
            qs = [q for q in load_questions(questions) if q.follows is None and _arabic(q)]
            if override == "arcd-only":  # the mix's ARCD questions, unanswerable over XQuAD-ar
                qs = [q for q in qs if not q.expects_refusal]
            n = 0
            for q, asked, hits in asked_as_the_chain_asks(settings, contexts, [NEWS], embedder, qs, args.limit):
                f = features(analyze_question(asked, hits, embedder, reader=reader))
                answerable = not q.expects_refusal and override is None
                out.write(json.dumps({"set": name, "id": q.id, "split": split_of(q.id),
                                      "answerable": answerable, **f}) + "\n")
                n += 1
            print(f"{name}: {n} questions from {questions.name} over {contexts.name} + {NEWS.name}")
    return 0


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def _matrix(rows: Sequence[dict], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([[r[n] for n in names] for r in rows], dtype=float),
            np.array([r["answerable"] for r in rows], dtype=bool))


def figures(scores: np.ndarray, answerable: np.ndarray, threshold: float) -> dict:
    refused = scores < threshold
    return {"n": int(len(scores)), "unanswerable": int((~answerable).sum()),
            "unanswerable_refused": round(float(refused[~answerable].mean()), 3) if (~answerable).any() else None,
            "answerable_refused": round(float(refused[answerable].mean()), 3) if answerable.any() else None}


def choose_threshold(groups: Sequence[tuple[np.ndarray, np.ndarray]], max_answerable: float) -> float:
    """The highest threshold at which no group refuses more than `max_answerable` of its
    answerable questions: refuse as much as that budget allows, in the worst set."""
    best = 0.05
    for t in np.arange(0.05, 0.96, 0.01):
        if all(not a.any() or float((s[a] < t).mean()) <= max_answerable for s, a in groups):
            best = float(t)
    return round(best, 2)


def fit_on(rows: Sequence[dict], names: Sequence[str], max_answerable: float):
    """(weights, bias, threshold) fitted on `rows`, the threshold per set within the budget.
    Each set weighs the same in the fit, so the largest set does not decide the rule alone."""
    X, y = _matrix(rows, names)
    sets = sorted({r["set"] for r in rows})
    reps = {s: max(1, round(len(rows) / len(sets) / sum(r["set"] == s for r in rows))) for s in sets}
    idx = [i for i, r in enumerate(rows) for _ in range(reps[r["set"]])]
    w, b = fit_logistic(X[idx], y[idx])
    groups = []
    for s in sets:
        Xs, ys = _matrix([r for r in rows if r["set"] == s], names)
        groups.append((_sigmoid(Xs @ w + b), ys))
    return w, b, choose_threshold(groups, max_answerable)


def evaluate(rows: Sequence[dict], names: Sequence[str], max_answerable: float) -> dict:
    """Per set: check-half figures of the fit on all tune halves, and leave-one-set-out."""
    tune = [r for r in rows if r["split"] == "tune"]
    w, b, t = fit_on(tune, names, max_answerable)
    out = {"threshold": t, "sets": {}}
    for s in sorted({r["set"] for r in rows}):
        check = [r for r in rows if r["set"] == s and r["split"] == "check"]
        X, y = _matrix(check, names)
        lw, lb, lt = fit_on([r for r in tune if r["set"] != s], names, max_answerable)
        out["sets"][s] = {"check": figures(_sigmoid(X @ w + b), y, t),
                          "leave_one_out": {**figures(_sigmoid(X @ lw + lb), y, lt), "threshold": lt}}
    return out | {"weights": w, "bias": b}


def per_set_thresholds(rows: Sequence[dict], names: Sequence[str], max_answerable: float,
                       fitted: dict | None = None) -> dict:
    """The rule fitted on all tune halves (`fitted`: evaluate's result, else fitted here), each
    set then cut at its own tune half's threshold (within the budget), measured on its check
    half: the most that calibrating only the threshold per archive could give, were each set an
    archive of its own."""
    tune = [r for r in rows if r["split"] == "tune"]
    w, b = (fitted["weights"], fitted["bias"]) if fitted else fit_on(tune, names, max_answerable)[:2]
    out = {}
    for s in sorted({r["set"] for r in rows}):
        X, y = _matrix([r for r in tune if r["set"] == s], names)
        t = choose_threshold([(_sigmoid(X @ w + b), y)], max_answerable)
        Xc, yc = _matrix([r for r in rows if r["set"] == s and r["split"] == "check"], names)
        out[s] = {"threshold": t, "check": figures(_sigmoid(Xc @ w + b), yc, t)}
    return out


def fit(args) -> int:
    rows = load_rows(args.features_file)
    names = args.features or list(weights.load().refusal["dense"].features)
    bad = [n for n in names if n not in REFUSAL_FEATURES]
    if bad:
        print(f"unknown features {', '.join(bad)}; choose from {', '.join(REFUSAL_FEATURES)}")
        return 2
    if not args.cosine:
        names = [n for n in names if n != "sentence_cosine"]
    res = evaluate(rows, names, args.max_answerable)
    print(f"features: {', '.join(names)}; threshold (tune halves, at most {args.max_answerable:.0%} "
          f"answerable refused in any set): {res['threshold']}")
    print(f"{'set':6} {'check: unans. refused':>22} {'answerable refused':>19} {'LOSO: unans.':>13} {'answ.':>6}")
    for s, f in res["sets"].items():
        c, lo = f["check"], f["leave_one_out"]
        print(f"{s:6} {c['unanswerable_refused']!s:>22} {c['answerable_refused']!s:>19} "
              f"{lo['unanswerable_refused']!s:>13} {lo['answerable_refused']!s:>6}")
    print("weights:", {n: round(float(v), 3) for n, v in zip(names, res["weights"])}, "bias:", round(res["bias"], 3))
    print("the same rule, each set cut at its own tune half's threshold (what a per-archive threshold could give):")
    for s, f in per_set_thresholds(rows, names, args.max_answerable, res).items():
        c = f["check"]
        print(f"{s:6} threshold {f['threshold']:.2f}: check unans. refused {c['unanswerable_refused']!s}, "
              f"answerable refused {c['answerable_refused']!s}")
    target = args.out or (weights.PACKAGED if args.write else None)
    if target is None:
        print("not written: --write (packaged weights) or --out DIR writes the rule")
        return 0
    name = "dense" if "sentence_cosine" in names else "lexical"
    model = weights.load().refusal["dense"].cosine_model
    rule = weights.Rule(
        name=name, weights={n: round(float(v), 3) for n, v in zip(names, res["weights"])},
        bias=round(float(res["bias"]), 3), threshold=res["threshold"],
        cosine_model=model if "sentence_cosine" in names else None,
        provenance={"model": "intfloat/multilingual-e5-small",
                    "data": [f"{s}: {len([r for r in rows if r['set'] == s])} questions" for s in res["sets"]],
                    "split": "fit and threshold on the tune halves (evals.gold.split_of) of every set, "
                             "each set weighed equally; figures on check halves",
                    "command": " ".join(["python -m evals.refusal_fit", *args.argv]),
                    "date": datetime.date.today().isoformat(),
                    "check_halves": {s: f["check"] for s, f in res["sets"].items()},
                    "leave_one_set_out": {s: f["leave_one_out"] for s, f in res["sets"].items()}})
    for path in weights.write(target, refusal={name: rule}):
        print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.refusal_fit")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="write every refusal feature per dev-set question")
    c.add_argument("--data-dir", required=True, type=Path)
    c.add_argument("--out", required=True, type=Path)
    c.add_argument("--limit", type=int, help="questions per file (a quick look)")
    c.add_argument("--sets", nargs="+", choices=("arcd", "xquad", "news"), help="only these sets")
    c.add_argument("--reader", action="store_true", help="also the built-in reader's score (reader_top)")
    f = sub.add_parser("fit", help="fit on tune halves; check halves and leave-one-set-out")
    f.add_argument("features_file", type=Path)
    f.add_argument("--features", nargs="+")
    f.add_argument("--no-cosine", dest="cosine", action="store_false",
                   help="the lexical rule: without sentence_cosine")
    f.add_argument("--max-answerable", type=float, default=0.08,
                   help="the share of answerable questions any tune half may refuse (default 0.08)")
    f.add_argument("--write", action="store_true")
    f.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.cmd == "collect":
        for _, questions, contexts, _ in _sets():
            if not questions.is_file() or not contexts.is_file():
                print(f"skipped: {questions if not questions.is_file() else contexts} is absent")
                return 0
        return collect(args)
    return fit(args)


if __name__ == "__main__":
    sys.exit(script_main(main))
