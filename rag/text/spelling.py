"""Repair question words the index has never seen: Arabic typing slips ("الاظطراب", "مجاس",
"بروصة"), fused words ("ماالاسم", "عاشرسليمان"). A term with no postings cannot help lexical
retrieval and lowers the question's coverage in every passage, which the refusal rule reads as
"the archive does not hold this".

Only a word whose term is absent from the index is touched, and only by a repair Arabic writers
actually make: a letter swapped for one that sounds alike or differs by its dots (ص/س, ظ/ض,
ج/ح...), a long vowel or hamza seat added or dropped, two letters transposed, a space missing.
Frequency alone picks wrong words ("الصرطان" -> "الشرطان"), so a repair must also share
passages with one of the question's rarest known terms more often than chance would (lift >= 2:
in a small archive every common word meets every other, and "قيام" became "قائمة"): the
archive's own context decides. A name the archive lacks rarely has such a neighbour and stays as
typed, so the refusal rule still sees it. A repair to a stem under 3 letters is never made.
Nor is a word the embedding model's vocabulary holds whole (`known_word`): such a piece is a word
frequent in the model's training text, so a real word the archive happens to lack ("العالم" in a
small archive became "العلام", a different question), while slips split into pieces.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Protocol

from rag.text.arabic import is_stopword, normalize, stem

# Letters writers confuse: same sound in common speech, or the same shape but for the dots.
_CONFUSABLE = ("سصث", "تط", "دضذ", "ذزظ", "ضظ", "قكء", "هح", "جحخ", "بتثني", "رز", "سش", "صض",
               "طظ", "عغ", "فق", "ءاوي")
_SWAPS = {c: "".join(sorted({o for group in _CONFUSABLE if c in group for o in group} - {c}))
          for group in _CONFUSABLE for c in group}
_VOWELS = "اويء"  # long vowels and the hamza: written or dropped at will
_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويء"
_WORD = re.compile(r"(?:[^\W\d_]|[\u064B-\u065F\u0670\u0640])+")  # with diacritics, tatweel
_ARABIC_WORD = re.compile(f"^[{_LETTERS}]+$")
MIN_LENGTH = 4  # shorter words have too many neighbours to repair safely
_PROCLITICS = "وفبل"  # not ك: it starts too many names
ANCHORS = 2  # the repair must share a passage with one of the question's rarest known terms
MIN_LIFT = 2.0  # ... at least this many times as often as chance would


class Vocabulary(Protocol):
    def term_frequencies(self, terms: Iterable[str]) -> dict[str, int]: ...
    def cooccurrence(self, terms: Iterable[str], others: Iterable[str]) -> int: ...
    def passage_count(self) -> int: ...


def _term(word: str) -> str | None:
    """The index term of a normalized word; None for a stop word."""
    return None if is_stopword(word) else stem(word)


def candidates(word: str, first: bool = False) -> list[list[str]]:
    """Plausible intended spellings of `word`, least invasive first: a missing space or a
    proclitic the light stemmer keeps, then one confusable-letter edit. `first`: the word opens
    the question, where a fused interrogative ("ماقيل", "ماذايحدث") is common."""
    splits = []
    for i in range(2, len(word) - 1):
        a, b = word[:i], word[i:]
        if (len(a) >= 4 and len(b) >= 4) or (first and is_stopword(a) and len(b) >= 3):
            splits.append(f"{a} {b}")
    if word[0] in _PROCLITICS and len(word) > 4:
        splits.append(word[1:])
    edits = set()
    for i, ch in enumerate(word):
        edits.update(word[:i] + o + word[i + 1:] for o in _SWAPS.get(ch, ""))
        if ch in _VOWELS or (i and word[i - 1] == ch):
            edits.add(word[:i] + word[i + 1:])
        if i + 1 < len(word):
            edits.add(word[:i] + word[i + 1] + ch + word[i + 2:])
    edits.update(word[:i] + v + word[i:] for i in range(1, len(word)) for v in _VOWELS)
    edits.discard(word)
    return [splits, sorted(edits)]


def repair_question(question: str, vocabulary: Vocabulary,
                    known_word: Callable[[str], bool] | None = None) -> str:
    """The question with each Arabic word unknown to the index replaced by its repair, if any;
    a word `known_word` accepts (as typed or normalized) is kept."""
    words = [(m, normalize(m.group())) for m in _WORD.finditer(question)]
    typed = {w: m.group() for m, w in words}
    terms = {w: t for _, w in words if (t := _term(w))}
    if not terms:
        return question
    df = vocabulary.term_frequencies(set(terms.values()))
    anchors = sorted({t for t in terms.values() if df.get(t)}, key=lambda t: (df[t], t))[:ANCHORS]
    opening = words[0][1]
    fixes = {}
    for w, t in terms.items():
        if df.get(t) or len(w) < MIN_LENGTH or not _ARABIC_WORD.match(w) or not anchors:
            continue
        if known_word is not None and (known_word(w) or known_word(typed[w])):
            continue
        if (fix := _repair(w, w == opening, {a: df[a] for a in anchors}, vocabulary)) is not None:
            fixes[w] = fix
    if not fixes:
        return question
    out, pos = [], 0
    for m, w in words:
        if w in fixes:
            out += [question[pos:m.start()], fixes[w]]
            pos = m.end()
    return "".join(out + [question[pos:]])


def _repair(word: str, first: bool, anchors: dict[str, int], vocabulary: Vocabulary) -> str | None:
    """The candidate of the earliest tier sharing most passages with an anchor term, and more
    often than chance would (lift over independence, per anchor)."""
    total = max(vocabulary.passage_count(), 1)
    for tier in candidates(word, first):
        parts = {c: [t for p in c.split() if (t := _term(p))] for c in tier}
        df = vocabulary.term_frequencies({t for ts in parts.values() for t in ts})
        best, best_n = None, 0
        for c in tier:
            ts = parts[c]
            if not ts or not all(df.get(t) and len(t) >= 3 for t in ts):
                continue
            df_c = min(df[t] for t in ts)
            for anchor, df_a in anchors.items():
                n = vocabulary.cooccurrence(ts, [anchor])
                if n > best_n and n * total >= MIN_LIFT * df_c * df_a:
                    best, best_n = c, n
        if best is not None:
            return best
    return None
