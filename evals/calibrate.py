"""Refit the refusal rule through the real pipeline, repeatably (not part of `rag eval`):

  python -m evals.calibrate --data-dir DIR [--distractors PATH ...] [--limit N]

Collects rag.answer.refusal_features for the refusal mix (answerable ARCD questions and
questions ARCD cannot answer) over the ARCD index with the distractors, fits a small L2
logistic regression of "answerable" on the features the rule uses, and prints the weights and
the refused-unanswerable / refused-answerable frontier on the held-out half (split by question
id parity). It prints; it changes nothing: paste the weights into rag/answer.py with the command
and the numbers in the comment.
"""
from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from evals.gold import load_questions
from evals.run import build_eval_index
from rag.answer import _WEIGHTS, refusal_features
from rag.config import Settings, load_settings
from rag.retrieve import HybridRetriever

QA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "qa"
FEATURES = tuple(_WEIGHTS)


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
            limit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, answerable, held-out mask) for each question, retrieved as the chain does."""
    store, _ = build_eval_index(settings, contexts, distractors, "arabic", embedder)
    retriever = HybridRetriever(store.settings, store)
    rows, labels, held = [], [], []
    for i, q in enumerate(load_questions(questions)):
        if limit and i >= limit:
            break
        f = refusal_features(q.question, retriever.search(q.question, k=settings.k))
        rows.append([f[name] for name in FEATURES])
        labels.append(not q.expects_refusal)
        held.append(zlib.crc32(q.id.encode()) % 2 == 1)
    return np.array(rows, dtype=float), np.array(labels), np.array(held)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--questions", type=Path, default=QA / "arcd_refusal_mix.questions.jsonl")
    ap.add_argument("--contexts", type=Path, default=QA / "arcd.contexts.jsonl")
    ap.add_argument("--distractors", nargs="*", type=Path, default=[QA.parent / "news" / "ant5000"])
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    if not args.questions.is_file():
        print(f"skipped: {args.questions} is absent")
        return 0
    from rag.embeddings import get_embedder

    settings = load_settings(data_dir=args.data_dir)
    X, y, held = collect(settings, args.questions, args.contexts, args.distractors, get_embedder(settings),
                         args.limit)
    w, b = fit_logistic(X[~held], y[~held])
    scores = 1 / (1 + np.exp(-(X @ w + b)))
    print("weights:", {name: round(float(v), 3) for name, v in zip(FEATURES, w)}, "bias:", round(b, 3))
    print(f"held-out half: {int(held.sum())} questions ({int((~y[held]).sum())} unanswerable)")
    for row in frontier(scores[held], y[held], (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)):
        print(f"  threshold {row['threshold']:.1f}: unanswerable refused {row['refused_unanswerable']:.3f}, "
              f"answerable refused {row['refused_answerable']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
