"""Pure evaluation metrics over gold data: retrieval and answers are scored separately.

Retrieval. Each question has one relevant document (its gold context_id) and a ranked list of
the doc ids of the retrieved chunks, in the order the answerer receives them (ties already
broken by the retriever). Ranks and k count chunks, not distinct documents, because k is the
number of passages the answerer actually sees. A hit is the first chunk of the gold document;
later chunks of the same document count for nothing, so with binary relevance and one relevant
document recall@k is 0/1 per question and nDCG@k = 1/log2(1 + rank) never exceeds 1. Questions
without a context_id are left out of the retrieval figures; an empty ranking is a miss.

Answers. Text is compared SQuAD-style after Arabic normalization (rag.text.arabic.normalize: NFKC,
diacritics, tatweel, alef/hamza forms, alef maqsura, ta marbuta, Arabic-Indic digits), with all
punctuation dropped (Latin and Arabic, by tokenizing on letters/digits only) and the article
removed: English a/an/the as whole words, as SQuAD does, and the Arabic "ال" when it starts a
token with at least two letters after it (the same role as "the"; annotators include it or not
at random). No stemming and no other clitics (و, ب, ل...): they change meaning too often.
A refused answer counts as the empty answer.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from rag.text.arabic import tokenize

Rankings = Sequence[Sequence[str]]  # per question: doc ids of the retrieved chunks, best first
GoldIds = Sequence[str | None]  # per question: the gold context_id, None when it has none

RETRIEVAL_KS = (1, 5, 10)
_EN_ARTICLES = frozenset({"a", "an", "the"})
_AR_ARTICLE = "ال"


@dataclass(frozen=True)
class CitedPassage:
    doc_id: str
    text: str


@dataclass(frozen=True)
class QuestionResult:
    """What one eval question produced; `answer` is None for a retrieval-only run."""

    id: str
    question: str
    answers: tuple[str, ...]  # gold answers; empty when a refusal is expected
    context_id: str | None
    expects_refusal: bool
    retrieved_doc_ids: tuple[str, ...]  # ranked, one entry per retrieved chunk
    answer: str | None = None
    refused: bool = False
    cited: tuple[CitedPassage, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> QuestionResult:
        return cls(
            id=str(d["id"]), question=d["question"], answers=tuple(d["answers"]),
            context_id=d.get("context_id"), expects_refusal=bool(d["expects_refusal"]),
            retrieved_doc_ids=tuple(d.get("retrieved_doc_ids", ())), answer=d.get("answer"),
            refused=bool(d.get("refused", False)),
            cited=tuple(CitedPassage(c["doc_id"], c["text"]) for c in d.get("cited", ())),
        )


# --- retrieval ---------------------------------------------------------------------------

def first_hit_rank(ranked: Sequence[str], gold_id: str) -> int | None:
    """1-based rank of the first chunk of the gold document, None when it was not retrieved."""
    for rank, doc_id in enumerate(ranked, start=1):
        if doc_id == gold_id:
            return rank
    return None


def recall_at_k(rankings: Rankings, gold_ids: GoldIds, k: int) -> float | None:
    """Share of questions (with a context_id) whose gold document is in the top k; None if none."""
    return _mean_over_gold(rankings, gold_ids, k, lambda r: 1.0)


def mrr_at_k(rankings: Rankings, gold_ids: GoldIds, k: int = 10) -> float | None:
    """Mean reciprocal rank of the gold document, 0 beyond k; None if no question has one."""
    return _mean_over_gold(rankings, gold_ids, k, lambda r: 1.0 / r)


def ndcg_at_k(rankings: Rankings, gold_ids: GoldIds, k: int = 10) -> float | None:
    """Binary nDCG with one relevant document: ideal DCG is 1, so it is 1/log2(1 + rank)."""
    return _mean_over_gold(rankings, gold_ids, k, lambda r: 1.0 / math.log2(1 + r))


def _mean_over_gold(rankings, gold_ids, k, gain) -> float | None:
    if len(rankings) != len(gold_ids):
        raise ValueError(f"{len(rankings)} rankings for {len(gold_ids)} gold ids")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    scores = []
    for ranked, gold in zip(rankings, gold_ids):
        if gold is None:
            continue
        rank = first_hit_rank(ranked, gold)
        scores.append(gain(rank) if rank is not None and rank <= k else 0.0)
    return sum(scores) / len(scores) if scores else None


# --- answers -----------------------------------------------------------------------------

def answer_tokens(text: str) -> list[str]:
    """Normalized tokens for answer comparison (see the module docstring for the rules)."""
    out = []
    for tok in tokenize(text):
        if tok in _EN_ARTICLES:
            continue
        if tok.startswith(_AR_ARTICLE) and len(tok) - len(_AR_ARTICLE) >= 2:
            tok = tok[len(_AR_ARTICLE):]
        out.append(tok)
    return out


def contains_gold(answer: str, golds: Iterable[str]) -> bool:
    """True when some gold answer appears in the answer as a whole run of normalized tokens.

    Token runs, not substrings, so "1958" is not found in "19580" nor "علم" in "العلماء".
    """
    have = f" {' '.join(answer_tokens(answer))} "
    for gold in golds:
        want = " ".join(answer_tokens(gold))
        if want and f" {want} " in have:
            return True
    return False


def token_f1(answer: str, golds: Iterable[str]) -> float:
    """SQuAD token F1, best over the gold answers; 0.0 when there are none.

    As in contains_gold, a gold that normalizes to nothing (e.g. "-)") is ignored: it cannot
    be told apart from an empty answer.
    """
    pred = answer_tokens(answer)
    gold_tokens = [t for t in (answer_tokens(g) for g in golds) if t]
    return max((_f1(pred, g) for g in gold_tokens), default=0.0)


def _f1(pred: list[str], gold: list[str]) -> float:
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def _answer_text(r: QuestionResult) -> str:
    return "" if r.refused or r.answer is None else r.answer


def citation_precision(results: Sequence[QuestionResult]) -> float | None:
    """Cited passages that contain a gold answer / cited passages, pooled over answerable questions.

    Pooled (micro) rather than averaged per question, so an answer citing one passage does not
    weigh as much as one citing five; None when nothing was cited.
    """
    cited = [(c, r.answers) for r in results if not r.expects_refusal for c in r.cited]
    if not cited:
        return None
    return sum(contains_gold(c.text, golds) for c, golds in cited) / len(cited)


CITATION_ERRORS = ("other_chunk_of_gold", "wrong_doc_gold_in_top5", "wrong_doc_gold_below_top5",
                   "gold_not_retrieved", "no_gold_document")


def citation_errors(results: Sequence[QuestionResult]) -> dict | None:
    """Why cited passages lack the gold, as shares of all cited passages (pooled like
    citation_precision, so precision plus these shares is one): another chunk of the gold
    document; another document while the gold was in the top 5 (the answerer chose wrong);
    another document with the gold retrieved lower, or not at all (the retriever's miss); and,
    for questions without a gold document, unknown. None when nothing was cited."""
    cited = [(c, r) for r in results if not r.expects_refusal for c in r.cited]
    if not cited:
        return None
    counts = dict.fromkeys(CITATION_ERRORS, 0)
    for c, r in cited:
        if contains_gold(c.text, r.answers):
            continue
        if r.context_id is None:
            counts["no_gold_document"] += 1
        elif c.doc_id == r.context_id:
            counts["other_chunk_of_gold"] += 1
        elif r.context_id in r.retrieved_doc_ids[:5]:
            counts["wrong_doc_gold_in_top5"] += 1
        elif r.context_id in r.retrieved_doc_ids:
            counts["wrong_doc_gold_below_top5"] += 1
        else:
            counts["gold_not_retrieved"] += 1
    return {"cited": len(cited), **{k: v / len(cited) for k, v in counts.items()}}


def _supported(r: QuestionResult) -> bool:
    return any(contains_gold(c.text, r.answers) for c in r.cited)


def _evidence_retrieved(r: QuestionResult) -> bool:
    return (r.context_id is not None and r.context_id in r.retrieved_doc_ids) or _supported(r)


def citation_recall(results: Sequence[QuestionResult]) -> float | None:
    """Of the answerable questions whose evidence was retrieved, the share whose answer cites it.

    Evidence counts as retrieved when the gold document is among the retrieved chunks or a cited
    passage contains a gold answer; the citing side needs a cited passage containing a gold
    answer. Retrieval misses are left out, so this measures the answerer, not the retriever; a
    refusal despite retrieved evidence counts as a miss. None when no evidence was retrieved.
    """
    pool = [r for r in results if not r.expects_refusal and _evidence_retrieved(r)]
    return sum(_supported(r) for r in pool) / len(pool) if pool else None


def refusal_recall(results: Sequence[QuestionResult]) -> float | None:
    """Refused / questions expecting a refusal; None when no refusal was expected."""
    pool = [r for r in results if r.expects_refusal]
    return sum(r.refused for r in pool) / len(pool) if pool else None


def false_refusal_rate(results: Sequence[QuestionResult]) -> float | None:
    """Refused / answerable questions; None when every question expected a refusal."""
    pool = [r for r in results if not r.expects_refusal]
    return sum(r.refused for r in pool) / len(pool) if pool else None


# --- per question and aggregate ----------------------------------------------------------

def question_metrics(r: QuestionResult) -> dict:
    """One question's figures (None where they do not apply), for results.jsonl and compares."""
    rank = first_hit_rank(r.retrieved_doc_ids, r.context_id) if r.context_id else None
    answered = r.answer is not None and not r.expects_refusal
    return {
        "hit_rank": rank,
        "hit@1": None if r.context_id is None else rank == 1,
        "contains_gold": contains_gold(_answer_text(r), r.answers) if answered else None,
        "f1": round(token_f1(_answer_text(r), r.answers), 4) if answered else None,
        "refused": r.refused if r.answer is not None else None,
    }


def recall_curve(results: Sequence[QuestionResult], ks: Iterable[int] = range(1, 11)) -> list:
    """recall@k for each k (the report's curve); None entries when no question has a context_id."""
    rankings = [r.retrieved_doc_ids for r in results]
    gold_ids = [r.context_id for r in results]
    return [_round(recall_at_k(rankings, gold_ids, k)) for k in ks]


def aggregate(results: Sequence[QuestionResult]) -> dict:
    """The run summary: retrieval always, "answers" only when the run produced answers."""
    rankings = [r.retrieved_doc_ids for r in results]
    gold_ids = [r.context_id for r in results]
    retrieval = {f"recall@{k}": recall_at_k(rankings, gold_ids, k) for k in RETRIEVAL_KS}
    retrieval["mrr@10"] = mrr_at_k(rankings, gold_ids, 10)
    retrieval["ndcg@10"] = ndcg_at_k(rankings, gold_ids, 10)
    summary = {"n_questions": len(results), "retrieval": _round_all(retrieval)}
    answered = [r for r in results if r.answer is not None]
    if answered:
        summary["answers"] = _round_all(_answer_summary(answered))
        summary["leads"] = _round_all(lead_figures(answered))
        errors = citation_errors(answered) or {"cited": 0, **dict.fromkeys(CITATION_ERRORS)}
        summary["citation_errors"] = {"cited": errors.pop("cited"), **_round_all(errors)}
    return summary


LEAD_PREFIXES = ("الجواب:", "Short answer:")


def lead_of(answer: str) -> str:
    """The short answer an extractive answer leads with ("" when it quotes without one)."""
    first = answer.split("\n", 1)[0].strip()
    for prefix in LEAD_PREFIXES:
        if first.startswith(prefix):
            return re.sub(r"\s*\[\d+\]\s*$", "", first[len(prefix):]).strip()
    return ""


def lead_right(r: QuestionResult) -> bool:
    """A lead is right when it shares a token with a gold answer and the quoted text holds the gold."""
    lead = set(answer_tokens(lead_of(r.answer or "")))
    quoted = (r.answer or "").split("\n", 1)[1] if "\n" in (r.answer or "") else ""
    return bool(lead & {t for g in r.answers for t in answer_tokens(g)}) and contains_gold(quoted, r.answers)


def lead_figures(answered: Sequence[QuestionResult]) -> dict:
    """Per question type (date, number, name, place): how often an answered question leads with
    a short answer, and how often that lead is right."""
    from rag.answering.shortanswer import question_type

    out: dict[str, float | None] = {}
    for kind in ("date", "number", "name", "place"):
        pool = [r for r in answered if not r.expects_refusal and not r.refused and question_type(r.question) == kind]
        led = [r for r in pool if lead_of(r.answer or "")]
        out[f"{kind}_led"] = len(led) / len(pool) if pool else None
        out[f"{kind}_precision"] = sum(map(lead_right, led)) / len(led) if led else None
    return out


def _answer_summary(answered: Sequence[QuestionResult]) -> dict:
    answerable = [r for r in answered if not r.expects_refusal]
    n = len(answerable)
    return {
        "contains_gold": sum(contains_gold(_answer_text(r), r.answers) for r in answerable) / n
        if n else None,
        "f1": sum(token_f1(_answer_text(r), r.answers) for r in answerable) / n if n else None,
        "citation_precision": citation_precision(answerable),
        "citation_recall": citation_recall(answerable),
        "refusal_recall": refusal_recall(answered),
        "false_refusal_rate": false_refusal_rate(answered),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _round_all(d: dict) -> dict:
    return {k: _round(v) for k, v in d.items()}
