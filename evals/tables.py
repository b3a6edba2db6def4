"""The README's results tables, reproducible in one command:

  python -m evals.tables --data-dir DIR [--readme] [--no-naive] [--limit N]

Every figure is on the fixed check half of its set (evals.gold.split_of); nothing here is
fitted. Sets: ARCD and XQuAD-ar over their own paragraphs, each alone and with the 5,000 news
articles of ../shared/data/news/ant5000 as distractors, and our news set
(evals/data/news.questions.jsonl) over ant5000 (+ the ARCD paragraphs: the eval index it
shares with ARCD).

1. retrieval: hybrid with adaptive fusion (the default) and with fixed-weight RRF, dense alone,
   lexical alone, and the naive LangChain pipeline with the same model (evals.naive);
2. answers (extractive, hybrid, with distractors): contains-gold, citation precision and why the
   other citations miss (evals.metrics.citation_errors), short-answer leads per question type;
3. refusal: the shipped rule on the sets with unanswerable questions, and the rule's features
   refitted leave-one-set-out (evals.refusal_fit: fit on two sets' tune halves, measured on the
   third's check half).

--readme replaces the block between the README's eval-tables markers. The first run embeds the
news articles (~30 min on 2 cores, cached under DIR); later runs take ~35 min.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from evals.gold import SHARED_NEWS as NEWS
from evals.gold import SHARED_QA as QA
from evals.run import run_eval, script_main
from rag.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
NEWS_SET = ROOT / "evals" / "data" / "news.questions.jsonl"
BEGIN, END = "<!-- eval-tables:begin -->", "<!-- eval-tables:end -->"
SPLIT = "check"
METHODS = [("hybrid, adaptive", "hybrid", "adaptive"), ("hybrid, fixed RRF", "hybrid", "rrf"),
           ("dense", "dense", "adaptive"), ("lexical", "lexical", "adaptive")]


def _sets(news: Path) -> list[tuple[str, Path, Path, list[list[Path]]]]:
    """(name, questions, contexts, the distractor lists to measure with)."""
    arcd, xquad = QA / "arcd.contexts.jsonl", QA / "xquad_ar.contexts.jsonl"
    return [("ARCD", QA / "arcd.questions.jsonl", arcd, [[news], []]),
            ("XQuAD-ar", QA / "xquad_ar.questions.jsonl", xquad, [[news], []]),
            ("news (ours)", NEWS_SET, arcd, [[news]])]


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def retrieval_table(settings, news: Path, naive: bool, limit: int | None, embedder) -> list[str]:
    cols = [m[0] for m in METHODS] + (["naive LangChain"] if naive else [])
    lines = ["| set | archive | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    plain = None  # the naive pipeline's prompt-less model, loaded once
    for name, q, c, archives in _sets(news):
        for distractors in archives:
            cells = []
            for _, mode, fusion in METHODS:
                run = run_eval(settings.replace(fusion=fusion), q, c, distractors, k=10, retrieval=mode,
                               split=SPLIT, limit=limit, embedder=embedder)
                m = run.summary["retrieval"]
                cells.append((m["recall@1"], m["mrr@10"]))
            if naive:
                from evals.naive import naive_run, prompt_less_embedder

                plain = plain or prompt_less_embedder(settings)
                m = naive_run(settings, q, c, distractors, k=10, split=SPLIT, limit=limit, embedder=plain)["retrieval"]
                cells.append((m["recall@1"], m["mrr@10"]))
            best_side = max(cells[2][0], cells[3][0])
            text = [f"{_f(r1)} / {_f(mrr)}" for r1, mrr in cells]
            if cells[0][0] >= best_side:
                text[0] = f"**{text[0]}**"
            where = "ant5000 + ARCD paragraphs" if name.startswith("news") else (
                "+ 5,000 news" if distractors else "alone")
            n = run.summary["n_questions"]
            lines.append(f"| {name} ({n}) | {where} | " + " | ".join(text) + " |")
            print(lines[-1], flush=True)
    return lines


def answer_tables(settings, news: Path, limit: int | None, embedder) -> tuple[list[str], list[str], list[str]]:
    ans = ["| set | contains gold | citation precision | other chunk of the gold document | "
           "wrong document, gold in top 5 | wrong document, gold lower | gold not retrieved | answerable refused |",
           "|---|---|---|---|---|---|---|---|"]
    leads = ["| set | date: led / right | number: led / right | name: led / right | place: led / right |",
             "|---|---|---|---|---|"]
    refusal = ["| set | unanswerable refused | answerable refused |", "|---|---|---|"]
    runs = [(name, q, c) for name, q, c, _ in _sets(news)]
    runs.append(("ARCD refusal mix", QA / "arcd_refusal_mix.questions.jsonl", QA / "arcd.contexts.jsonl"))
    for name, q, c in runs:
        s = run_eval(settings, q, c, [news], k=10, answers=True, split=SPLIT, limit=limit, embedder=embedder).summary
        a, e, ld = s["answers"], s["citation_errors"], s["leads"]
        if a["refusal_recall"] is not None:
            refusal.append(f"| {name} ({s['n_questions']}) | {_f(a['refusal_recall'])} | {_pct(a['false_refusal_rate'])} |")
        if name.endswith("mix"):
            continue
        ans.append(f"| {name} ({s['n_questions']}) | {_f(a['contains_gold'])} | {_f(a['citation_precision'])} | "
                   f"{_pct(e['other_chunk_of_gold'])} | {_pct(e['wrong_doc_gold_in_top5'])} | "
                   f"{_pct(e['wrong_doc_gold_below_top5'])} | {_pct(e['gold_not_retrieved'])} | "
                   f"{_pct(a['false_refusal_rate'])} |")
        leads.append(f"| {name} | " + " | ".join(
            f"{_pct(ld[f'{t}_led'])} / {_f(ld[f'{t}_precision'])}" for t in ("date", "number", "name", "place")) + " |")
        print(ans[-1], flush=True)
    return ans, leads, refusal


def loso_table(settings, features: Path, limit: int | None) -> list[str]:
    """The shipped refusal features refitted: all tune halves -> each check half, and leave one set out."""
    from evals import refusal_fit
    from rag.answering import weights

    if not features.is_file():
        refusal_fit.collect(argparse.Namespace(data_dir=Path(settings.data_dir), out=features, limit=limit, sets=None,
                                                reader=False))
    rows = refusal_fit.load_rows(features)
    names = list(weights.load().refusal["dense"].features)
    res = refusal_fit.evaluate(rows, names, 0.08)
    lines = ["| set | fit on all tune halves: unanswerable / answerable refused | leave-one-set-out: unanswerable / answerable refused |",
             "|---|---|---|"]
    for s, f in res["sets"].items():
        c, lo = f["check"], f["leave_one_out"]
        lines.append(f"| {s} ({c['n']}) | {_f(c['unanswerable_refused'])} / {_pct(c['answerable_refused'])} | "
                     f"{_f(lo['unanswerable_refused'])} / {_pct(lo['answerable_refused'])} |")
    return lines


def render(retrieval: list[str], ans: list[str], leads: list[str], refusal: list[str], loso: list[str]) -> str:
    today = datetime.date.today().isoformat()
    parts = [
        f"Check halves only, measured {today} by `python -m evals.tables --data-dir DIR --readme`.",
        "",
        "**Retrieval**, recall@1 / MRR@10 (bold: hybrid at least equal to the better of dense and lexical). "
        "Fusion has nothing fitted, so these are also its leave-one-set-out figures.",
        "", *retrieval, "",
        "**Answers** (extractive, hybrid, with the news distractors): why a cited passage lacks the gold, "
        "as shares of all citations (they and citation precision add up to one).",
        "", *ans, "",
        "**Short-answer leads** per question type: the share of answered questions that lead with a short "
        "answer, and the share of those leads that are right.",
        "", *leads, "",
        "**Refusal**, the shipped rule:", "", *refusal, "",
        "The same features refitted (`python -m evals.refusal_fit`), threshold at most 8% of any tune half's "
        "answerable refused:", "", *loso, "",
    ]
    return "\n".join(parts)


def write_readme(text: str, readme: Path = ROOT / "README.md") -> bool:
    src = readme.read_text(encoding="utf-8")
    if BEGIN not in src or END not in src:
        print(f"{readme} has no {BEGIN} ... {END} block; the tables were not written there")
        return False
    head, rest = src.split(BEGIN, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.tables")
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--limit", type=int, help="questions per run (a quick look)")
    ap.add_argument("--no-naive", dest="naive", action="store_false", help="skip the naive LangChain column")
    ap.add_argument("--features", type=Path, help="refusal features from `refusal_fit collect` "
                                                  "(default DIR/refusal-features.jsonl, collected when absent)")
    ap.add_argument("--readme", action="store_true", help="also replace the README's block")
    args = ap.parse_args(argv)
    if not QA.is_dir() or not args.news.is_dir():
        print(f"skipped: {QA} or {args.news} is absent")
        return 0
    settings = load_settings(data_dir=args.data_dir)
    from rag.index.embeddings import get_embedder

    embedder = get_embedder(settings)  # one model load for every run
    retrieval = retrieval_table(settings, args.news, args.naive, args.limit, embedder)
    ans, leads, refusal = answer_tables(settings, args.news, args.limit, embedder)
    loso = loso_table(settings, args.features or args.data_dir / "refusal-features.jsonl", args.limit)
    text = render(retrieval, ans, leads, refusal, loso)
    print(text)
    if args.readme and write_readme(text):
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(script_main(main))
