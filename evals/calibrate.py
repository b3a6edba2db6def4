"""Refit the refusal rule through the real pipeline, repeatably (not part of `rag eval`):

  python -m evals.calibrate --data-dir DIR [--distractors PATH ...] [--limit N]

Collects rag.answering.refusal.refusal_features for the refusal mix (answerable ARCD questions and
questions ARCD cannot answer) over the ARCD index, and for the answerable XQuAD-ar questions over
theirs (both with the distractors): every unanswerable question of the mix is an XQuAD question,
so without XQuAD answerables the rule would learn "XQuAD wording", not "not in the archive".
Fits a small L2 logistic regression of "answerable" on the features the rule uses, prints the
refused-unanswerable / refused-answerable frontier on the held-out halves (each half scored by
the fit on the other, split by question id parity), the weights fitted on everything, and the
threshold at which that fit refuses 90% of the mix's unanswerable questions. With --write (the
packaged rag/answering/weights/) or --out DIR it writes the fitted rule into refusal.json, with
its provenance (model, data files, split, command, date, held-out figures at --threshold,
default the current rule's); without, it prints and changes nothing.

  python -m evals.calibrate --data-dir DIR --english [FILE]

fits the cross-lingual rule (Latin-script questions over Arabic passages) the same way, from our
own English questions (ENGLISH: each names the ARCD or XQuAD-ar context that answers it), asked
over both indexes: answerable over their own, not over the other. It also prints how often the
answer cites the question's own context. --write / --out write the cross-lingual rule.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.gold import SHARED_NEWS as NEWS
from evals.gold import SHARED_QA as QA
from evals.gold import load_contexts, load_located_questions, load_questions
from evals.run import asked_as_the_chain_asks, script_main
from rag.answering import weights
from rag.answering.extractive import extractive_answer
from rag.answering.question import analyze_question
from rag.answering.refusal import REFUSAL_FEATURES, refusal_features, should_refuse
from rag.config import Settings, load_settings


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000,
                 lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Weights and bias of P(y=1 | x) by full-batch gradient descent (numpy only, no sklearn)."""
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = (X - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        w -= lr * (Z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= lr * float(np.mean(p - y))
    return w / sd, b - float((w / sd) @ mu)  # back to the features' own scale


def frontier(scores: np.ndarray, answerable: np.ndarray, thresholds: Sequence[float]) -> list[dict]:
    """For each threshold: share of unanswerable refused and of answerable refused."""
    return [{"threshold": t, "refused_unanswerable": float(np.mean(scores[~answerable] < t)),
             "refused_answerable": float(np.mean(scores[answerable] < t))} for t in thresholds]


def collect(settings: Settings, questions: Path, contexts: Path, distractors: Sequence[Path], embedder,
            features: Sequence[str], limit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, answerable, held-out mask) for each question, retrieved as the chain does."""
    rows, labels, held = [], [], []
    for q, asked, hits in asked_as_the_chain_asks(settings, contexts, distractors, embedder,
                                                  load_questions(questions), limit):
        f = refusal_features(asked, hits, embedder=embedder)
        rows.append([f[name] for name in features])
        labels.append(not q.expects_refusal)
        held.append(_held_out(q.id))
    return np.array(rows, dtype=float), np.array(labels), np.array(held)


def _held_out(question_id: str) -> bool:
    """The half a question falls in, by id parity: stable across runs and sets."""
    return zlib.crc32(question_id.encode()) % 2 == 1


ENGLISH = Path(__file__).with_name("data") / "english.questions.jsonl"
CROSS_INDEXES = ("arcd", "xquad_ar")  # the contexts the English questions are about


@dataclass
class CrossRows:
    """One row per (English question, index) pair."""

    X: np.ndarray
    answerable: np.ndarray  # over this index
    held: np.ndarray  # the held-out half
    refused_now: np.ndarray  # by the shipped rule (rag.answering.refusal.should_refuse)
    right: list[bool]  # the answer cites the question's own context (answerable rows only)


def collect_cross(settings: Settings, english: Path, indexes: Sequence[Path], distractors: Sequence[Path],
                  embedder, features: Sequence[str]) -> CrossRows:
    """The English questions asked over the index of each context file in `indexes`, each
    answerable exactly over the index that holds its context."""
    questions = list(load_located_questions(english))
    rows, labels, held, refused, right = [], [], [], [], []
    for contexts in indexes:
        ids = {c.context_id for c in load_contexts(contexts)}
        for q, asked, hits in asked_as_the_chain_asks(settings, contexts, distractors, embedder, questions):
            analysis = analyze_question(asked, hits, embedder)
            f = refusal_features(asked, hits, answer=False, embedder=embedder, analysis=analysis)
            rows.append([f[n] for n in features])
            labels.append(q.context_id in ids)
            held.append(_held_out(q.id))
            refused.append(should_refuse(asked, hits, settings, analysis=analysis))
            if labels[-1]:
                cites = extractive_answer(asked, hits, settings, analysis=analysis).citations
                right.append(bool(cites) and cites[0].doc_id == q.context_id)
    return CrossRows(np.array(rows, dtype=float), np.array(labels), np.array(held), np.array(refused), right)


def cross_main(args, settings: Settings, embedder) -> int:
    indexes = [QA / f"{n}.contexts.jsonl" for n in CROSS_INDEXES]
    if not all(p.is_file() for p in indexes):
        print(f"skipped: the contexts of {', '.join(CROSS_INDEXES)} are absent from {QA}")
        return 0
    features = args.features or list(weights.load().refusal["cross"].features)
    rows = collect_cross(settings, args.english, indexes, args.distractors, embedder, features)
    X, y, held = rows.X, rows.answerable, rows.held
    print(f"{len(y)} English question-index pairs ({int((~y).sum())} unanswerable); the answer cites "
          f"the question's own context for {np.mean(rows.right):.3f} of the answerable")
    print(f"the shipped rule: unanswerable refused {np.mean(rows.refused_now[~y]):.3f}, "
          f"answerable refused {np.mean(rows.refused_now[y]):.3f}")
    scores = np.zeros(len(y))
    for half in (True, False):
        w, b = fit_logistic(X[held != half], y[held != half])
        scores[held == half] = _sigmoid(X[held == half] @ w + b)
    print("held out:")
    for t in (0.3, 0.4, 0.45, 0.5, 0.6, 0.7):
        (row,) = frontier(scores, y, [t])
        print(f"  threshold {t:.2f}: unanswerable refused {row['refused_unanswerable']:.3f}, "
              f"answerable refused {row['refused_answerable']:.3f}")
    w, b = fit_logistic(X, y)
    print("weights:", {name: round(float(v), 3) for name, v in zip(features, w)}, "bias:", round(b, 3))
    name = "cross" if "sentence_cosine" in features else "cross_dense"
    threshold = args.threshold if args.threshold is not None else weights.load().refusal[name].threshold
    (row,) = frontier(scores, y, [threshold])
    held_out = {"threshold": threshold, "unanswerable_refused": round(row["refused_unanswerable"], 3),
                "answerable_refused": round(row["refused_answerable"], 3),
                "cites_own_context": round(float(np.mean(rows.right)), 3) if rows.right else None}
    data = [f"{args.english.name}, each over {', '.join(p.name for p in indexes)}: answerable over its own",
            *(p.name for p in args.distractors)]
    _save(args, fitted_rule(name, features, w, b, threshold, embedder, data, held_out, argv=args.argv))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--questions", type=Path, default=QA / "arcd_refusal_mix.questions.jsonl")
    ap.add_argument("--contexts", type=Path, default=QA / "arcd.contexts.jsonl")
    ap.add_argument("--answerable", type=Path, default=QA / "xquad_ar.questions.jsonl",
                    help="extra answerable questions, over --answerable-contexts")
    ap.add_argument("--answerable-contexts", type=Path, default=QA / "xquad_ar.contexts.jsonl")
    ap.add_argument("--distractors", nargs="*", type=Path, default=[NEWS])
    ap.add_argument("--features", nargs="+",
                    help="refusal_features to fit on (default: those the shipped rule uses)")
    ap.add_argument("--english", nargs="?", const=ENGLISH, type=Path,
                    help=f"fit the cross-lingual rule from these English questions (default {ENGLISH.name})")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threshold", type=float, help="the written rule's threshold (default: the current rule's)")
    ap.add_argument("--write", action="store_true", help="write the fitted rule into the packaged weights")
    ap.add_argument("--out", type=Path, help="write the fitted rule into DIR/refusal.json instead")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    bad = [f for f in args.features or () if f not in REFUSAL_FEATURES]
    if bad:
        ap.error(f"unknown --features {', '.join(bad)}; choose from {', '.join(REFUSAL_FEATURES)}")
    if args.english and not args.english.is_file():
        ap.error(f"--english {args.english}: no such file; give JSON lines of "
                 '{"id", "question", "context_id"} (the default is ' f"{ENGLISH})")
    if not args.questions.is_file():
        print(f"skipped: {args.questions} is absent")
        return 0
    from rag.index.embeddings import get_embedder

    settings = load_settings(data_dir=args.data_dir)
    embedder = get_embedder(settings)
    if args.english:
        return cross_main(args, settings, embedder)
    args.features = args.features or list(weights.load().refusal["dense"].features)
    X, y, held = collect(settings, args.questions, args.contexts, args.distractors, embedder, args.features,
                         args.limit)
    Xa = np.zeros((0, X.shape[1]))
    held_a = np.zeros(0, dtype=bool)
    if args.answerable.is_file():
        Xa, ya, held_a = collect(settings, args.answerable, args.answerable_contexts, args.distractors,
                                 embedder, args.features, args.limit)
        Xa, held_a = Xa[ya], held_a[ya]
    scores, scores_a = np.zeros(len(y)), np.zeros(len(Xa))
    for half in (True, False):  # each half scored by the fit on the other
        w, b = fit_logistic(np.concatenate([X[held != half], Xa[held_a != half]]),
                            np.concatenate([y[held != half], np.ones(int((held_a != half).sum()), bool)]))
        scores[held == half] = _sigmoid(X[held == half] @ w + b)
        scores_a[held_a == half] = _sigmoid(Xa[held_a == half] @ w + b)
    print(f"held out: {len(y)} mix questions ({int((~y).sum())} unanswerable), {len(Xa)} extra answerable")
    for t in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85):
        (row,) = frontier(scores, y, [t])
        extra = f", extra answerable refused {np.mean(scores_a < t):.3f}" if len(Xa) else ""
        print(f"  threshold {t:.2f}: unanswerable refused {row['refused_unanswerable']:.3f}, "
              f"answerable refused {row['refused_answerable']:.3f}{extra}")
    w, b = fit_logistic(np.concatenate([X, Xa]), np.concatenate([y, np.ones(len(Xa), bool)]))
    print("weights:", {name: round(float(v), 3) for name, v in zip(args.features, w)}, "bias:", round(b, 3))
    fitted = _sigmoid(X @ w + b)
    t90 = float(np.quantile(fitted[~y], 0.9)) if (~y).any() else 0.5
    print(f"threshold refusing 90% of the mix's unanswerable (this fit): {t90:.3f}; there the mix's "
          f"answerable are refused {np.mean(fitted[y] < t90):.3f}")
    name = "dense" if "sentence_cosine" in args.features else "lexical"
    threshold = args.threshold if args.threshold is not None else weights.load().refusal[name].threshold
    (row,) = frontier(scores, y, [threshold])
    held_out = {"threshold": threshold, "unanswerable_refused": round(row["refused_unanswerable"], 3),
                "mix_answerable_refused": round(row["refused_answerable"], 3),
                "extra_answerable_refused": round(float(np.mean(scores_a < threshold)), 3) if len(Xa) else None,
                "fit_on_everything_t90": round(t90, 3)}
    data = [f"{args.questions.name} over {args.contexts.name}", *(p.name for p in args.distractors)]
    if len(Xa):
        data.insert(1, f"{args.answerable.name} (answerable) over {args.answerable_contexts.name}")
    _save(args, fitted_rule(name, args.features, w, b, threshold, embedder, data, held_out, argv=args.argv))
    return 0


def fitted_rule(name: str, features: Sequence[str], w: np.ndarray, b: float, threshold: float, embedder,
                data: Sequence[str], held_out: dict, argv: Sequence[str] = ()) -> weights.Rule:
    """A refusal rule from a fit, with its provenance; sentence_cosine ties it to the embedder's model."""
    model = str(getattr(embedder, "model_id", ""))
    return weights.Rule(
        name=name, weights={f: round(float(v), 3) for f, v in zip(features, w)}, bias=round(float(b), 3),
        threshold=float(threshold), cosine_model=model if "sentence_cosine" in features else None,
        provenance={"model": model, "data": list(data),
                    "split": "halves by crc32(question id) parity; each half scored by the fit on the other",
                    "command": " ".join(["python -m evals.calibrate", *map(str, argv)]),
                    "date": datetime.date.today().isoformat(), "held_out": held_out})


def _save(args, rule: weights.Rule) -> None:
    """Write `rule` into --out DIR or (--write) the packaged weights; otherwise say how."""
    target = args.out or (weights.PACKAGED if args.write else None)
    if target is None:
        print(f"not written: --write (packaged weights) or --out DIR writes the '{rule.name}' rule")
        return
    for path in weights.write(target, refusal={rule.name: rule}):
        print(f"wrote {path}")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


if __name__ == "__main__":
    sys.exit(script_main(main))
