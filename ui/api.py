"""Named API routes (gr.api) for gradio_client users and the tests; each mirrors a UI action."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

import gradio as gr

from rag.errors import RagError
from rag.types import Answer
from ui import eval_briefing, render
from ui.auth import denied
from ui.eval_briefing import save_briefing_rating
from ui.eval_tab import visible_feedback, visible_ratings
from ui.feedback import FeedbackRefused, identity, issue, login_name, record_feedback
from ui.forms import MAX_QUESTION_CHARS, history_of, make_filters, parse_history, question_error
from ui.serialize import answer_payload, search_json

if TYPE_CHECKING:
    from ui.app import Services


def add_routes(svc: Services) -> None:
    """Register the routes inside the caller's gr.Blocks."""

    def api_user(request: gr.Request | None) -> str:
        name = getattr(request, "username", None) if request is not None else None
        return f"user:{name}" if name else "api"

    def prepared(question: str, history: str, since: str, until: str, author: str, source: str,
                 conversation: str, request) -> tuple:
        """Checked filters, the saved conversation (or None) and the history to condense with."""
        too_long = question_error((question or "").strip()) if len(question or "") > MAX_QUESTION_CHARS else ""
        try:
            filters = make_filters(since, until, author, source,
                                   english=render.direction(question or "") == "ltr")
        except ValueError as e:
            raise gr.Error(str(e)) from e
        if too_long:
            raise gr.Error(too_long)
        past = svc.conversations.get(api_user(request), conversation) if conversation not in ("", "new") else None
        if conversation not in ("", "new") and past is None:
            raise gr.Error(f"no conversation {conversation!r} for this user")
        return filters, past, parse_history(history) or history_of(past or [])

    def answered(question: str, answer, filters, past, conversation: str, request) -> dict:
        """/ask's JSON for a finished answer: issued (its answer_id) and kept in the conversation."""
        out = answer_payload(answer)
        out["answer_id"] = aid = issue(svc, identity(request, api=True), out, filters)  # what /feedback names
        if conversation:
            turn = {"question": question, "answer": out, "answer_id": aid, "html": render.render_answer(answer, aid),
                    "filters": dataclasses.asdict(filters)}
            out["conversation_id"] = svc.conversations.save(api_user(request), (past or []) + [turn],
                                                            None if conversation == "new" else conversation)
        return out

    def ask(question: str, history: str = "", since: str = "", until: str = "", author: str = "",
            source: str = "", conversation: str = "", request: gr.Request = None) -> dict:
        """A cited answer (or a refusal with the nearest passages) as JSON. A date that is not one
        is an error naming the field. conversation: "new" or an id from /conversations to keep
        the turn in the caller's history (its id comes back as "conversation_id")."""
        filters, past, prior = prepared(question, history, since, until, author, source, conversation, request)
        try:
            answer = svc.assistant.ask(question, prior, filters)
        except RagError as e:  # e.g. the embedding server went down: its message, no traceback
            raise gr.Error(str(e)) from e
        return answered(question, answer, filters, past, conversation, request)

    def ask_stream(question: str, history: str = "", since: str = "", until: str = "", author: str = "",
                   source: str = "", conversation: str = "", request: gr.Request = None) -> Iterator[dict]:
        """/ask as it is produced, as the chat shows it: {"partial": true, "answer": the text so far}
        for each piece (an extractive answer's lines, an LLM's tokens), then /ask's JSON, whose
        "answer" (verified, markers renumbered) replaces the partial text."""
        filters, past, prior = prepared(question, history, since, until, author, source, conversation, request)
        text = ""
        try:
            for piece in svc.assistant.stream(question, prior, filters):
                if isinstance(piece, Answer):
                    yield answered(question, piece, filters, past, conversation, request)
                else:
                    text += piece
                    yield {"partial": True, "answer": text}
        except RagError as e:  # e.g. the embedding server went down: its message, no traceback
            raise gr.Error(str(e)) from e

    def search(query: str, k: int = 5, retrieval: str = "hybrid", since: str = "", until: str = "",
               author: str = "", source: str = "") -> dict:
        """Ranked passages, the `rag search --json` shape. retrieval: hybrid, dense or lexical."""
        if retrieval not in ("hybrid", "dense", "lexical"):
            raise gr.Error(f"retrieval must be hybrid, dense or lexical, not {retrieval!r}")
        try:
            filters = make_filters(since, until, author, source)
            hits = svc.retriever.search((query or "").strip()[:MAX_QUESTION_CHARS], filters, max(1, min(int(k), 50)), mode=retrieval)
        except (ValueError, RagError) as e:  # a bad date names its field; a server that is down its URL
            raise gr.Error(str(e)) from e
        return search_json(query, hits)

    def conversations(request: gr.Request = None) -> list:
        """The caller's saved conversations (the login user's), newest first."""
        return svc.conversations.list(api_user(request))

    def conversation(conversation_id: str, request: gr.Request = None) -> list:
        """One saved conversation as [{"question", "answer"}] turns ([] when it is not the caller's)."""
        got = svc.conversations.get(api_user(request), conversation_id) or []
        return [{"question": t["question"], "answer": t["answer"]} for t in got]

    def delete_conversation(conversation_id: str, request: gr.Request = None) -> dict:
        """Delete one of the caller's conversations."""
        return {"deleted": svc.conversations.delete(api_user(request), conversation_id)}

    def documents(query: str = "") -> list:
        """Documents in the index, optionally matching `query` in title/author/source/path."""
        return render.plain_rows(svc.store.documents(query or ""))

    def remove_document(doc_id: str, request: gr.Request = None) -> dict:
        """Remove one document (all its chunks) from the index (editors and admins)."""
        refused = denied(svc.role(request), "remove")
        if refused:
            raise gr.Error(refused)
        return {"removed": svc.store.remove_docs([doc_id]) if doc_id else 0}

    def feedback(answer: str, thumbs: int, comment: str = "", request: gr.Request = None) -> dict:
        """Store a thumbs up (1) / down (-1) on an answer `ask` gave you: pass its "answer_id"
        (or the whole JSON it returned). The stored question and answer are the server's; rating
        the same answer again replaces your earlier feedback on it (the same id comes back)."""
        try:
            return {"id": record_feedback(svc, identity(request, api=True), answer, int(thumbs), comment)}
        except (FeedbackRefused, ValueError) as e:
            raise gr.Error(str(e)) from e

    def ratings(request: gr.Request = None) -> dict:
        """Ratings and chat feedback you may see: your own; an admin sees everyone's."""
        who, role = login_name(request), svc.role(request)
        return {"role": role,
                "ratings": [dataclasses.asdict(r) for r in visible_ratings(svc.ratings, who, role)],
                "feedback": [dataclasses.asdict(f) for f in visible_feedback(svc.ratings, who, role)]}

    def briefings() -> list:
        """Saved briefings (built in the Briefing tab or for rating), newest first: id, topic,
        user, timestamp."""
        return [{"id": b.id, "topic": b.topic, "user": b.user, "timestamp": b.timestamp}
                for b in svc.briefing_ratings.briefings()]

    def rate_briefing(briefing_id: str, on_topic: int, right_heading: int, coverage: int,
                      citations: int, readability: int, comment: str = "", rater: str = "",
                      request: gr.Request = None) -> dict:
        """Score a saved briefing 1-5 on each criterion. With a login the rater is you (another
        `rater` is refused); without one, `rater` names who is rating."""
        scores = [on_topic, right_heading, coverage, citations, readability]
        login = login_name(request)
        try:
            save_briefing_rating(svc.briefing_ratings, rater, briefing_id, scores, comment, login=login)
        except ValueError as e:
            raise gr.Error(str(e)) from e
        return {"briefing_id": briefing_id, "rater": login or rater.strip(), "stored": len(scores)}

    def briefing_ratings(request: gr.Request = None) -> dict:
        """Briefing scores you may see (your own; an admin everyone's) and, per criterion, the
        mean and the agreement between raters over them."""
        who, role = login_name(request), svc.role(request)
        return {"role": role, "ratings": eval_briefing.visible_ratings(svc.briefing_ratings, who, role),
                "summary": svc.briefing_ratings.summary(rater=eval_briefing.visible_rater(who, role))}

    def stats() -> dict:
        """Index facts: documents, chunks, embedding model, last ingest; and the answer mode."""
        return {**svc.store.stats(), "answer_mode": svc.mode}

    for fn in (ask, ask_stream, search, documents, remove_document, feedback, ratings, stats, conversations,
               conversation, delete_conversation, briefings, rate_briefing, briefing_ratings):
        gr.api(fn, api_name=fn.__name__, concurrency_limit=8)

