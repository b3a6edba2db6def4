"""The refusal rule: whether the retrieved passages support an answer at all.

e5 cosine scores bunch at 0.8-0.9, so no fixed cosine cut-off. The rule combines signals that
transfer between archives: how much of the question's (IDF-weighted) content one sentence of the
top passages covers (by word prefix and by Arabic root), whether dense and lexical retrieval
agree on a top passage, how far the top dense score stands above the rest, and how close the
best candidate sentence is to the question in e5 space. The weights are data
(rag/answering/weights/refusal.json); `refusal_features` exposes the signals for refitting
(evals.refusal_fit). Two rules about the question come before any score: a question that shares
no content word with any sentence, or names a year no passage names or is dated in
(rag.answering.constraints), is refused whatever the scores say.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

from rag.answering.constraints import focus_coverage, type_unmet, year_unmet
from rag.answering.question import QuestionAnalysis, analyze_question
from rag.answering.sentences import ANSWER_HITS, RERANK_SENTENCES, choice_probability, idf
from rag.answering.weights import Models, Rule
from rag.text.arabic import analyze
from rag.types import Hit

REFUSAL_FEATURES = ("coverage", "sentence_coverage", "root_coverage", "prefix_coverage", "agreement",
                    "dense_margin", "dense_top", "dense_gap", "n_terms", "lexical_margin",
                    "answer_confidence", "answer_score", "sentence_cosine", "year_unmet", "type_unmet", "absent_share", "focus_coverage",
                    "reader_top")


def refusal_features(question: str, hits: Sequence[Hit], *, answer: bool = True, embedder=None,
                     analysis: QuestionAnalysis | None = None) -> dict[str, float]:
    """Signals for the refusal rule, exposed so the rule can be refitted on the dev sets.

    Coverage is measured per sentence (a question is answered by a sentence, not by a passage
    sharing scattered words); prefix coverage (first 4 letters) forgives light-stemming misses.
    Signals the retriever did not provide (no dense score, no ranks) take neutral values.
    With `embedder`, sentence_cosine: the best e5 cosine between the question and the
    RERANK_SENTENCES sentences the answerer would rerank, or for a cross-lingual question every
    sentence its route ranks (0.0 without one; the rule then falls back to the lexical one).
    answer=False skips answer_confidence and answer_score, which the shipped rule does not weigh.
    `analysis` (of this question and these hits, its embedder being `embedder`) saves rebuilding it.
    """
    if analysis is None:
        analysis = analyze_question(question, hits, embedder)
    return features(analysis, answer=answer, cosine=embedder is not None)


def features(a: QuestionAnalysis, *, answer: bool = True, cosine: bool = True, reader: bool = True) -> dict[str, float]:
    """refusal_features of an analysis; `cosine=False` leaves sentence_cosine at 0.0, `reader=False`
    reader_top (the reader's inference is skipped where no rule weighs it)."""
    q_terms = set(a.terms)
    hits = a.hits
    top = list(hits[:ANSWER_HITS])
    passages = [set().union(*(terms for _, terms, _ in p)) for p in a.passages]
    sents = [terms for p in a.passages[:ANSWER_HITS] for _, terms, _ in p]
    weights = idf(q_terms, passages) if passages else {}
    total = sum(weights.values()) or 1.0
    prefixes = {t[:4] for t in q_terms}

    def cov(terms) -> float:
        return sum(weights[t] for t in q_terms if t in terms) / total

    q_roots = set(a.roots)
    root_idf = idf(q_roots, [frozenset().union(*(r for _, _, r in p)) for p in a.passages])
    root_total = sum(root_idf.values()) or 1.0
    sent_roots = [r for p in a.passages[:ANSWER_HITS] for _, _, r in p]

    ranked = [h for h in top if h.dense_rank is not None or h.lexical_rank is not None]
    agree = [1.0 / (1 + max(h.dense_rank, h.lexical_rank))
             for h in top if h.dense_rank is not None and h.lexical_rank is not None]
    dense = [h.dense_score for h in hits if h.dense_score is not None]
    lex = sorted((h.lexical_score for h in hits if h.lexical_score), reverse=True)
    out = {
        "coverage": max((cov(p) for p in passages[:ANSWER_HITS]), default=0.0),
        "sentence_coverage": max((cov(set(s)) for s in sents), default=0.0),
        "root_coverage": max((sum(root_idf[r] for r in q_roots if r in s) / root_total for s in sent_roots),
                             default=0.0),
        "prefix_coverage": max((len(prefixes & {t[:4] for t in s}) / (len(prefixes) or 1) for s in sents),
                               default=0.0),
        "agreement": max(agree, default=0.0) if ranked else 0.5,
        "dense_margin": (max(dense) - median(dense)) if len(dense) >= 2 else 0.025,
        "dense_top": max(dense, default=0.0),
        "dense_gap": (sorted(dense)[-1] - sorted(dense)[-2]) if len(dense) >= 2 else 0.01,
        "n_terms": float(len(q_terms)),
        "lexical_margin": math.log(lex[0] / median(lex)) if len(lex) >= 2 and median(lex) > 0 else 0.0,
        "absent_share": _absent_share(q_terms, passages, weights, total),
        "year_unmet": year_unmet(a.question, top),
        "type_unmet": type_unmet(a.kind, a.head),
        "focus_coverage": focus_coverage(a.terms, [s.terms for _, s in a.ranked[:RERANK_SENTENCES]]),
    }
    if answer:
        out["answer_confidence"] = choice_probability(a.ranked)
        out["answer_score"] = a.ranked[0][0] if a.ranked else 0.0
    # The built-in reader's best score over the head sentences (0.0 without a reader): whether
    # one of them answers, read with the question, not only shares its words.
    read = reader and a.reader is not None and a.head
    out["reader_top"] = max(a.reader.score(a.question, a.head)) if read else 0.0
    cosine = cosine and a.embedder is not None
    head = [s.text for s in a.dense_candidates()] if cosine and a.cross else a.head
    out["sentence_cosine"] = float(a.cosines(head).max()) if head and cosine else 0.0
    return out


def _absent_share(q_terms: set[str], passages, weights: dict[str, float], total: float) -> float:
    """The IDF share of the question's terms that no retrieved passage holds, even inside a longer
    word (light stemming leaves "بمشارك" for "شارك"): a question about a dog's name over passages
    that never say "dog" is not answered by them."""
    seen = set().union(*passages) if passages else set()
    text = " ".join(seen)
    return sum(weights.get(t, 0.0) for t in q_terms if t not in seen and t not in text) / total


def refusal_score(features: dict[str, float], rule: Rule) -> float:
    """Support for answering, in (0, 1); `should_refuse` compares it with the threshold."""
    return rule.score(features)


def refusal_rule(cross: bool, embedder, models: Models) -> Rule:
    """The rule for this question and embedder: a rule that weighs sentence_cosine applies only
    to the embedding model it was fitted for (the file's cosine_model); another model's cosines
    need a refit (`evals.calibrate`), so its embedder gets the rule without them. (The rerank
    takes any embedder: there only the order matters.)"""
    rules = models.refusal
    rule = rules["cross"] if cross else rules["dense"]
    if embedder is not None and rule.fits(embedder):
        return rule
    return rules["cross_dense"] if cross else rules["lexical"]


def should_refuse(question: str, hits: Sequence[Hit], settings=None, embedder=None, *,
                  analysis: QuestionAnalysis | None = None, models: Models | None = None) -> bool:
    """True when the passages do not support an answer to `question`. Without an embedder the
    rule's file was fitted for, the rules without sentence_cosine (lexical; dense margins across
    languages). Settings.refusal_threshold (0.0: the calibrated one) moves the Arabic rules' cut.
    `analysis` (its embedder and models win over the arguments) saves rebuilding it."""
    if not hits or not (analysis.terms if analysis is not None else analyze(question)):
        return True
    if analysis is None:
        analysis = analyze_question(question, hits, embedder, models)
    if analysis.cross and not any(h.dense_score is not None for h in analysis.hits):
        return True  # no signal at all that the passages are about the question
    rule = refusal_rule(analysis.cross, analysis.embedder, analysis.models)
    threshold = rule.threshold
    if not analysis.cross:
        threshold = getattr(settings, "refusal_threshold", 0.0) or threshold
    ranks_sentences = any(k.startswith("answer_") for k in rule.weights)  # only if a refit weighs them
    f = features(analysis, answer=ranks_sentences, cosine=rule.cosine_model is not None,  # fallbacks: None
                 reader="reader_top" in rule.weights)
    if not analysis.cross and not (f["sentence_coverage"] or f["prefix_coverage"]):
        return True  # no sentence shares a content word (a shared root alone is too weak): nothing to quote
    if f["year_unmet"]:
        return True  # the question names a year no passage names or is dated in (rag.answering.constraints)
    return refusal_score(f, rule) < threshold
