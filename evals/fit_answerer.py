"""Refit the extractive answerer's sentence choice through the real pipeline, repeatably:

  python -m evals.fit_answerer --data-dir DIR [--distractors PATH ...] [--limit N] [--write | --out DIR]

For every answerable question of ARCD and XQuAD-ar (each over its own eval index with the
distractors), repairs spelling and retrieves as the chain does (settings.k passages), takes the
candidate sentences and their features from rag.answering.question.sentence_matrix, and fits a conditional
logit: a softmax over each question's candidates whose target is the sentences containing a gold
answer (the answerer takes the argmax, so this is the loss that matches its use). Then the second
stage the same way, over the RERANK_SENTENCES best candidates under the shipped first-stage weights:
features (first-stage logit, e5 cosine of question and sentence). Prints held-out figures (fit on
one set, scored on the other; and the shipped weights for comparison) and the pooled weights.
With --write (the packaged rag/answering/weights/) or --out DIR it writes both stages into
answerer.json with their provenance (model, data, split, command, date, held-out figures); the
second stage is fitted over the head of the first-stage weights in use, so after a first-stage
change rerun once more for it. Without either it changes nothing.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.gold import SHARED_NEWS as NEWS
from evals.gold import SHARED_QA as QA
from evals.gold import load_questions
from evals.metrics import contains_gold
from evals.run import asked_as_the_chain_asks, script_main
from rag.answering import weights
from rag.answering.question import sentence_matrix
from rag.answering.sentences import RERANK_SENTENCES, SENTENCE_FEATURES, cosines
from rag.config import Settings, load_settings

SETS = {"ARCD": ("arcd.questions.jsonl", "arcd.contexts.jsonl"),
        "XQuAD-ar": ("xquad_ar.questions.jsonl", "xquad_ar.contexts.jsonl")}


@dataclass(frozen=True)
class Choice:
    """One question's candidates: features, which sentences hold a gold answer, and which
    candidates' passages do (what citation precision counts)."""

    X: np.ndarray
    sentence_gold: np.ndarray
    passage_gold: np.ndarray


def fit_choice(choices: Sequence[Choice], l2: float = 1.0, steps: int = 400, lr: float = 0.5) -> np.ndarray:
    """Conditional-logit weights by full-batch gradient descent on standardized features (numpy only).

    Loss per question: -log of the softmax mass on its gold sentences; questions with no gold
    candidate carry no signal and are left out.
    """
    usable = [c for c in choices if c.sentence_gold.any()]
    allx = np.concatenate([c.X for c in usable])
    mu, sd = allx.mean(0), allx.std(0) + 1e-9
    Z = [((c.X - mu) / sd, c.sentence_gold) for c in usable]
    w = np.zeros(allx.shape[1])
    for _ in range(steps):
        g = np.zeros_like(w)
        for z, y in Z:
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            g += z.T @ (p - p * y / (p @ y))
        w -= lr * (g / len(Z) + l2 * w / len(Z))
    return w / sd  # the mean shift is a per-question constant: it does not change the argmax


def accuracy(choices: Sequence[Choice], w: np.ndarray) -> tuple[float, float]:
    """(chosen sentence holds a gold answer, its passage does), over all questions given."""
    sent = passage = 0.0
    for c in choices:
        if len(c.X):
            j = int(np.argmax(c.X @ w))
            sent += c.sentence_gold[j]
            passage += c.passage_gold[j]
    return sent / len(choices), passage / len(choices)


def collect(settings: Settings, questions: Path, contexts: Path, distractors: Sequence[Path], embedder,
            limit: int | None = None, first: Sequence[float] | None = None) -> tuple[list[Choice], list[Choice]]:
    """Candidates of every answerable question, retrieved as the chain does: for the first stage
    (all candidates, SENTENCE_FEATURES) and for the second (the head under the first-stage weights
    `first`, default the shipped ones: first-stage logit and cosine)."""
    w1 = np.asarray(first if first is not None else weights.load().sentence.vector)
    out, heads = [], []
    for q, asked, hits in asked_as_the_chain_asks(settings, contexts, distractors, embedder,
                                                  load_questions(questions), limit):
        if q.expects_refusal:
            continue
        cands, X = sentence_matrix(asked, hits)
        choice = Choice(X, np.array([contains_gold(s.text, q.answers) for s in cands], dtype=float),
                        np.array([contains_gold(hits[s.hit_index].chunk.text, q.answers) for s in cands],
                                 dtype=float))
        out.append(choice)
        head = np.argsort(-(X @ w1), kind="stable")[:RERANK_SENTENCES] if len(X) else []
        cos = cosines(embedder, asked, [cands[j].text for j in head]) if len(head) else np.zeros(0)
        heads.append(Choice(np.column_stack([X[head] @ w1, cos]) if len(head) else np.zeros((0, 2)),
                            choice.sentence_gold[head], choice.passage_gold[head]))
    return out, heads


def report(data: dict[str, list[Choice]], shipped: np.ndarray) -> tuple[np.ndarray, dict]:
    """Held-out figures (each set scored with weights fitted on the other), printed and returned,
    and the pooled weights."""
    figures = {}
    for name, other in (("ARCD", "XQuAD-ar"), ("XQuAD-ar", "ARCD")):
        held = accuracy(data[name], fit_choice(data[other]))
        figures[name] = {"sentence": round(held[0], 3), "passage": round(held[1], 3)}
        print(f"{name}: fitted on {other}: sentence {held[0]:.3f}, passage {held[1]:.3f}; "
              "shipped weights: sentence {:.3f}, passage {:.3f}".format(*accuracy(data[name], shipped)))
    return fit_choice([c for cs in data.values() for c in cs]), figures


def fitted_rule(name: str, features: Sequence[str], w: np.ndarray, embedder, data: Sequence[str],
                held_out: dict, argv: Sequence[str] = (), notes: str = "") -> weights.Rule:
    """An answerer stage from a fit (weights rounded as shipped), with its provenance."""
    return weights.Rule(
        name=name, weights={f: round(float(v), 2) for f, v in zip(features, w)}, bias=0.0,
        provenance={"model": str(getattr(embedder, "model_id", "")), "data": list(data),
                    "split": "pooled ARCD + XQuAD-ar; held out = fit on one set, scored on the other",
                    "command": " ".join(["python -m evals.fit_answerer", *map(str, argv)]),
                    "date": datetime.date.today().isoformat(), "held_out": held_out, "notes": notes})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--distractors", nargs="*", type=Path, default=[NEWS])
    ap.add_argument("--limit", type=int)
    ap.add_argument("--write", action="store_true", help="write the fit into the packaged weights")
    ap.add_argument("--out", type=Path, help="write the fit into DIR/answerer.json instead")
    args = ap.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not QA.is_dir():
        print(f"skipped: {QA} is absent")
        return 0
    from rag.index.embeddings import get_embedder

    settings = load_settings(data_dir=args.data_dir)
    embedder = get_embedder(settings)
    collected = {name: collect(settings, QA / q, QA / c, args.distractors, embedder, args.limit)
                 for name, (q, c) in SETS.items()}
    shipped = weights.load()
    data = [*(q for q, _ in SETS.values()), *(p.name for p in args.distractors)]
    print("first stage (all candidates):")
    w, held = report({name: first for name, (first, _) in collected.items()}, np.asarray(shipped.sentence.vector))
    print("pooled weights:", dict(zip(SENTENCE_FEATURES, np.round(w, 2).tolist())))
    sentence = fitted_rule("sentence", SENTENCE_FEATURES, w, embedder, data, held, argv)
    print(f"second stage (the {RERANK_SENTENCES} best under the shipped sentence weights; first-stage logit, cosine):")
    w, held = report({name: heads for name, (_, heads) in collected.items()}, np.asarray(shipped.rerank.vector))
    print("pooled weights:", dict(zip(weights.RERANK_FEATURES, np.round(w, 2).tolist())))
    rerank = fitted_rule("rerank", weights.RERANK_FEATURES, w, embedder, data, held, argv,
                         notes=f"over the {RERANK_SENTENCES} best under the sentence weights then shipped")
    target = args.out or (weights.PACKAGED if args.write else None)
    if target is None:
        print("not written: --write (packaged weights) or --out DIR writes answerer.json")
        return 0
    for path in weights.write(target, sentence=sentence, rerank=rerank):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(script_main(main))
