"""The extractive answerer (default, no LLM): the passages' own sentences, quoted and cited.

The best-supported sentences of the top passages, quoted as written, each with its marker [n];
for factoid questions (متى، كم، من، أين، ما اسم) a short answer span leads. The sentences are
kept in full because archive readers (and the gold spans of the dev sets) need the passage's own
words, not a paraphrase. Which sentence is best is rag.answering.sentences' choice, over the
question's analysis (rag.answering.question); whether to answer at all is rag.answering.refusal.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answering.citations import own_footnotes, verify
from rag.answering.prompts import refusal_text
from rag.answering.question import QuestionAnalysis, analyze_question
from rag.answering.sentences import Sentence, choice_probability
from rag.answering.shortanswer import lead_answer, short_answer
from rag.text.arabic import latin_script, normalize
from rag.types import Answer, Hit

MAX_SENTENCES = 2  # quoted from the best one's passage, plus the sentence before an anaphoric best one
COS_DELTA = 0.02  # cross-lingual route: a second sentence within this cosine of the best one
LEAD_MIN_CONFIDENCE = 0.5  # the short answer leads only when its sentence wins this softmax share


def extractive_answer(question: str, hits: Sequence[Hit], settings=None, embedder=None, *,
                      analysis: QuestionAnalysis | None = None) -> Answer:
    """Compose a cited answer from the passages' own sentences (no refusal check: see should_refuse).

    Every quoted sentence comes from the passage of the best sentence, so the answer cites one
    passage: a second sentence from a weaker passage mostly adds a citation without the answer.
    `embedder` (embed_query / embed_documents) reranks the best candidate sentences and serves
    Latin-script questions over Arabic passages. `analysis` (of this question and these hits;
    its embedder wins) saves rebuilding it.
    """
    a = analysis if analysis is not None else analyze_question(question, hits, embedder)
    hits = a.hits
    arabic = not latin_script(question)
    cross = a.cross
    ranked = a.answer_ranking()
    if not ranked:
        return refusal(question, hits)
    best_score, best = ranked[0]
    if not cross and not (set(a.terms) & set(best.terms) or set(a.roots) & best.roots):
        return refusal(question, hits)  # the best sentence shares no word, not even a root
    chosen = [best]
    for score, s in ranked[1:]:  # the next best of the same passage: context for the reader
        if len(chosen) >= MAX_SENTENCES:
            break
        if s.hit_index == best.hit_index and (not cross or score >= best_score - COS_DELTA):
            chosen.append(s)
    antecedent = _antecedent(best, a)
    if antecedent is not None and antecedent.text not in {s.text for s in chosen}:
        chosen.append(antecedent)  # "هو الملك الثالث...": whom it is about is in the sentence before
    chosen.sort(key=lambda s: hits[s.hit_index].chunk.text.find(s.text))
    lines = []
    lead = ""
    if cross:
        if a.embedder is not None and a.kind in ("date", "number"):
            lead = short_answer(question, best.text)
            # No question word matches across languages, so nothing ties a number word to the
            # question ("كتلة واحدة", one bloc, led "How many ... returned?"): numerals only.
            lead = lead if any(ch.isdigit() for ch in normalize(lead)) else ""
    elif choice_probability(ranked) >= LEAD_MIN_CONFIDENCE:
        lead = lead_answer(question, best.text)
    if lead and normalize(lead) != normalize(best.text):
        lines.append(f"{'الجواب' if arabic else 'Short answer'}: {own_footnotes(lead)} [{best.hit_index + 1}]")
    if not arabic:
        lines.append("From the archive (quoted as written):")
    # The passage's own footnote numbers stay its footnotes: only our marker cites.
    lines.extend(f"{own_footnotes(s.text)} [{s.hit_index + 1}]" for s in chosen)
    quote = " ".join(s.text for s in chosen)
    text, cites, flagged = verify("\n".join(lines), hits, {best.hit_index + 1: quote})
    return Answer(question=question, text=text, mode="extractive", refused=not cites,
                  citations=cites, flagged=flagged, nearest=tuple(hits) if not cites else ())


_ANAPHORIC = re.compile(r"^[\W\d]*(?:و|ف)?(?:هو|هي|هم|هما|هن|هذا|هذه|هذان|هاتان|هؤلاء|ذلك|تلك|أولئك)\s")


def _antecedent(best: Sentence, a: QuestionAnalysis) -> Sentence | None:
    """The sentence before `best` in its passage when `best` opens with a pronoun or demonstrative:
    quoted alone, it would not say whom or what it is about."""
    if not _ANAPHORIC.match(best.text):
        return None
    analyzed = a.passages[best.hit_index]
    for (text, terms, rts), (following, _, _) in zip(analyzed, analyzed[1:]):
        if following == best.text:
            return Sentence(best.hit_index, text, terms, frozenset(), rts)
    return None


def refusal(question: str, hits: Sequence[Hit], mode: str = "extractive") -> Answer:
    """The answer given when the archive holds nothing relevant: says so and shows the nearest."""
    arabic = not latin_script(question)
    return Answer(question=question, text=refusal_text(arabic), mode=mode, refused=True,
                  nearest=tuple(hits))
