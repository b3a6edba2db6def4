"""Arabic text analysis used identically at index and query time.

normalize: NFKC (folds presentation forms from PDFs), drops diacritics and tatweel, unifies
alef/hamza forms, alef maqsura and ta marbuta. analyze: normalized word tokens, stop words
dropped, light-stemmed (Larkey's light10 affixes), so "والتنظيمات" and "التنظيم" meet.
roots: the same tokens reduced to their root (ISRI, weak verbs made whole), so derivations light
stemming keeps apart meet too ("تأسيس" / "مؤسس" / "أسسها"); a second, lighter-weighted index and
a sentence-scoring signal.
Bump NORMALIZER_VERSION whenever output changes: the index records it and refuses a mismatch.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from rag.text import lexicon

NORMALIZER_VERSION = "ar-10"

_DIACRITICS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
_ALEF = re.compile(r"[\u0622\u0623\u0625\u0671\u0672\u0673]")
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")  # Arabic-Indic, Persian
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_ARABIC_CHAR = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_CHAR = re.compile(r"[A-Za-z]")

STOPWORDS = frozenset(lexicon.words("stopwords"))

_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال", "و")
_PRONOUNS = ("تهما", "تهم", "تهن", "تها", "ته", "هما", "كما", "هم", "هن", "كم", "نا")
# Final ا first: accusative tanween (مستفيدًا) and سوريا/سورية then meet.
_SUFFIXES = ("ا", "ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")


def normalize(text: str) -> str:
    """Fold the spelling variants Arabic writers and OCR/PDF tools produce."""
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text)
    text = _ALEF.sub("ا", text)
    text = text.replace("ى", "ي").replace("ة", "ه").replace("ؤ", "و").replace("ئ", "ي")
    text = text.translate(ARABIC_DIGITS)
    return text.lower()


def tokenize(text: str) -> list[str]:
    """Normalized word tokens (letters and digits)."""
    return _TOKEN.findall(normalize(text))


def stem(token: str) -> str:
    """Light stemming: strip one common prefix and suffixes while a 2+ letter stem remains."""
    if not _ARABIC_CHAR.search(token):
        return token
    for p in _PREFIXES:  # light10: an article must leave 2 letters, a bare و 3 (ولد, وزن stay whole)
        if token.startswith(p) and len(token) - len(p) >= (3 if p == "و" else 2):
            if p in ("و", "وال") and _endings(token) in _RADICAL_WAW and token != "والدين":  # و + الدين
                break  # وزير is a word, not "and" + زير: it must meet الوزير
            token = token[len(p):]
            break
    return _endings(token)


def _endings(token: str) -> str:
    for p in _PRONOUNS:  # attached pronoun; a ta marbuta before it is written ت: دورته -> دور
        if token.endswith(p) and len(token) - len(p) >= 3:
            token = token[: -len(p)]
            break
    for s in _SUFFIXES:
        if token.endswith(s) and len(token) - len(s) >= 2:
            token = token[: -len(s)]
    return token


# Common words whose first letter و is a radical, not the conjunction (light10 would read وزير as
# و + زير and miss الوزير): kept whole after their endings are stripped. Words of politics and
# security first; the conjunction before them still goes (ووزير -> وزير).
_RADICAL_WAW = frozenset(_endings(normalize(w)) for w in lexicon.words("radical_waw") if w.startswith("و"))


_STOP_NORM = frozenset(normalize(w) for w in STOPWORDS)


def is_stopword(token: str) -> bool:
    """Whether a normalized token is a stop word (analyze drops it), also behind و (وأين، وكان).
    Not behind ف: فهم (understanding) is a word."""
    return token in _STOP_NORM or (token[:1] == "و" and token[1:] in _STOP_NORM)


def analyze(text: str, *, stemming: bool = True) -> list[str]:
    """Index/query terms: normalized tokens without stop words, light-stemmed."""
    toks = [t for t in tokenize(text) if not is_stopword(t)]
    return [stem(t) for t in toks] if stemming else toks



@functools.cache
def _isri():
    from nltk.stem.isri import ISRIStemmer  # imported on first use: nltk takes ~1 s to load

    return ISRIStemmer()


# A hamza radical keeps its seat in ISRI's output (مؤسس -> ؤسس, تأسيس -> أسس; رئيس -> رئس, رأس -> رأس):
# one letter for all seats lets the roots meet.
_HAMZA_RADICAL = str.maketrans("أإآؤئء", "اااااا")


@functools.lru_cache(maxsize=200_000)
def root(word: str) -> str:
    """The ISRI root of a word as written (hamza seats kept: ISRI reads them), normalized after.

    Short, non-Arabic and digit tokens are kept as they are.
    """
    if not _ARABIC_CHAR.search(word):
        return normalize(word)
    r = normalize(word if len(word) <= 3 else _isri().stem(word).translate(_HAMZA_RADICAL))
    return _weak_root(normalize(word), r)


_WEAK = "اوي"
_IMPERFECT = "يتن"  # not ا: hamza radicals are written ا (ارخ، اسس)
# First-radical و verbs whose imperfect drops it (يقع، تصل، يجد): too common in questions to miss.
_ASSIMILATED = frozenset(lexicon.words("assimilated_verbs"))


def _weak_root(word: str, r: str) -> str:
    """ISRI keeps weak radicals or imperfect prefixes at random (قال -> قال, يقول -> يقل; دعا -> دعا,
    يدعو -> دعو; وقع -> وقع, يقع -> يقع). A three-letter root with a weak middle or final radical
    becomes its two strong radicals (قال، قول، يقول -> قل; دعا، دعو، يدعو -> دع), and an assimilated
    imperfect gets its و back (يقع -> وقع), so the forms of one verb meet."""
    if len(r) != 3:
        return r
    if "و" + r[1:] in _ASSIMILATED and r[0] in _IMPERFECT:
        return "و" + r[1:]
    if r[0] in _IMPERFECT and any(r[:2] + w + r[2] in word or r + w in word for w in _WEAK):
        return r[1:]  # ISRI dropped the weak radical and kept the prefix: يقل (يقول), يبن (يبني)
    if r[1] in _WEAK and r[0] not in _WEAK and r[2] not in _WEAK:
        return r[0] + r[2]
    if r[2] in _WEAK and r[0] not in _WEAK and r[1] not in _WEAK:
        return r[:2]
    return r


def roots(text: str) -> list[str]:
    """Roots of the content words of `text` (stop words dropped, as in analyze)."""
    words = _TOKEN.findall(_DIACRITICS.sub("", unicodedata.normalize("NFKC", text)))
    return [root(w) for w in words if not is_stopword(normalize(w))]


_SENTENCE_END = re.compile(r"(?<=[.!?؟!؛])\s+|\n+")
_OPEN, _CLOSE = "([«\"", ")]»\""


def _bracketed(text: str) -> list[tuple[int, int]]:
    """Spans inside matched brackets or quotes on one line: an aside such as
    "(بالتركية: ...؛ ...)" is not a sentence end. An opener never closed is ignored."""
    spans, stack = [], []
    for i, ch in enumerate(text):
        if ch == "\n":
            stack.clear()
        elif ch == '"' and stack and text[stack[-1]] == '"':
            spans.append((stack.pop(), i))
        elif ch in _OPEN:
            stack.append(i)
        elif ch in _CLOSE and stack and _OPEN.index(text[stack[-1]]) == _CLOSE.index(ch):
            spans.append((stack.pop(), i))
    return spans


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) over `text`, splitting after . ! ? ؟ ؛ and at line breaks,
    except inside brackets and quotes."""
    inside = _bracketed(text) if any(c in text for c in _OPEN) else []
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if "\n" not in m.group() and any(a < m.start() < b for a, b in inside):
            continue
        if text[pos:m.start()].strip():
            spans.append(_strip_span(text, pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        spans.append(_strip_span(text, pos, len(text)))
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def is_arabic(text: str) -> bool:
    """True when Arabic letters outnumber Latin ones: decides answer language and RTL."""
    return len(_ARABIC_CHAR.findall(text)) >= len(_LATIN_CHAR.findall(text)) and bool(
        _ARABIC_CHAR.search(text)
    )


def latin_script(text: str) -> bool:
    """A question in a Latin-script language (English...): Latin letters and no Arabic one.
    "أين يقع Energiprojekt AB؟" is an Arabic question about a Latin name: its passage is found
    by that name (lexically) and it is answered in Arabic. Arabic punctuation ("Who leads ISIS؟",
    typed on an Arabic keyboard) does not make a question Arabic."""
    return bool(_LATIN_CHAR.search(text)) and not any(ch.isalpha() for ch in _ARABIC_CHAR.findall(text))


def crosses_script(question: str, passage: str) -> bool:
    """A Latin-script question over an Arabic passage: lexical matching cannot work, dense can
    (the retriever asks it of its best dense passage, the answerer of its first hit)."""
    return latin_script(question) and is_arabic(passage)
