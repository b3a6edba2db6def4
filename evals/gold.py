"""Gold QA files (JSONL) read as our own dataclasses, one line at a time.

Streaming keeps memory flat on large sets; a malformed line stops the load with an error that
names the file and line, because a silently skipped gold question would bias every metric.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rag.errors import BadDocumentError

T = TypeVar("T")

# The development data beside the repository (../shared/data): the QA sets and the news used as
# distractors. Scripts skip with a message when it is absent.
SHARED_QA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "qa"
SHARED_NEWS = SHARED_QA.parent / "news" / "ant5000"


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: the archive cannot answer it, a refusal is expected
    context_id: str | None = None
    follows: str | None = None  # id of the question this follow-up continues (asked after it)

    @property
    def expects_refusal(self) -> bool:
        return not self.answers

    @property
    def split(self) -> str:
        return split_of(self.id)


SPLITS = ("tune", "check")


def split_of(question_id: str) -> str:
    """'tune' or 'check', fixed by a hash of the id: rules, word lists, weights and thresholds
    are chosen on tune halves; figures are reported on check halves."""
    return "tune" if hashlib.sha256(question_id.encode("utf-8")).digest()[0] % 2 == 0 else "check"


@dataclass(frozen=True)
class GoldContext:
    context_id: str
    title: str
    text: str


def load_questions(path: str | Path) -> Iterator[GoldQuestion]:
    """Yield the questions of a gold file; raises BadDocumentError(path, reason, line)."""
    return _load(path, _question)


def load_contexts(path: str | Path) -> Iterator[GoldContext]:
    """Yield the contexts of a gold file; raises BadDocumentError(path, reason, line)."""
    return _load(path, _context)


def load_located_questions(path: str | Path) -> Iterator[GoldQuestion]:
    """Yield questions known only by the context that answers them (no gold span: our English
    set over Arabic contexts). Answerable exactly when that context is in the index, so callers
    label them per index; `answers` is left empty."""
    return _load(path, lambda r: GoldQuestion(id=_id(r, "id"), question=_text(r, "question"), answers=(),
                                              context_id=_id(r, "context_id")))


def _load(path: str | Path, parse: Callable[[dict], T]) -> Iterator[T]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("expected a JSON object")
                yield parse(record)
            except UnicodeDecodeError:
                raise BadDocumentError(str(path), "not valid UTF-8", lineno) from None
            except json.JSONDecodeError as e:
                raise BadDocumentError(str(path), f"invalid JSON ({e.msg})", lineno) from None
            except ValueError as e:
                raise BadDocumentError(str(path), str(e), lineno) from None


def _question(r: dict) -> GoldQuestion:
    answers = r.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError('"answers" must be a list of strings ([] when a refusal is expected)')
    context_id = r.get("context_id")
    if context_id is not None and not isinstance(context_id, str):
        raise ValueError('"context_id" must be a string or null')
    follows = r.get("follows")
    if follows is not None and not isinstance(follows, str):
        raise ValueError('"follows" must be the id of an earlier question')
    return GoldQuestion(
        id=_id(r, "id"), question=_text(r, "question"),
        answers=tuple(answers), context_id=context_id or None, follows=follows or None,
    )


def _context(r: dict) -> GoldContext:
    title = r.get("title", "")
    if not isinstance(title, str):
        raise ValueError('"title" must be a string')
    return GoldContext(context_id=_id(r, "context_id"), title=title, text=_text(r, "text"))


def _id(r: dict, key: str) -> str:
    value = r.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise ValueError(f'missing or empty "{key}"')
    return str(value)


def _text(r: dict, key: str) -> str:
    value = r.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'missing or empty "{key}"')
    return value
