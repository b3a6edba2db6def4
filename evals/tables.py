"""The README's results tables, reproducible in one command:

  python -m evals.tables --data-dir DIR [--news ../shared/data/news/ant5000] [--limit N]

ARCD and XQuAD-ar, each with the 5,000 news articles as distractors, for lexical / dense / hybrid
retrieval with Arabic vs whitespace analysis; then extractive answers (hybrid, Arabic) and the
refusal mix. Prints Markdown tables (answers use settings.k passages; `k` here is the
retrieval cut-off for the metrics).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals.gold import SHARED_NEWS as NEWS
from evals.gold import SHARED_QA as QA
from evals.run import run_eval, script_main
from rag.config import load_settings

RETRIEVAL_ROWS = [("lexical", "plain"), ("lexical", "arabic"), ("dense", "arabic"),
                  ("hybrid", "plain"), ("hybrid", "arabic")]


def _sets(news: Path) -> dict[str, tuple[Path, Path, list[Path]]]:
    arcd, xquad = QA / "arcd.contexts.jsonl", QA / "xquad_ar.contexts.jsonl"
    return {
        "ARCD": (QA / "arcd.questions.jsonl", arcd, [news]),
        "XQuAD-ar": (QA / "xquad_ar.questions.jsonl", xquad, [news]),
    }


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    if not QA.is_dir() or not args.news.is_dir():
        print(f"skipped: {QA} or {args.news} is absent")
        return 0
    settings = load_settings(data_dir=args.data_dir)
    sets = _sets(args.news)
    print("| set | retrieval | analysis | recall@1 | recall@5 | recall@10 | MRR@10 | nDCG@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (q, c, d) in sets.items():
        for mode, analyzer in RETRIEVAL_ROWS:
            r = run_eval(settings, q, c, d, k=10, retrieval=mode, analyzer=analyzer, limit=args.limit).summary
            m = r["retrieval"]
            print(f"| {name} | {mode} | {'Arabic' if analyzer == 'arabic' else 'whitespace'} | "
                  f"{_f(m['recall@1'])} | {_f(m['recall@5'])} | {_f(m['recall@10'])} | {_f(m['mrr@10'])} | "
                  f"{_f(m['ndcg@10'])} |", flush=True)
    print()
    print("| questions | retrieval | analysis | contains gold | token F1 | citation precision | citation recall | "
          "refused (expected) | refused (answerable) |")
    print("|---|---|---|---|---|---|---|---|---|")
    runs = [(n, *sets[n], mode, an) for n in sets for mode, an in RETRIEVAL_ROWS]
    runs.append(("ARCD refusal mix", QA / "arcd_refusal_mix.questions.jsonl", *sets["ARCD"][1:], "hybrid", "arabic"))
    for name, q, c, d, mode, analyzer in runs:
        a = run_eval(settings, q, c, d, k=10, answers=True, retrieval=mode, analyzer=analyzer,
                     limit=args.limit).summary["answers"]
        print(f"| {name} | {mode} | {'Arabic' if analyzer == 'arabic' else 'whitespace'} | "
              f"{_f(a['contains_gold'])} | {_f(a['f1'])} | {_f(a['citation_precision'])} | "
              f"{_f(a['citation_recall'])} | {_f(a['refusal_recall'])} | {_f(a['false_refusal_rate'])} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(script_main(main))
