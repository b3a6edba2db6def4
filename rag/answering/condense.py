"""Turn a follow-up question into a standalone one, using the conversation so far.

Without an LLM the rewrite carries the previous turn's subject: a follow-up such as
"وماذا عن مصادر تمويلهم؟" after "ما هي أيديولوجية داعش؟" becomes "مصادر تمويلهم داعش؟",
which retrieval can match. With an LLM the model rewrites it (prompts.condense_messages).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.text import lexicon
from rag.text.arabic import analyze, normalize, tokenize

History = Sequence[tuple[str, str]]

_FOLLOW_UP = re.compile(
    r"^\s*(?:و|ف)?\s*(?:ماذا|ما)\s+عن\s+|^\s*(?:and|what|how)\s+about\s+", re.IGNORECASE
)
# A question word with a conjunction attached, as the first word: "وكم", "ومن", "فلماذا", "وفي أي".
_CONTINUES = re.compile(r"^\s*[وف](?:[بل]?(?:ماذا|ما|من|متى|كم|أين|اين|كيف|لماذا|هل|أي|اي)|(?:في|الى|إلى|على|من|عن)\s+(?:أي|اي|متى|ما|كم))"
                        r"(?=\s|[؟?]|$)|^\s*(?:and|so)\s+(?:what|who|when|where|how|why|which)\b", re.IGNORECASE)
_PRONOUN_SUFFIX = re.compile(r"(?:هم|هما|هن|ها)$")
_PRONOUN_WORDS = frozenset(normalize(w) for w in lexicon.words("pronoun_words"))
_QUESTION_WORDS = frozenset(normalize(w) for w in lexicon.words("question_words"))
MAX_SUBJECT_WORDS = 4


def _content_words(question: str) -> list[str]:
    """The question's own words that are not stop words or question words, as written."""
    words = re.findall(r"[^\W_]+", question)
    return [w for w in words if analyze(w) and normalize(w) not in _QUESTION_WORDS]


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the previous turn rather than naming its own subject.

    Arabic marks a continuation in its first word: a question opening with و / ف joined to the
    question word ("وبماذا تتهمه؟", "ولماذا قاضاه؟") or with "ماذا عن" follows on. Otherwise a
    question is a follow-up only when it has almost nothing of its own to search with: one content
    word, or a demonstrative ("هذا السجن") or attached pronoun ("بلديتها") standing in for a
    subject with at most three, or a demonstrative after an opening conjunction. "ما هي عاصمة
    البرازيل؟" names its subject and stands alone. A question that names its subject is left alone even if
    it holds a pronoun ("من هي المرشحة التي ... تتهم روسيا", "قيمتها أمام الدولار")."""
    if _FOLLOW_UP.search(question) or _CONTINUES.match(question):
        return True
    content = _content_words(question)
    if len(content) <= 1:  # "متى؟", "ولماذا؟", "متى تأسست؟"
        return True
    tokens = tokenize(question)
    # A pronoun right after the question word is the copula ("ما هي", "من هو"), not a reference.
    refers = any(t in _PRONOUN_WORDS and not (i and tokens[i - 1] in ('ما', 'من')) for i, t in enumerate(tokens))
    if refers and tokens[0][:1] in ("و", "ف"):  # "وأثناء تصوير أي فيلم وقع ذلك؟"
        return True
    if len(content) > 3:
        return False
    return refers or any(len(t) > 4 and _PRONOUN_SUFFIX.search(t) for t in map(normalize, content))


def subject(question: str) -> str:
    """The topic of a question: its content words after the first (which is usually the asked
    predicate or attribute: "أيديولوجية داعش" -> "داعش", "تأسس تنظيم داعش" -> "تنظيم داعش")."""
    words = _content_words(question)
    if len(words) >= 2:
        words = words[1:]
    return " ".join(words[-MAX_SUBJECT_WORDS:])


def condense_extractive(question: str, history: History) -> str:
    """Standalone question by carrying the previous user turn's subject (no LLM)."""
    users = [text for role, text in history if role == "user" and text.strip()]
    if not users or not is_follow_up(question):
        return question
    previous = condense_extractive(users[-1], [("user", u) for u in users[:-1]])
    carried = subject(previous)
    rest = _FOLLOW_UP.sub("", question).strip()
    if not carried or normalize(carried) in normalize(rest):
        return question
    end = re.search(r"[؟?.!]\s*$", rest)
    body = rest[: end.start()].rstrip() if end else rest
    return f"{body} {carried}{end.group().strip() if end else ''}".strip()


def condense_with_llm(question: str, history: History, call: Callable[[list[tuple[str, str]]], str]) -> str:
    """Standalone question from an LLM; `call` takes (role, content) messages and returns text."""
    from rag.answering.prompts import condense_messages

    if not any(role == "user" for role, _ in history):
        return question
    text = call(condense_messages(question, history)).strip().strip('"«»').strip()
    first = text.splitlines()[0].strip() if text else ""
    return first or question
