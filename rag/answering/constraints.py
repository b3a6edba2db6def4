"""What a question asks for beyond its topic, and whether the passages can give it.

Many unanswerable questions share their topic with the archive: "who won the 2022 World Cup
final?" over an archive of 2018 news finds passages about the World Cup, and coverage of the
question's words is high. What such passages lack is the question's constraint: the year it
names, or a value of the type it asks for (a date for "متى", a number for "كم"). Both checks are
about the question and the passages only, not about any archive's score scale, so they transfer
between archives; the refusal rule weighs them as features (rag.answering.refusal).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.answering.shortanswer import DATE, NUMBER, NUMBER_WORDS
from rag.text import lexicon
from rag.text.arabic import analyze, normalize
from rag.types import Hit

_YEAR = re.compile(r"(?<![\d.,])(1[89]\d\d|20\d\d)(?![\d.,]\d)")


def years(text: str) -> set[str]:
    """The Gregorian years (1800-2099) a text names, as four digits."""
    return set(_YEAR.findall(normalize(text)))


def year_unmet(question: str, hits: Sequence[Hit]) -> float:
    """1.0 when the question names a year that no passage names and no passage's document is
    dated in; 0.0 otherwise (also when the question names no year)."""
    asked = years(question)
    if not asked or not hits:
        return 0.0
    for h in hits:
        if asked & years(h.chunk.text) or (h.chunk.date or "")[:4] in asked:
            return 0.0
    return 1.0


def _has_value(kind: str, sentence: str) -> bool:
    text = normalize(sentence)
    if kind == "date":
        return bool(DATE.search(text))
    return bool(NUMBER.search(text)) or bool(NUMBER_WORDS & set(text.split()))


def type_unmet(kind: str, sentences: Iterable[str]) -> float:
    """1.0 when a date or number question's best sentences hold no value of that type; 0.0
    otherwise (names and places have no shape precise enough to demand)."""
    if kind not in ("date", "number"):
        return 0.0
    return 0.0 if any(_has_value(kind, s) for s in sentences) else 1.0


_FRAME = frozenset(t for w in lexicon.words("frame_words") for t in analyze(w))
FOCUS_TERMS = 2


def focus(terms: Sequence[str]) -> list[str]:
    """The question's focus: its first content terms after the words that frame the slot
    ("ما اسم الكلب الذي ..." -> الكلب first): what the answering sentence must be about."""
    return [t for t in terms if t not in _FRAME][:FOCUS_TERMS]


def focus_coverage(terms: Sequence[str], sentences: Iterable[Sequence[str]]) -> float:
    """The best share of the question's focus terms one of `sentences` (their terms) holds,
    inside a longer word too; 1.0 for a question without focus terms."""
    want = focus(terms)
    if not want:
        return 1.0
    best = 0.0
    for s in sentences:
        text = " ".join(s)
        best = max(best, sum(t in s or t in text for t in want) / len(want))
    return best
