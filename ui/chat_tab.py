"""The chat tab: questions streamed into cited answers, filters, thumbs on a message and then an
optional comment on it, and the per-user history of conversations (saved, reopened, deleted)."""
from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING

import gradio as gr

from rag.errors import RagError
from rag.types import Answer
from ui import render
from ui.feedback import FeedbackRefused, identity, issue, record_feedback, withdraw_feedback
from ui.forms import history_of, make_filters, question_error
from ui.forms import note as _note
from ui.serialize import answer_payload

if TYPE_CHECKING:
    from ui.app import Services


def _rated(t: dict) -> str:
    fb = t.get("feedback")
    if not fb:
        return ""
    arabic = render.direction(t["question"]) == "rtl"
    thumbs = "👍" if fb.get("thumbs", 0) > 0 else "👎"
    comment = f" — «{render.esc(fb['comment'])}»" if fb.get("comment") else ""
    return (f'<div class="rag-rated" dir="{"rtl" if arabic else "ltr"}">'
            f'{"تقييمك" if arabic else "Your rating"}: {thumbs}{comment}</div>')


def messages_of(turns: list[dict]) -> list[dict]:
    return [m for t in turns for m in ({"role": "user", "content": render.render_question(t["question"])},
                                       {"role": "assistant", "content": t["html"] + _rated(t)})]


def thumbs_of(turns: list[dict]) -> list[str | None]:
    """The chatbot's feedback_value: each answer's thumb as its buttons show it (None: unrated)."""
    return [{1: "Like", -1: "Dislike"}.get((t.get("feedback") or {}).get("thumbs")) for t in turns]


def chat_view(turns: list[dict]):
    """The chatbot showing these turns, their thumbs selected as rated."""
    return gr.update(value=messages_of(turns), feedback_value=thumbs_of(turns))


def thumbs_from(liked) -> int:
    """LikeData.liked as a rating: +1, -1, or 0 when the selected thumb was clicked again."""
    if liked is True or liked == "Like":
        return 1
    if liked is False or liked == "Dislike":
        return -1
    return 0


def comment_heading(t: dict) -> str:
    """Above the comment box: which answer the comment goes with, and its thumb."""
    q = t["question"] if len(t["question"]) <= 60 else t["question"][:60] + "…"
    thumb = "👍" if t["feedback"]["thumbs"] > 0 else "👎"
    return (f'<div class="rag-comment-head" dir="rtl">{thumb} حُفظ تقييمك للإجابة عن «{render.esc(q)}». '
            "أضف تعليقًا إن شئت، يُحفظ مع التقييم نفسه:</div>")


def archive_facts(svc: Services) -> dict:
    """What the archive holds, for the welcome: documents, sources, period, example questions."""
    docs = svc.store.documents()
    dates = sorted(d.date[:10] if d.date else render.date_from_name(d.path) for d in docs)
    dates = [d for d in dates if d]
    sources = svc.store.facets()["sources"]
    examples = []
    for d in sorted(docs, key=lambda d: d.date, reverse=True):
        title = " ".join((d.title or "").split())
        if not title or not render.direction(title) == "rtl" or len(examples) == 3:
            continue
        if len(title) > 60:
            title = title[:60].rsplit(" ", 1)[0]
        examples.append(f"ماذا يقول الأرشيف عن «{title}»؟")
    return {"documents": len(docs), "sources": sources, "since": dates[0] if dates else "",
            "until": dates[-1] if dates else "", "examples": examples}


def welcome_html(facts: dict) -> str:
    if not facts["documents"]:
        return ('<div class="rag-welcome" dir="rtl"><h2>مرحبًا بك في مساعد الأرشيف</h2>'
                "<p>الأرشيف فارغ بعد: أضف وثائق من تبويب «الأرشيف» ثم اسأل عنها هنا.</p></div>")
    period = (f' من <bdi dir="ltr">{render.esc(facts["since"])}</bdi> إلى <bdi dir="ltr">{render.esc(facts["until"])}</bdi>'
              if facts["since"] else "")
    src = facts["sources"]
    sources = (f"، من {len(src)} مصدر: {render.esc('، '.join(src[:5]))}{'…' if len(src) > 5 else ''}" if src else "")
    return ('<div class="rag-welcome" dir="rtl"><h2>مرحبًا بك في مساعد الأرشيف</h2>'
            f'<p>يضم الأرشيف <b>{facts["documents"]:,}</b> وثيقة{sources}{period}.</p>'
            "<p>اسأل بالعربية (أو بالإنجليزية)؛ كل جواب يستشهد بالمقاطع التي بُني عليها، "
            "وإن لم يجد الأرشيف جوابًا قال ذلك. جرّب أحد الأمثلة:</p></div>")


def user_of(request, client_id: str | None) -> str:
    """Whose conversations these are: the login name, else the id this browser keeps."""
    name = getattr(request, "username", None) if request is not None else None
    return f"user:{name}" if name else f"browser:{client_id or 'anonymous'}"


def conversation_choices(items: list[dict]) -> list[tuple[str, str]]:
    # The time is isolated left to right: after an Arabic title, "2026-12-01" would read "01-12-2026".
    return [(f"{c['title'] or '…'} · \u2066{c['updated']}\u2069", c["id"]) for c in items]


def chat_tab(svc: Services, client_id) -> tuple[list, tuple]:
    turns = gr.State([])
    conv_id = gr.State(None)
    facets = svc.store.facets()
    facts = archive_facts(svc)
    with gr.Sidebar(label="المحادثات السابقة", open=False, position="right", elem_id="rag-history-panel"):
        gr.Markdown("### المحادثات السابقة", rtl=True)
        past = gr.Radio(label="محادثاتك المحفوظة", choices=[], elem_id="rag-history", rtl=True)
        with gr.Row():
            open_btn = gr.Button("افتح", size="sm", elem_id="rag-history-open")
            delete_btn = gr.Button("احذف", size="sm", variant="stop", elem_id="rag-history-delete")
        history_note = gr.HTML(elem_id="rag-history-note")
    chatbot = gr.Chatbot(label="المحادثة", show_label=False, elem_id="rag-chat", height=620, rtl=True,
                         latex_delimiters=[], feedback_options=("Like", "Dislike"),
                         group_consecutive_messages=False, placeholder=welcome_html(facts), buttons=["copy", "copy_all"],
                         examples=[{"text": q} for q in facts["examples"]] or None)
    # Shown after a thumb on a message: an optional comment, saved with that rating.
    with gr.Column(visible=False, elem_id="rag-comment-panel") as comment_panel:
        comment_head = gr.HTML(elem_id="rag-comment-head")
        comment = gr.Textbox(label="تعليقك (اختياري)", placeholder="ما الذي أصابته الإجابة أو فاتها؟", rtl=True,
                             lines=2, max_lines=6, elem_id="rag-comment")
        with gr.Row(elem_classes=["rag-rtl-row"]):
            comment_save = gr.Button("احفظ التعليق", variant="primary", size="sm", elem_id="rag-comment-save",
                                     min_width=110, scale=0)
            comment_skip = gr.Button("بلا تعليق", size="sm", elem_id="rag-comment-skip", min_width=90, scale=0)
    feedback_note = gr.HTML(elem_id="rag-feedback-note")
    pending = gr.State(None)  # the rated turn the comment box is for: {"index", "answer_id"}
    with gr.Row(elem_id="rag-ask-row"):
        question = gr.Textbox(label="سؤالك", placeholder="اكتب سؤالك عن الأرشيف…", show_label=False, rtl=True,
                              scale=8, elem_id="rag-question", lines=1, max_lines=4)
        send = gr.Button("اسأل", variant="primary", scale=1, elem_id="rag-send", min_width=70)
        new = gr.Button("محادثة جديدة", scale=1, elem_id="rag-new", min_width=90)
    chat_note = gr.HTML(elem_id="rag-chat-note")
    with gr.Accordion("عوامل التصفية", open=False, elem_id="rag-filters"):
        with gr.Row(elem_classes=["rag-rtl-row"]):
            since = gr.Textbox(label="من تاريخ", placeholder="2018-07-01", elem_id="rag-since",
                               elem_classes=["rag-date-box"], min_width=140)
            until = gr.Textbox(label="إلى تاريخ", placeholder="2020-12-31", elem_id="rag-until",
                               elem_classes=["rag-date-box"], min_width=140)
            authors = gr.Dropdown(label="الكاتب", choices=facets["authors"], multiselect=True,
                                  allow_custom_value=True, min_width=160)
            sources = gr.Dropdown(label="المصدر", choices=facets["sources"], multiselect=True,
                                  allow_custom_value=True, min_width=160)

    def file_dates(answer) -> dict:
        """doc_id -> date from the file name, for cited documents that carry no date."""
        wanted = {c.doc_id for c in answer.citations if not c.date} | {h.chunk.doc_id for h in answer.nearest if not h.chunk.date}
        if not wanted:
            return {}
        return {d.doc_id: render.date_from_name(d.path) for d in svc.store.documents() if d.doc_id in wanted}

    def respond(q, turns_, cid, since_, until_, authors_, sources_, browser, request: gr.Request):
        q = (q or "").strip()
        problem = question_error(q)
        try:
            filters = make_filters(since_, until_, authors_, sources_, english=bool(q) and render.direction(q) == "ltr")
        except ValueError as e:
            problem = problem or str(e)
        if problem:
            yield gr.skip(), turns_, cid, gr.skip(), _note(problem), gr.skip()
            return
        shown = messages_of(turns_) + [{"role": "user", "content": render.render_question(q)},
                                       {"role": "assistant", "content": render.render_streaming("", q)}]
        yield shown, turns_, cid, "", "", gr.skip()
        text, answer = "", None
        try:
            for piece in svc.assistant.stream(q, history_of(turns_), filters):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    text += piece
                    shown[-1] = {"role": "assistant", "content": render.render_streaming(text, q)}
                    yield shown, turns_, cid, gr.skip(), gr.skip(), gr.skip()
        except RagError as e:
            shown[-1] = {"role": "assistant", "content": render.render_error(str(e))}
            yield shown, turns_, cid, gr.skip(), gr.skip(), gr.skip()
            return
        payload = answer_payload(answer)
        aid = issue(svc, identity(request, browser), payload, filters)
        turn = {"question": q, "answer": payload, "answer_id": aid,
                "html": render.render_answer(answer, aid, file_dates(answer)),
                "filters": dataclasses.asdict(filters)}
        turns_ = turns_ + [turn]
        user = user_of(request, browser)
        cid = svc.conversations.save(user, turns_, cid)
        yield (chat_view(turns_), turns_, cid, gr.skip(), gr.skip(),
               gr.update(choices=conversation_choices(svc.conversations.list(user)), value=cid))

    inputs = [question, turns, conv_id, since, until, authors, sources, client_id]
    outputs = [chatbot, turns, conv_id, question, chat_note, past]
    for trigger in (question.submit, send.click):
        trigger(respond, inputs, outputs, api_visibility="private", concurrency_limit=8)

    def example(turns_, cid, since_, until_, authors_, sources_, browser, data: gr.SelectData, request: gr.Request):
        q = data.value["text"] if isinstance(data.value, dict) else str(data.value)
        yield from respond(q, turns_, cid, since_, until_, authors_, sources_, browser, request)

    chatbot.example_select(example, inputs[1:], outputs, api_visibility="private")

    def retry(turns_, cid, since_, until_, authors_, sources_, browser, request: gr.Request):
        if not turns_:
            yield gr.skip(), turns_, cid, gr.skip(), gr.skip(), gr.skip()
            return
        yield from respond(turns_[-1]["question"], turns_[:-1], cid, since_, until_, authors_, sources_,
                           browser, request)

    chatbot.retry(retry, inputs[1:], outputs, api_visibility="private")

    no_comment = (None, gr.update(visible=False), "")  # pending, comment_panel, comment

    def fresh():
        return (chat_view([]), [], None, "", "", "", gr.update(value=None)) + no_comment

    new.click(fresh, None, [chatbot, turns, conv_id, question, feedback_note, chat_note, past,
                            pending, comment_panel, comment], api_visibility="private")

    def like(turns_, cid, browser, data: gr.LikeData, request: gr.Request):
        """A thumb on an answer is stored at once (the same row if it was rated before); the
        comment box then opens for it. The thumb clicked again withdraws the rating."""
        i = data.index if isinstance(data.index, int) else data.index[0]
        if i // 2 >= len(turns_) or i % 2 == 0:
            return (gr.skip(),) * 7
        t = dict(turns_[i // 2])
        thumbs = thumbs_from(data.liked)
        who = identity(request, browser)
        # A turn from before answers were issued (an old saved conversation) is the server's own
        # record (state and history live on the server), so it is issued now.
        aid = t.get("answer_id") or issue(svc, who, t["answer"], t.get("filters"))
        t["answer_id"] = aid
        said = (t.get("feedback") or {}).get("comment", "")
        try:
            if thumbs:
                record_feedback(svc, who, aid, thumbs, said)
            else:
                withdraw_feedback(svc, who, aid)
        except FeedbackRefused as e:
            return gr.skip(), gr.skip(), _note(str(e)), *no_comment, gr.skip()
        if thumbs:
            t["feedback"] = {"thumbs": thumbs, "comment": said}
        else:
            t.pop("feedback", None)
        turns_ = turns_[: i // 2] + [t] + turns_[i // 2 + 1:]
        if cid:
            svc.conversations.save(user_of(request, browser), turns_, cid)
        if not thumbs:
            return chat_view(turns_), turns_, _note("أُلغي تقييمك لهذه الإجابة.", "ok"), *no_comment, gr.skip()
        return (chat_view(turns_), turns_, "", {"index": i // 2, "answer_id": aid}, gr.update(visible=True), said,
                comment_heading(t))

    chatbot.clear(lambda: (chat_view([]), [], None, "") + no_comment, None,
                  [chatbot, turns, conv_id, feedback_note, pending, comment_panel, comment], api_visibility="private")
    chatbot.like(like, [turns, conv_id, client_id],
                 [chatbot, turns, feedback_note, pending, comment_panel, comment, comment_head],
                 api_visibility="private").then(
        None, None, None, js="() => { const p = document.getElementById('rag-comment-panel');"
                             " if (p && p.offsetParent) { p.scrollIntoView({block: 'nearest'});"
                             " const t = p.querySelector('textarea'); if (t) t.focus({preventScroll: true}); } }")

    def save_comment(turns_, cid, target, comment_, browser, request: gr.Request):
        """The comment goes into the rating it follows: the same feedback row, the same answer."""
        i = (target or {}).get("index", -1)
        t = dict(turns_[i]) if 0 <= i < len(turns_) else {}
        if not t.get("feedback") or t.get("answer_id") != target.get("answer_id"):
            return gr.skip(), gr.skip(), _note("قيّم الإجابة بـ 👍 أو 👎 أولًا، ثم علّق عليها."), *no_comment
        said = (comment_ or "").strip()
        try:
            record_feedback(svc, identity(request, browser), t["answer_id"], t["feedback"]["thumbs"], said)
        except FeedbackRefused as e:
            return gr.skip(), gr.skip(), _note(str(e)), *no_comment
        t["feedback"] = {**t["feedback"], "comment": said}
        turns_ = turns_[:i] + [t] + turns_[i + 1:]
        if cid:
            svc.conversations.save(user_of(request, browser), turns_, cid)
        q = t["question"] if len(t["question"]) <= 50 else t["question"][:50] + "…"
        return (chat_view(turns_), turns_,
                _note(f"شكرًا، حُفظ تقييمك للإجابة عن «{q}»" + (" مع تعليقك." if said else "."), "ok"), *no_comment)

    for trigger in (comment_save.click, comment.submit):
        trigger(save_comment, [turns, conv_id, pending, comment, client_id],
                [chatbot, turns, feedback_note, pending, comment_panel, comment], api_visibility="private")
    comment_skip.click(lambda: no_comment, None, [pending, comment_panel, comment], api_visibility="private")

    def reopen(cid, browser, request: gr.Request):
        got = svc.conversations.get(user_of(request, browser), cid) if cid else None
        if got is None:
            return gr.skip(), gr.skip(), gr.skip(), _note("اختر محادثة من القائمة أولًا.")
        return chat_view(got), got, cid, ""

    def delete(cid, browser, request: gr.Request):
        user = user_of(request, browser)
        if not cid or not svc.conversations.delete(user, cid):
            return gr.skip(), _note("اختر محادثة من القائمة أولًا."), gr.skip(), gr.skip(), gr.skip()
        left = gr.update(choices=conversation_choices(svc.conversations.list(user)), value=None)
        return left, _note("حُذفت المحادثة.", "ok"), [], [], None

    open_btn.click(reopen, [past, client_id], [chatbot, turns, conv_id, history_note], api_visibility="private")
    past.input(reopen, [past, client_id], [chatbot, turns, conv_id, history_note], api_visibility="private")
    delete_btn.click(delete, [past, client_id], [past, history_note, chatbot, turns, conv_id],
                     api_visibility="private")

    def on_load(browser, request: gr.Request):
        browser = browser or uuid.uuid4().hex
        facts_ = archive_facts(svc)
        items = svc.conversations.list(user_of(request, browser))
        return (browser, gr.update(choices=conversation_choices(items)),
                gr.update(placeholder=welcome_html(facts_), examples=[{"text": q} for q in facts_["examples"]] or None))

    return [authors, sources], (on_load, client_id, [client_id, past, chatbot])

