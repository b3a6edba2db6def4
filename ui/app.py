"""The Gradio app behind `rag serve`: chat, archive, briefing (and evaluation when present).

The UI owns no pipeline and no database session: `Services` holds the library objects (store,
retriever, Assistant, rating store) built once, and every handler is a thin call into them with
HTML from ui.render. Dependencies are injectable (`build_app(settings, assistant=, embedder=)`)
so tests run the real app on a fake embedder. Named API routes (ask, upload, documents,
remove_document, feedback, stats) serve gradio_client users and the tests.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from rag.config import Settings
from rag.errors import RagError
from rag.types import Answer, Filters
from ui import render
from ui.auth import exposure_warning, make_auth
from ui.eval_tab import evaluation_tab, ratings_path
from ui.history import ConversationStore, history_path
from ui.serialize import answer_payload
from ui.uploads import ingest_uploads

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Settings worth recording with a rating; secrets (API key, auth) and paths stay out.
RATED_SETTINGS = ("embedding_model", "lexical_analyzer", "k", "fetch_k", "rrf_k", "dense_weight",
                  "lexical_weight", "root_weight", "per_doc_cap", "reranker_model", "answer_mode", "llm_model",
                  "llm_temperature", "refusal_threshold", "chunk_tokens", "chunk_overlap_tokens")


@dataclass
class Services:
    """Library objects the handlers call; built once per app."""

    settings: Settings
    store: Any
    embedder: Any
    retriever: Any
    assistant: Any
    ratings: Any
    conversations: Any = None
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rag-app-")))

    @classmethod
    def build(cls, settings: Settings, assistant=None, embedder=None) -> "Services":
        from evals.ratings import RatingStore
        from rag.services import make_assistant, open_archive
        from rag.text.arabic import roots

        # An empty data dir is fine (the Archive tab fills it); an index built with another model
        # is refused before anyone asks.
        archive = open_archive(settings, embedder=embedder, require=False)
        if assistant is None:
            assistant = make_assistant(settings, archive)
        ratings = RatingStore(ratings_path(settings))
        roots("تمهيد")  # loads the root stemmer (nltk, ~1 s) now rather than on the first question
        return cls(settings, archive.store, archive.embedder, archive.retriever, assistant, ratings,
                   ConversationStore(history_path(settings.data_dir)))

    @property
    def mode(self) -> str:
        return getattr(self.assistant, "mode", "extractive")


# -- plain helpers (no Gradio) -------------------------------------------------------------------
MAX_QUESTION_CHARS = 2000
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
DATE_FORM = "سنة (2018) أو سنة-شهر (2018-07) أو سنة-شهر-يوم (2018-07-01)"


def normal_date(value: str) -> str:
    """A date as typed, Arabic-Indic digits and slashes made ISO ("٢٠١٨/٧/١" -> "2018-07-01");
    ValueError when it is not a year, year-month or year-month-day."""
    v = (value or "").strip().translate(_DIGITS).replace("/", "-")
    if not v:
        return ""
    m = _DATE.match(v)
    if not m:
        raise ValueError(value)
    y, mo, d = m.group(1), m.group(2), m.group(3)
    if mo is None:
        return y
    if not 1 <= int(mo) <= 12:
        raise ValueError(value)
    if d is None:
        return f"{y}-{int(mo):02d}"
    import datetime

    try:
        datetime.date(int(y), int(mo), int(d))
    except ValueError:
        raise ValueError(value) from None
    return f"{y}-{int(mo):02d}-{int(d):02d}"


DATE_FORM_EN = "a year (2018), year-month (2018-07) or year-month-day (2018-07-01)"


def date_errors(english: bool = False, **fields: str) -> list[str]:
    """One message per date field that is not a date, naming the field and the expected form
    (in English when the question is English)."""
    labels = {"since": ("من تاريخ", "From date"), "until": ("إلى تاريخ", "To date")}
    out = []
    for name, value in fields.items():
        try:
            normal_date(value)
        except ValueError:
            ar, en = labels.get(name, (name, name))
            v = (value or "").strip()
            out.append(f"“{en}” («{ar}»): “{v}” is not a date. Write it in digits: {DATE_FORM_EN}." if english else
                       f"«{ar}»: «{v}» ليس تاريخًا. اكتبه بالأرقام: {DATE_FORM}.")
    return out


def question_error(q: str) -> str:
    """Why a question cannot be asked as typed ("" when it can), in the question's language."""
    if not q:
        return "اكتب سؤالك أولًا، أو اختر أحد الأمثلة."
    if len(q) > MAX_QUESTION_CHARS:
        if render.direction(q[:500]) == "ltr":
            return (f"The question is too long ({len(q):,} characters); the limit is {MAX_QUESTION_CHARS:,}. "
                    "Shorten it to a clear question about what you are looking for in the archive.")
        return (f"السؤال طويل جدًا ({len(q):,} حرفًا)؛ الحد {MAX_QUESTION_CHARS:,} حرف. "
                "اختصره إلى سؤال واضح عمّا تبحث عنه في الأرشيف.")
    return ""


def make_filters(since: str = "", until: str = "", authors=(), sources=(), english: bool = False) -> Filters:
    """Filters from the form or the API; ValueError (naming the field) for a date that is none."""
    def many(v) -> tuple[str, ...]:
        if not v:
            return ()
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else [v]
        return tuple(str(x).strip() for x in v if str(x).strip())

    errors = date_errors(english, since=since, until=until)
    if errors:
        raise ValueError(" ".join(errors))
    return Filters(since=normal_date(since), until=normal_date(until), authors=many(authors),
                   sources=many(sources))


def parse_history(history: Any) -> list[tuple[str, str]]:
    """History from the API: JSON list of [role, text] pairs or {"role", "content"} dicts."""
    if not history:
        return []
    if isinstance(history, str):
        history = json.loads(history)
    out = []
    for item in history:
        role, text = (item.get("role"), item.get("content")) if isinstance(item, dict) else item
        out.append((str(role), str(text)))
    return out


def history_of(turns: list[dict]) -> list[tuple[str, str]]:
    return [pair for t in turns for pair in (("user", t["question"]), ("assistant", t["answer"]["answer"]))]


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


def rated_settings(s: Settings, filters: Filters | dict | None = None) -> dict:
    out = {k: getattr(s, k) for k in RATED_SETTINGS}
    if filters:
        out["filters"] = dataclasses.asdict(filters) if isinstance(filters, Filters) else filters
    return out


def store_feedback(svc: Services, answer: dict, thumbs: int, comment: str = "", filters=None) -> int:
    from evals.ratings import Feedback

    fb = Feedback(thumbs=int(thumbs), question=answer.get("question", ""),
                  answer=answer.get("answer", ""), comment=(comment or "").strip(),
                  citations=answer.get("citations", []), mode=answer.get("mode", svc.mode),
                  settings=rated_settings(svc.settings, filters))
    return svc.ratings.add_feedback(fb)


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
    return [(f"{c['title'] or '…'} · {c['updated']}", c["id"]) for c in items]


# -- the app ------------------------------------------------------------------------------------
def build_app(settings: Settings, *, assistant=None, embedder=None) -> gr.Blocks:
    svc = Services.build(settings, assistant=assistant, embedder=embedder)
    with gr.Blocks(title="أرشيف — مساعد البحث", analytics_enabled=False) as app:
        gr.HTML(f'<div class="rag-title" dir="rtl"><h1>مساعد الأرشيف</h1></div>{_banner(svc)}')
        client_id = gr.BrowserState(None, storage_key="rag-client-id")
        with gr.Tabs():
            with gr.Tab("المحادثة", id="chat"):
                facet_pickers, chat_load = _chat_tab(svc, client_id)
            with gr.Tab("الأرشيف", id="archive"):
                refresh, search, outs = _archive_tab(svc, facet_pickers)
            with gr.Tab("الموجز", id="briefing"):
                _briefing_tab(svc)
            with gr.Tab("التقييم", id="evaluation"):
                evaluation_tab(settings, ratings_path(settings), embedder=svc.embedder,
                               llm=getattr(svc.assistant, "llm", None))
        _api(svc)
        app.load(refresh, search, outs, api_visibility="private")
        app.load(*chat_load, api_visibility="private")
    app.rag_services = svc  # for tests and embedding callers
    return app


def _banner(svc: Services) -> str:
    s = svc.settings
    detail = s.llm_model or (Path(s.gguf_path).name if s.gguf_path else "") if svc.mode == "llm" else ""
    return render.mode_banner(svc.mode, detail)


def _facet_updates(svc: Services):
    f = svc.store.facets()
    return gr.update(choices=f["authors"]), gr.update(choices=f["sources"])


def _note(text: str, kind: str = "error") -> str:
    role = ' role="alert"' if kind == "error" else ""
    return f'<div class="rag-note rag-note-{kind}" dir="{render.direction(text)}"{role}>{render.esc(text)}</div>'


def _chat_tab(svc: Services, client_id) -> tuple[list, tuple]:
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
    with gr.Row(elem_id="rag-comment-row"):
        comment = gr.Textbox(label="تعليق على تقييمك (اكتبه ثم اضغط 👍 أو 👎 تحت الإجابة التي تقيّمها)", rtl=True,
                             scale=4, elem_id="rag-comment")
        feedback_note = gr.HTML(elem_id="rag-feedback-note")

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
        aid = uuid.uuid4().hex[:10]
        turn = {"question": q, "answer": answer_payload(answer),
                "html": render.render_answer(answer, aid, file_dates(answer)),
                "filters": dataclasses.asdict(filters)}
        turns_ = turns_ + [turn]
        user = user_of(request, browser)
        cid = svc.conversations.save(user, turns_, cid)
        yield (messages_of(turns_), turns_, cid, gr.skip(), gr.skip(),
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

    def fresh():
        return [], [], None, "", "", "", gr.update(value=None)

    new.click(fresh, None, [chatbot, turns, conv_id, question, feedback_note, chat_note, past],
              api_visibility="private")

    def like(turns_, cid, comment_, browser, data: gr.LikeData, request: gr.Request):
        i = data.index if isinstance(data.index, int) else data.index[0]
        if i // 2 >= len(turns_) or i % 2 == 0:
            return gr.skip(), gr.skip(), gr.skip(), ""
        t = dict(turns_[i // 2])
        thumbs = 1 if data.liked is True or data.liked == "Like" else -1
        store_feedback(svc, t["answer"], thumbs, comment_, t.get("filters"))
        t["feedback"] = {"thumbs": thumbs, "comment": (comment_ or "").strip()}
        turns_ = turns_[: i // 2] + [t] + turns_[i // 2 + 1:]
        if cid:
            svc.conversations.save(user_of(request, browser), turns_, cid)
        q = t["question"] if len(t["question"]) <= 50 else t["question"][:50] + "…"
        return (messages_of(turns_), turns_, "",
                _note(f"شكرًا، حُفظ تقييمك للإجابة عن «{q}»" + (" مع تعليقك." if comment_ else "."), "ok"))

    chatbot.clear(lambda: ([], None, ""), None, [turns, conv_id, feedback_note], api_visibility="private")
    chatbot.like(like, [turns, conv_id, comment, client_id], [chatbot, turns, comment, feedback_note],
                 api_visibility="private")

    def reopen(cid, browser, request: gr.Request):
        got = svc.conversations.get(user_of(request, browser), cid) if cid else None
        if got is None:
            return gr.skip(), gr.skip(), gr.skip(), _note("اختر محادثة من القائمة أولًا.")
        return messages_of(got), got, cid, ""

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


def _archive_tab(svc: Services, facet_pickers: list):
    stats = gr.HTML(render.render_stats(svc.store.stats()), elem_id="rag-stats")
    with gr.Row():
        with gr.Column(scale=2, min_width=240):
            files = gr.File(label=f"ملفات أو أرشيف zip (حتى {svc.settings.upload_max_mb} م.ب)",
                            file_count="multiple", type="filepath", elem_id="rag-files")
            ingest_btn = gr.Button("أضف إلى الفهرس", variant="primary", elem_id="rag-ingest")
        with gr.Column(scale=3, min_width=240):
            summary_html = gr.HTML(elem_id="rag-summary")
            with gr.Accordion("تفاصيل الإدخال (JSON)", open=False):
                summary = gr.JSON(label="ملخص الإدخال", elem_id="rag-summary-json")
    search = gr.Textbox(label="ابحث في الوثائق (العنوان، الكاتب، المصدر)", rtl=True, elem_id="rag-doc-search")
    with gr.Accordion("حذف وثيقة من الفهرس", open=False, elem_id="rag-remove-box"):
        with gr.Row():
            pick = gr.Dropdown(label="الوثيقة المراد حذفها", choices=[], scale=4, elem_id="rag-remove-pick",
                               min_width=200)
            remove = gr.Button("احذف من الفهرس", variant="stop", scale=1, elem_id="rag-remove", min_width=120)
        with gr.Row(visible=False, elem_id="rag-remove-confirm") as confirm_row:
            confirm_text = gr.HTML()
            confirm = gr.Button("نعم، احذفها", variant="stop", elem_id="rag-remove-yes", min_width=100)
            cancel = gr.Button("إلغاء", elem_id="rag-remove-no", min_width=80)
        remove_note = gr.HTML(elem_id="rag-remove-note")
    table = gr.HTML(elem_id="rag-docs")
    page = gr.State(1)
    with gr.Row(elem_id="rag-pager"):
        prev_btn = gr.Button("→ السابق", size="sm", elem_id="rag-prev", min_width=80)
        next_btn = gr.Button("التالي ←", size="sm", elem_id="rag-next", min_width=80)

    def refresh(query="", page_=1):
        docs = svc.store.documents(query or "")
        choices = [(f"{d.title or d.path} — {d.date[:10]}", d.doc_id) for d in docs]
        a, s = _facet_updates(svc)
        page_ = min(max(1, int(page_ or 1)), render.page_count(len(docs)))
        return (render.render_stats(svc.store.stats()), render.render_documents(docs, page_, query=query or ""),
                gr.update(choices=choices, value=None), a, s, page_)

    def upload(paths, progress=gr.Progress()):
        """Ingest uploaded files or zips; returns what was added, skipped and why."""
        if not paths:
            return {"added": 0, "skipped": [], "files": []}
        paths = [paths] if isinstance(paths, str) else paths
        return ingest_uploads(svc.settings, paths, embedder=svc.embedder, store=svc.store,
                              progress=lambda f, msg: progress(f, desc=msg))

    def summarise(summary_):
        if not summary_ or (not summary_.get("files") and not summary_.get("skipped") and not summary_.get("same")):
            return _note("اختر ملفًا أو أكثر أولًا (أو أرشيف zip)، ثم اضغط «أضف إلى الفهرس».")
        return render.render_ingest_summary(summary_)

    outs = [stats, table, pick, *facet_pickers, page]
    ingest_btn.click(upload, files, summary, api_name="upload", concurrency_limit=1).then(
        summarise, summary, summary_html, api_visibility="private").then(
        refresh, search, outs, api_visibility="private")
    search.change(lambda q: refresh(q, 1), search, outs, api_visibility="private")
    prev_btn.click(lambda q, p: refresh(q, p - 1), [search, page], outs, api_visibility="private")
    next_btn.click(lambda q, p: refresh(q, p + 1), [search, page], outs, api_visibility="private")

    def ask_remove(doc_id):
        if not doc_id:
            return gr.update(visible=False), "", _note("اختر الوثيقة المراد حذفها أولًا.")
        d = next((d for d in svc.store.documents() if d.doc_id == doc_id), None)
        title = (d.title or d.path) if d else doc_id
        n = d.chunks if d else 0
        return (gr.update(visible=True),
                f'<div class="rag-confirm" dir="rtl">ستُحذف «{render.esc(title)}» ومقاطعها ({n}) من الفهرس. أمتأكد؟</div>', "")

    def remove_doc(doc_id, query, page_):
        d = next((d for d in svc.store.documents() if d.doc_id == doc_id), None)
        removed = svc.store.remove_docs([doc_id]) if doc_id else 0
        note = (_note(f"حُذفت «{(d.title or d.path) if d else doc_id}» من الفهرس.", "ok") if removed
                else _note("لم تُحذف: الوثيقة لم تعد في الفهرس."))
        return (*refresh(query, page_), gr.update(visible=False), note)

    remove.click(ask_remove, pick, [confirm_row, confirm_text, remove_note], api_visibility="private")
    cancel.click(lambda: (gr.update(visible=False), ""), None, [confirm_row, remove_note], api_visibility="private")
    confirm.click(remove_doc, [pick, search, page], [*outs, confirm_row, remove_note], api_visibility="private")
    return refresh, search, outs


def _briefing_tab(svc: Services) -> None:
    with gr.Row(elem_classes=["rag-rtl-row"]):
        topic = gr.Textbox(label="الموضوع", rtl=True, scale=4, elem_id="rag-brief-topic", min_width=200,
                           placeholder="مثلًا: الرقابة على المحتوى الرقمي")
        since = gr.Textbox(label="من تاريخ", scale=1, placeholder="2018-07-01", elem_id="rag-brief-since",
                           elem_classes=["rag-date-box"], min_width=140)
        until = gr.Textbox(label="إلى تاريخ", scale=1, placeholder="2020-12-31", elem_id="rag-brief-until",
                           elem_classes=["rag-date-box"], min_width=140)
    sources = gr.Dropdown(label="المصادر", choices=svc.store.facets()["sources"], multiselect=True,
                          allow_custom_value=True)
    build = gr.Button("أنشئ الموجز", variant="primary", elem_id="rag-brief-build")
    view = gr.HTML(elem_id="rag-brief")
    with gr.Row():
        downloads = [gr.DownloadButton(f"تنزيل {fmt.upper()}", visible=False) for fmt in ("md", "docx", "pdf", "html")]

    def make(topic_, since_, until_, sources_, progress=gr.Progress()):
        from rag.briefing.build import build_briefing
        from ui.export import export, to_html

        if not (topic_ or "").strip():
            return [_note("اكتب موضوع الموجز أولًا (كلمات قليلة تصف ما تريد تلخيصه من الأرشيف)."),
                    *[gr.update(visible=False)] * 4]
        try:
            filters = make_filters(since_, until_, (), sources_)
        except ValueError as e:
            return [_note(str(e)), *[gr.update(visible=False)] * 4]
        briefing = build_briefing(topic_.strip(), svc.retriever.search, svc.settings, filters,
                                  llm=getattr(svc.assistant, "llm", None),
                                  progress=lambda f, msg: progress(f, desc=msg))
        folder = Path(tempfile.mkdtemp(prefix="brief-", dir=svc.tmp))
        ups, notes = [], []
        for fmt in ("md", "docx", "pdf", "html"):
            try:  # the edge: one format failing (e.g. no PDF font) must not lose the others
                ups.append(gr.update(value=str(export(briefing, fmt, folder / f"briefing.{fmt}")), visible=True))
            except Exception as e:  # noqa: BLE001
                ups.append(gr.update(visible=False))
                notes.append(f"{fmt}: {e}")
        page = to_html(briefing)
        note = "".join(f'<div class="rag-note" dir="ltr">{render.esc(n)}</div>' for n in notes)
        return [note + render.briefing_frame(page), *ups]

    build.click(make, [topic, since, until, sources], [view, *downloads], api_name="briefing")


def _api(svc: Services) -> None:
    """Routes for gradio_client users; each mirrors a UI action."""

    def api_user(request: gr.Request | None) -> str:
        name = getattr(request, "username", None) if request is not None else None
        return f"user:{name}" if name else "api"

    def ask(question: str, history: str = "", since: str = "", until: str = "", author: str = "",
            source: str = "", conversation: str = "", request: gr.Request = None) -> dict:
        """A cited answer (or a refusal with the nearest passages) as JSON. A date that is not one
        is an error naming the field. conversation: "new" or an id from /conversations to keep
        the turn in the caller's history (its id comes back as "conversation_id")."""
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
        prior = parse_history(history) or history_of(past or [])
        answer = svc.assistant.ask(question, prior, filters)
        out = answer_payload(answer)
        if conversation:
            turn = {"question": question, "answer": out, "html": render.render_answer(answer, uuid.uuid4().hex[:10]),
                    "filters": dataclasses.asdict(filters)}
            out["conversation_id"] = svc.conversations.save(api_user(request), (past or []) + [turn],
                                                            None if conversation == "new" else conversation)
        return out

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

    def remove_document(doc_id: str) -> dict:
        """Remove one document (all its chunks) from the index."""
        return {"removed": svc.store.remove_docs([doc_id]) if doc_id else 0}

    def feedback(answer: str, thumbs: int, comment: str = "") -> dict:
        """Store a thumbs up (1) / down (-1) on an answer JSON returned by `ask`."""
        data = json.loads(answer) if isinstance(answer, str) else answer
        return {"id": store_feedback(svc, data, thumbs, comment)}

    def stats() -> dict:
        """Index facts: documents, chunks, embedding model, last ingest; and the answer mode."""
        return {**svc.store.stats(), "answer_mode": svc.mode}

    for fn in (ask, documents, remove_document, feedback, stats, conversations, conversation, delete_conversation):
        gr.api(fn, api_name=fn.__name__, concurrency_limit=8)


# Gradio's own strings that its Arabic locale lacks (the page is put in that locale by app.js, so
# without these they show in English or, for "common.complete", as the raw key).
GRADIO_I18N = {
    "ar": {"common.complete": "اكتمل", "chatbot.complete": "اكتمل", "chatbot.copy_message": "انسخ الرسالة",
           "chatbot.copied_message": "نُسخت الرسالة"},
    "en": {"common.complete": "Complete"},
}


def launch(app: gr.Blocks, settings: Settings, **kw):
    """Launch with the app's CSS/JS, login when configured, and the upload size limit."""
    theme = gr.themes.Default(font=["Noto Naskh Arabic", "Noto Sans Arabic", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    options = dict(server_name=settings.host, server_port=settings.port, auth=make_auth(settings.auth),
                   auth_message="سجّل الدخول للوصول إلى الأرشيف", max_file_size=f"{settings.upload_max_mb}mb",
                   css=(STATIC / "app.css").read_text(encoding="utf-8"),
                   js=(STATIC / "app.js").read_text(encoding="utf-8"), theme=theme, ssr_mode=False,
                   footer_links=["api"], allowed_paths=[str(app.rag_services.tmp)],
                   i18n=gr.I18n(**GRADIO_I18N))
    options.update(kw)
    warning = exposure_warning(options["server_name"], settings.auth, settings.insecure_no_login)
    if warning:
        log.warning(warning)
        print(warning, file=sys.stderr)
    return app.queue(default_concurrency_limit=4).launch(**options)


def serve(settings: Settings) -> None:
    """`rag serve`: build the app on the configured index and block serving it."""
    exposure_warning(settings.host, settings.auth, settings.insecure_no_login)  # refuse before loading
    app = build_app(settings)
    where = f"http://{settings.host}:{settings.port}"
    print(f"serving the archive at {where}" + (" (login required)" if settings.auth else ""))
    launch(app, settings)
