"""Answers the server issued and the feedback on them, bound to who asked.

Every answer the app gives (chat or /ask) is remembered with an id (`issue`); feedback names
that id and stores the server's own question, answer and citations, so invented answers cannot
be filed, and an id given to another user is refused. `identity` is who is asking: the login
name, or without a login an anonymous key (this browser's id, or "api").
"""
from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.types import Filters

if TYPE_CHECKING:
    from ui.app import Services

# Settings worth recording with a rating; secrets (API key, auth) and paths stay out.
RATED_SETTINGS = ("embedding_model", "lexical_analyzer", "k", "fetch_k", "rrf_k", "dense_weight",
                  "lexical_weight", "root_weight", "per_doc_cap", "reranker_model", "answer_mode", "llm_model",
                  "llm_temperature", "refusal_threshold", "chunk_tokens", "chunk_overlap_tokens")


class FeedbackRefused(ValueError):
    """Feedback that does not name an answer this server gave to this user."""


def login_name(request) -> str:
    """The logged-in user's name ("" without a login)."""
    return (getattr(request, "username", None) or "") if request is not None else ""


def identity(request, client_id: str | None = None, *, api: bool = False) -> str:
    """Who answers and feedback belong to: the login name, else "browser:<id>" (or "api").
    Login names hold no ':', so the anonymous keys never collide with one."""
    name = login_name(request)
    if name:
        return name
    return "api" if api else f"browser:{client_id or 'anonymous'}"


def rated_settings(s: Settings, filters: Filters | dict | None = None) -> dict:
    out = {k: getattr(s, k) for k in RATED_SETTINGS}
    if filters:
        out["filters"] = dataclasses.asdict(filters) if isinstance(filters, Filters) else filters
    return out


def issue(svc: Services, who: str, payload: dict, filters: Filters | dict | None = None) -> str:
    """Remember an answer given to `who`; its id goes back with the answer."""
    f = dataclasses.asdict(filters) if isinstance(filters, Filters) else (filters or {})
    return svc.ratings.issue_answer(who, payload, f)


def answer_ref(answer: Any) -> str:
    """The answer id in what a client sent: the id itself, or the /ask JSON (dict or text)
    carrying "answer_id". Anything else names no answer ("")."""
    if isinstance(answer, str):
        text = answer.strip()
        if not text.startswith("{"):
            return text
        try:
            answer = json.loads(text)
        except ValueError:
            return ""
    return str(answer.get("answer_id") or "") if isinstance(answer, dict) else ""


def record_feedback(svc: Services, who: str, answer: Any, thumbs: int, comment: str = "") -> int:
    """Store thumbs (+1/-1) and a comment on an answer issued to `who` (again for the same answer:
    the same row, updated); FeedbackRefused when the id is unknown or the answer was given to
    someone else (the same message, so ids of other users' answers cannot be probed)."""
    from evals.ratings import Feedback

    aid = answer_ref(answer)
    issued = svc.ratings.get_answer(aid) if aid else None
    if issued is None or issued["user"] != who:
        raise FeedbackRefused(
            f"no answer {aid!r} was given to you: feedback must name the answer_id that /ask (or the chat) "
            "returned to you; invented or other users' answers are not accepted" if aid else
            "feedback must name an answer the server gave you: pass the answer_id from /ask (or its JSON)")
    got = issued["payload"]
    fb = Feedback(thumbs=int(thumbs), question=got.get("question", ""), answer=got.get("answer", ""),
                  comment=(comment or "").strip(), citations=got.get("citations", []),
                  mode=got.get("mode", svc.mode), settings=rated_settings(svc.settings, issued["filters"]),
                  user=who, answer_id=aid)
    return svc.ratings.add_feedback(fb)


def withdraw_feedback(svc: Services, who: str, answer: Any) -> int:
    """Remove `who`'s feedback on an answer issued to them (the selected thumb clicked again)."""
    aid = answer_ref(answer)
    issued = svc.ratings.get_answer(aid) if aid else None
    if issued is None or issued["user"] != who:
        raise FeedbackRefused(f"no answer {aid!r} was given to you")
    return svc.ratings.remove_feedback(who, aid)
