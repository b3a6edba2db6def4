"""The LLM side of a briefing: plan sub-questions, write cited sentences, check the markers.

The markers are checked by chat's own rule (rag.answering.citations.check): a sentence carrying
any marker that names no given passage is dropped, and so is one with no marker that no marked
sentence on its line covers; the dropped ones are reported, so no sentence reaches the handout
without a source. Messages are passed as (role, text) tuples so this module needs no LangChain
import; any BaseChatModel accepts them.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from rag.answering.citations import check, flagged_of
from rag.types import Chunk

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def _ask(llm: Any, system: str, user: str) -> str:
    reply = llm.invoke([("system", system), ("human", user)])
    content = getattr(reply, "content", reply)
    if isinstance(content, list):  # content blocks
        content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


def plan_questions(llm: Any, topic: str, arabic: bool, n: int = 4) -> list[str]:
    """3-5 sub-questions covering the topic's aspects; [] when the reply is not a JSON list."""
    lang = "Arabic" if arabic else "English"
    system = ("You plan briefings for trainers. Reply with a JSON list of strings only, "
              f"no prose, in {lang}.")
    user = (f"Topic: {topic}\nList {n} short sub-questions, one per aspect of the topic "
            "(actors, methods, funding, responses, ... as fits the topic).")
    text = _ask(llm, system, user)
    m = re.search(r"\[.*\]", text, re.DOTALL)
    try:
        items = json.loads(m.group()) if m else []
    except json.JSONDecodeError:
        return []
    qs = [str(q).strip() for q in items if isinstance(q, (str, int, float)) and str(q).strip()]
    return list(dict.fromkeys(qs))[:5]


def numbered(passages: Sequence[Chunk]) -> str:
    parts = []
    for i, c in enumerate(passages, 1):
        head = " | ".join(x for x in (c.title, c.date, c.source) if x)
        parts.append(f"[{i}] ({head})\n{c.text}")
    return "\n\n".join(parts)


def write_cited(llm: Any, topic: str, question: str, passages: Sequence[Chunk], arabic: bool,
                n_sentences: str = "2-4") -> tuple[list[tuple[str, tuple[int, ...]]], list[str]]:
    """Sentences answering `question` from `passages`, each with the 0-based passage indexes it
    cites; and the sentences dropped for lacking a valid marker."""
    lang = "Arabic" if arabic else "English"
    system = ("You write briefings strictly from the numbered passages. Every sentence must end "
              "with the marker of its passage, like [2] or [1, 3]. Use no outside knowledge. "
              f"Write in {lang}.")
    user = (f"Topic: {topic}\nAspect: {question}\nWrite {n_sentences} sentences.\n\n"
            f"Passages:\n{numbered(passages)}")
    return verify(_ask(llm, system, user), len(passages))


def verify(text: str, n_passages: int) -> tuple[list[tuple[str, tuple[int, ...]]], list[str]]:
    """The sentences of `text` the citation rule keeps, each with the 0-based indexes of the
    passages it cites; and the dropped ones (without markers). Lead-in lines cite nothing and
    are left out of both."""
    claims = check(text, n_passages)
    kept: list[tuple[str, tuple[int, ...]]] = []
    for c in claims:
        clean = re.sub(r"\s{2,}", " ", _BULLET.sub("", c.bare)).strip()
        if c.kept and c.passages and re.search(r"\w", clean):
            kept.append((clean, tuple(n - 1 for n in c.passages)))
    return kept, list(flagged_of(claims))
