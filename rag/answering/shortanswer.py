"""Factoid short answers: the date, number, name or place span that leads an extractive answer.

Precision over recall: a lead is offered only when the question word asks for a type we can
recognise (متى/في أي عام -> date, كم -> number, أين -> place after "في", من/ما اسم -> name) and
the span found has that type's shape; otherwise the answer is just the quoted sentence(s). A
wrong lead ("الجواب: وتقدم تجربة") misleads more than a missing one helps.
"""
from __future__ import annotations

import re

from rag.text import lexicon
from rag.text.arabic import analyze, is_stopword, normalize, roots

_WORD = re.compile(r"[^\W_]+")
_PUNCT = re.compile(r"[،,.:؛;()\[\]\-–—«»\"!?؟]")
_CLAUSE_END = re.compile(r"(?<!\d)[.,:](?!\d)|[،؛;()\[\]«»\"!?؟]")  # not inside 55.1 or 587,000
_MONTHS = "|".join(lexicon.lines("months"))  # in file order: the regex tries them in turn
DATE = re.compile(
    rf"(?:\b\d{{1,2}}\s+)?(?:{_MONTHS})\s+\d{{3,4}}|\b\d{{1,2}}[/-]\d{{1,2}}[/-]\d{{2,4}}\b"
    r"|(?:\b(?:عام|سنه|سنة)\s+)?\b\d{3,4}(?:\s*(?:م|ه|ميلادي|للميلاد|هجري|ق\s?م|قبل\s+الميلاد)\b|\b)"  # 1057م too
    r"|\bالقرن\s+\S+(?:\s+(?:الميلادي|الهجري|قبل\s+الميلاد))?"
)
NUMBER = re.compile(r"\b\d[\d.,٬]*\s*%?(?:\s+(?:الف|مليون|مليار|الاف|ملايين))?")
NUMBER_WORDS = frozenset(normalize(w) for w in lexicon.words("number_words"))
_QUESTION_PREFIX = re.compile(r"^[\s\-–—:\.]*(?:و|ف)?")


def question_type(question: str) -> str:
    """'date' | 'number' | 'name' | 'place' | '' from the question word."""
    q = " " + " ".join(normalize(_QUESTION_PREFIX.sub("", question)).split()[:4]) + " "
    rules = (
        ("date", (" متي ", " من متي ", " منذ متي ", " in what year ", " when ", " في اي عام ", " في اي سنه ", " اي عام ", " اي سنه ")),
        ("number", (" كم ", " بكم ", " من كم ", " how many ", " how much ")),
        ("place", (" اين ", " where ", " في اي مدينه ", " في اي دوله ", " في اي بلد ", " في اي مكان ")),
        ("name", (" من ", " لمن ", " ممن ", " who ", " ما اسم ", " ما هو اسم ", " ما هي اسم ",
                  " ماذا يسمي ", " بماذا يسمي ", " ما يسمي ", " بم يسمي ", " what is the name ")),
    )
    if q.startswith((" من اي ", " من ماذا ", " من خلال ")):
        return ""
    for kind, keys in rules:
        if any(q.startswith(k) for k in keys):
            return kind
    return ""


_NAME_PARTS = frozenset(normalize(w) for w in lexicon.words("name_parts"))
_ADVERB = re.compile(r"(?:يا|يًا|ياً)$")  # "تاريخيا", "حاليا"
_VAGUE = frozenset(normalize(w) for w in lexicon.words("vague_words"))  # time, manner, quantity: never a name
_TANWEEN_FATH = "\u064B"  # "تجاريةً", "واحداً": an adverbial accusative, not a name


def lead_answer(question: str, sentence: str) -> str:
    """The short answer to lead with, or "" when its shape does not fit the question's type.

    Stricter than `short_answer`: a name must look like one (no digits, no stop words, not an
    adverb, not a conjunction-led verb, at most 4 words; 2+ words unless it holds a name part
    such as بن/أبو/عبد); a place must follow "في" and not be a date; dates and numbers need
    digits or number words, which the patterns already guarantee.
    """
    kind = question_type(question)
    if kind == "name" and _WHO_IS.match(normalize(question)):
        return ""  # "من هو نجيب محفوظ؟" asks for a description, not a name
    span = short_answer(question, sentence)
    if not kind or not span or normalize(span) == normalize(sentence):
        return ""
    if kind == "name" and _IN_LANGUAGE.search(normalize(question)):
        return span  # the foreign-script name itself (see short_answer)
    words = _WORD.findall(normalize(span))  # normalize first: a diacritic must not split a word
    if not words:
        return ""
    if kind in ("name", "place"):
        if any(c.isdigit() for w in words for c in w) or len(words) > 4:
            return ""
        if any(is_stopword(w) for w in words) or _ADVERB.search(words[0]):
            return ""
        if words[0] in _VAGUE or NUMBER_WORDS & set(words) or _TANWEEN_FATH in span:
            return ""
        if kind == "name" and words[0].startswith(("و", "ف")) and not words[0].startswith(("وا", "فا", "فر", "في")):
            return ""  # a conjunction-led word ("وتقدم تجربة") is the next clause, not a name
        if kind == "name" and len(words) < 2 and not (_NAME_PARTS & set(words)):
            return ""
        if kind == "name" and words[0].startswith("ال") and not (_NAME_PARTS & set(words)):
            return ""  # "الأمم المتحدة", "الوحيد": a definite noun phrase, not a person's name
    if kind == "date" and DATE.search(normalize(question)):
        return ""  # the question already names a date ("متى أقيم كأس العالم 2018؟")
    return span


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), normalize(m.group())) for m in _WORD.finditer(text)]


def short_answer(question: str, sentence: str) -> str:
    """The factoid span (date, number, name, place) in `sentence`, or "" when none is found."""
    kind = question_type(question)
    if not kind:
        return ""
    q_terms = set(analyze(question))
    toks = _tokens(sentence)
    if kind in ("date", "number"):
        norm, where = _normalized_with_map(sentence)
        pattern = DATE if kind == "date" else NUMBER
        found = [m for m in pattern.finditer(norm) if m.group().strip()]
        if kind == "number":  # "ثلاثة مراكز" beside "جفاف 2005": words count too
            found = sorted(found + [m for m in _WORD.finditer(norm) if m.group() in NUMBER_WORDS and not (
                m.group() in _SCALE and re.search(r"\d\s*$", norm[:m.start()]))],  # "1.7 مليون": one number
                           key=lambda m: m.start())
        asked = set(_DIGITS.findall(normalize(question)))
        found = [m for m in found if not set(_DIGITS.findall(m.group())) & asked]  # given, not asked
        if not found:
            return ""
        life = _LIFE_EVENT.search(normalize(question)) if kind == "date" else None
        if kind == "date":  # a bare number is a date only when it reads as a year ("5000 معلم" is not)
            found = [m for m in found if not _BARE_NUMBER.fullmatch(m.group().strip())
                     or (_ANY_YEAR.fullmatch(m.group().strip()) and not _duration(norm, m.end()))]
            if not found:
                return ""
        if life and len(found) >= 2:  # "(1165 - 1227)": born is the first date, died the last
            m = found[0] if life.group(1) else found[-1]
        else:  # a bare year ("في عام 1970") rarely answers "how many"
            matched = [(n, term) for n, (_, _, t) in enumerate(toks) if (term := _stem1(t)) in q_terms]
            counted = _counted(question, sentence, toks) if kind == "number" else lambda at: False
            m = min(found, key=lambda m: (kind == "number" and bool(_YEAR.fullmatch(m.group().strip())),
                                          not counted(where[m.end() - 1] + 1),
                                          _distance(toks, matched, where[m.start()])))
        start, end = where[m.start()], where[m.end() - 1] + 1
        span = sentence[start:end].strip()
        return _extend(sentence, end, span, 2) if kind == "number" else span
    if kind == "name" and _IN_LANGUAGE.search(normalize(question)):  # "ما اسم X بالإنجليزية؟"
        foreign = _FOREIGN_RUN.search(sentence)
        return foreign.group().strip(" -–") if foreign else ""
    return _name_span(sentence, toks, q_terms, place=kind == "place")


_WHO_IS = re.compile(r"^\W*(?:و|ف)?من\s+(?:هو|هي)\s+\S+(?:\s+\S+){0,2}\s*[؟?]?\s*$")
_IN_LANGUAGE = re.compile(r"\b(?:بال|باللغه\s+ال)(?:انجليزي|انكليزي|انجليزيه|انكليزيه|فرنسيه|تركيه|لاتينيه|"
                          r"المانيه|عبريه|يونانيه|اسبانيه|ايطاليه|فارسيه|روسيه|منغوليه)")
# A run of words in a script other than Arabic (Latin, Cyrillic, Greek, Hebrew...).
_FOREIGN_RUN = re.compile(r"(?:(?![\u0600-\u06FF])[^\W\d_][^\s\u0600-\u06FF()،,;:]*[\s\-–]*)+")


_DIGITS = re.compile(r"\d+")
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d")
_BARE_NUMBER = re.compile(r"\d+")
_ANY_YEAR = re.compile(r"[1-9]\d\d|1\d{3}|20\d\d")  # 632, 1165, 2016; not 5000
_LIFE_EVENT = re.compile(r"\b(?:(ولد|مولد|ميلاد)|(توفي|وفاه|مات|موت|رحيل|اغتيل|مقتل))")
_NEAR = 6  # tokens: beyond this a word is not near the span at all
_AFTER = 1.5  # a matched word after the span costs more: the answer follows what the question names


def _distance(toks: list[tuple[int, int, str]], matched: list[tuple[int, str]], at: int) -> float:
    """How far a span starting at char `at` sits from the question's words in the sentence
    (`matched`: token index and term of each occurrence): for each distinct matched word, the
    token distance to its nearest occurrence (the span stands among all of them, not next to one:
    "عضو في الأمم المتحدة منذ 1956 وجامعة الدول العربية منذ 1958" asked about the league gives 1958)."""
    i = next((n for n, (s, _, _) in enumerate(toks) if s >= at), len(toks))
    best: dict[str, float] = {}
    for n, term in matched:
        d = (i - n) if n < i else _AFTER * (n - i + 1)
        best[term] = min(best.get(term, d), d)
    return sum(min(d, _NEAR) for d in best.values())


def _normalized_with_map(text: str) -> tuple[str, list[int]]:
    """normalize(text) plus, for each normalized character, its index in `text`."""
    out, where = [], []
    for i, ch in enumerate(text):
        n = normalize(ch)
        out.append(n)
        where.extend([i] * len(n))
    return "".join(out), where


_DURATION_UNITS = frozenset(normalize(w) for w in lexicon.words("duration_units"))


_NEXT_WORD = re.compile(r"\s*([^\W_]+)")


def _duration(norm: str, end: int) -> bool:
    """Whether the number ending at `end` counts time ("600 سنه"): a duration, not a year."""
    nxt = _NEXT_WORD.match(norm, end)
    return nxt is not None and nxt.group(1) in _DURATION_UNITS


_COUNT_WORDS = frozenset(analyze(" ".join(lexicon.words("count_words"))))  # "كم عدد الأشهر": the months are counted
_SCALE = frozenset(normalize(w) for w in lexicon.words("scale_words"))
_NUMBERISH = re.compile(r"[\d.,٫٬]+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)))


def _counted(question: str, sentence: str, toks: list[tuple[int, int, str]]):
    """at -> whether one of the two words after char `at` (in its clause, numbers and range words
    skipped) is a noun the question counts, by stem or root: "كم جزيرة في اليابان؟" is answered by
    "ثلاثة آلاف جزيرة", not by the nearer "أربع" (of them)."""
    q_terms = set(analyze(question)) - _COUNT_WORDS
    q_roots = set(roots(" ".join(normalize(question).split()[1:])))  # not the question word's root

    def counted(at: int) -> bool:
        cut = _CLAUSE_END.search(sentence, at)
        stop = cut.start() if cut else len(sentence)
        after = [t for s, _, t in toks if at <= s < stop and not _NUMBERISH.fullmatch(t) and t not in _RANGE][:2]
        return any(_stem1(t) in q_terms or set(roots(t)) & q_roots for t in after)
    return counted


def _stem1(token: str) -> str:
    got = analyze(token)
    return got[0] if got else ""


_RANGE = frozenset(lexicon.words("range_words"))


def _extend(sentence: str, end: int, span: str, words: int) -> str:
    """Add up to `words` following words (a unit: "مليون نسمة") until punctuation, keeping a
    range whole ("29 أو 30 يوما", "30 إلى 50 ألف"); the span stays a contiguous quote."""
    rest = sentence[end:]
    cut = _CLAUSE_END.search(rest)
    toks = (rest[: cut.start()] if cut else rest).split()
    i, added = 0, 0
    while i < len(toks) and added < words:
        n = normalize(toks[i])
        if n in _RANGE and i + 1 < len(toks) and any(c.isdigit() for c in normalize(toks[i + 1])):
            i += 2  # the other end of a range
            continue
        if not _stem1(toks[i]) or any(c.isdigit() for c in n) or (n[:1] in "وف" and n not in NUMBER_WORDS):
            break  # a stop word, another number or a conjunction starts the next phrase
        i, added = i + 1, added + 1
    return " ".join([span, *toks[:i]]).strip()


def _name_span(sentence: str, toks: list, q_terms: set[str], place: bool) -> str:
    """A run of up to 5 words, not in the question, next to the question's matched words.

    For places the run must follow "في". Runs right after a matched word win (Arabic puts the
    new information after the known subject: "أسس الدولة الأموية معاوية بن أبي سفيان").
    """
    if not q_terms & {_stem1(t) for _, _, t in toks}:
        return ""
    matched = [_stem1(t) in q_terms for _, _, t in toks]
    content = [bool(analyze(t)) and not m for (_, _, t), m in zip(toks, matched)]
    joined = [i > 0 and not _PUNCT.search(sentence[toks[i - 1][1]:toks[i][0]]) for i in range(len(toks))]
    best: tuple | None = None
    i = 0
    while i < len(toks):
        if not content[i] or (place and not (joined[i] and toks[i - 1][2] == "في")):
            i += 1
            continue
        j = i + 1
        while j < len(toks) and j - i < 5 and content[j] and joined[j]:
            j += 1
        after_match = joined[i] and (matched[i - 1] or (i > 1 and matched[i - 2] and joined[i - 1]))
        before_match = j < len(toks) and joined[j] and matched[j]
        digits = any(c.isdigit() for _, _, t in toks[i:j] for c in t)
        key = (not (after_match or before_match or place), not after_match, digits, i)
        if best is None or key < best[0]:
            best = (key, i, j - 1)
        i = j
    return sentence[toks[best[1]][0]:toks[best[2]][1]] if best else ""


