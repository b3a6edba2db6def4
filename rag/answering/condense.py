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
_PRONOUN_SUFFIX = re.compile(r"(?:هم|هما|هن|ها)$")
_PRONOUN_WORDS = frozenset(normalize(w) for w in lexicon.words("pronoun_words"))
_QUESTION_WORDS = frozenset(normalize(w) for w in lexicon.words("question_words"))
MAX_SUBJECT_WORDS = 4


def _content_words(question: str) -> list[str]:
    """The question's own words that are not stop words or question words, as written."""
    words = re.findall(r"[^\W_]+", question)
    return [w for w in words if analyze(w) and normalize(w) not in _QUESTION_WORDS]


def is_follow_up(question: str) -> bool:
    """Short or anaphoric questions that cannot stand alone."""
    if _FOLLOW_UP.search(question):
        return True
    toks = tokenize(question)
    if any(t in _PRONOUN_WORDS for t in toks):
        return True
    content = _content_words(question)
    if not content:  # "ولماذا؟", "متى؟"
        return True
    # A trailing pronoun suffix on a noun ("تمويلهم", "قادتها") points back at an earlier subject.
    return any(len(t) > 4 and _PRONOUN_SUFFIX.search(t) for t in map(normalize, content))


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
