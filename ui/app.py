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
from ui.auth import make_auth
from ui.eval_tab import evaluation_tab, ratings_path
from ui.uploads import ingest_uploads

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
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rag-app-")))

    @classmethod
    def build(cls, settings: Settings, assistant=None, embedder=None) -> "Services":
        from evals.ratings import RatingStore
        from rag.text.arabic import roots
        from rag.retrieval.hybrid import HybridRetriever
        from rag.index.store import Store

        if embedder is None:
            from rag.index.embeddings import get_embedder

            embedder = get_embedder(settings)
        store = Store(settings, embedder)
        if store.manifest():  # refuse an index built with another model before anyone asks
            store.check_manifest(store.expected_manifest(), writing=False)
        retriever = HybridRetriever(settings, store)
        if assistant is None:
            from rag.answering.assistant import Assistant
            from rag.answering.llm import get_chat_model

            assistant = Assistant(settings, retriever.search, llm=get_chat_model(settings), embedder=embedder,
                                  repair=retriever.repair)
        ratings = RatingStore(ratings_path(settings))
        roots("تمهيد")  # loads the root stemmer (nltk, ~1 s) now rather than on the first question
        return cls(settings, store, embedder, retriever, assistant, ratings)

    @property
    def mode(self) -> str:
        return getattr(self.assistant, "mode", "extractive")


# -- plain helpers (no Gradio) -------------------------------------------------------------------
def make_filters(since: str = "", until: str = "", authors=(), sources=()) -> Filters:
    def many(v) -> tuple[str, ...]:
        if not v:
            return ()
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else [v]
        return tuple(str(x).strip() for x in v if str(x).strip())

    return Filters(since=(since or "").strip(), until=(until or "").strip(), authors=many(authors),
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


def answer_payload(answer: Answer) -> dict:
    """The `rag ask --json` shape, plus what the UI and raters need (quotes, nearest passages)."""
    from ui.cli import answer_json

    out = answer_json(answer)
    for c, d in zip(answer.citations, out["citations"]):
        d["quote"] = c.quote
    out["standalone_question"] = answer.standalone_question
    out["flagged"] = list(answer.flagged)
    out["nearest"] = [{"chunk_id": h.chunk.id, "doc_id": h.chunk.doc_id, "title": h.chunk.title,
                       "date": h.chunk.date, "author": h.chunk.author, "source": h.chunk.source,
                       "text": h.chunk.text} for h in answer.nearest]
    return out


def history_of(turns: list[dict]) -> list[tuple[str, str]]:
    return [pair for t in turns for pair in (("user", t["question"]), ("assistant", t["answer"]["answer"]))]


def messages_of(turns: list[dict]) -> list[dict]:
    return [m for t in turns for m in ({"role": "user", "content": render.render_question(t["question"])},
                                       {"role": "assistant", "content": t["html"]})]


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


# -- the app ------------------------------------------------------------------------------------
def build_app(settings: Settings, *, assistant=None, embedder=None) -> gr.Blocks:
    svc = Services.build(settings, assistant=assistant, embedder=embedder)
    with gr.Blocks(title="أرشيف — مساعد البحث", analytics_enabled=False) as app:
        gr.HTML(f'<div class="rag-title" dir="rtl"><h1>مساعد الأرشيف</h1></div>{_banner(svc)}')
        with gr.Tabs():
            with gr.Tab("المحادثة", id="chat"):
                facet_pickers = _chat_tab(svc)
            with gr.Tab("الأرشيف", id="archive"):
                refresh, search, outs = _archive_tab(svc, facet_pickers)
            with gr.Tab("الموجز", id="briefing"):
                _briefing_tab(svc)
            with gr.Tab("التقييم", id="evaluation"):
                evaluation_tab(settings, ratings_path(settings), embedder=svc.embedder,
                               llm=getattr(svc.assistant, "llm", None))
        _api(svc)
        app.load(refresh, search, outs, api_visibility="private")
    app.rag_services = svc  # for tests and embedding callers
    return app


def _banner(svc: Services) -> str:
    s = svc.settings
    detail = s.llm_model or (Path(s.gguf_path).name if s.gguf_path else "") if svc.mode == "llm" else ""
    return render.mode_banner(svc.mode, detail)


def _facet_updates(svc: Services):
    f = svc.store.facets()
    return gr.update(choices=f["authors"]), gr.update(choices=f["sources"])


def _chat_tab(svc: Services) -> list:
    turns = gr.State([])
    facets = svc.store.facets()
    chatbot = gr.Chatbot(label="المحادثة", elem_id="rag-chat", height=620, rtl=True, latex_delimiters=[],
                         feedback_options=("Like", "Dislike"), group_consecutive_messages=False)
    with gr.Row():
        question = gr.Textbox(placeholder="اكتب سؤالك عن الأرشيف…", show_label=False, rtl=True, scale=8,
                              elem_id="rag-question", lines=1, max_lines=4)
        send = gr.Button("اسأل", variant="primary", scale=1, elem_id="rag-send")
        new = gr.Button("محادثة جديدة", scale=1, elem_id="rag-new")
    with gr.Accordion("عوامل التصفية", open=False):
        with gr.Row():
            since = gr.Textbox(label="من تاريخ", placeholder="2018 أو 2018-07-01", elem_id="rag-since")
            until = gr.Textbox(label="إلى تاريخ", placeholder="2020-12-31", elem_id="rag-until")
            authors = gr.Dropdown(label="الكاتب", choices=facets["authors"], multiselect=True,
                                  allow_custom_value=True)
            sources = gr.Dropdown(label="المصدر", choices=facets["sources"], multiselect=True,
                                  allow_custom_value=True)
    with gr.Row():
        comment = gr.Textbox(label="تعليق اختياري على التقييم (ثم اضغط 👍 أو 👎 تحت الإجابة)", rtl=True, scale=4,
                             elem_id="rag-comment")
        feedback_note = gr.HTML(elem_id="rag-feedback-note")

    def respond(q, turns_, since_, until_, authors_, sources_):
        q = (q or "").strip()
        if not q:
            yield gr.skip(), turns_, gr.skip()
            return
        filters = make_filters(since_, until_, authors_, sources_)
        shown = messages_of(turns_) + [{"role": "user", "content": render.render_question(q)},
                                       {"role": "assistant", "content": render.render_streaming("", q)}]
        yield shown, turns_, ""
        text, answer = "", None
        try:
            for piece in svc.assistant.stream(q, history_of(turns_), filters):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    text += piece
                    shown[-1] = {"role": "assistant", "content": render.render_streaming(text, q)}
                    yield shown, turns_, gr.skip()
        except RagError as e:
            shown[-1] = {"role": "assistant", "content": render.render_error(str(e))}
            yield shown, turns_, gr.skip()
            return
        aid = uuid.uuid4().hex[:10]
        turn = {"question": q, "answer": answer_payload(answer), "html": render.render_answer(answer, aid),
                "filters": dataclasses.asdict(filters)}
        turns_ = turns_ + [turn]
        yield messages_of(turns_), turns_, gr.skip()

    inputs = [question, turns, since, until, authors, sources]
    for trigger in (question.submit, send.click):
        trigger(respond, inputs, [chatbot, turns, question], api_visibility="private", concurrency_limit=8)
    new.click(lambda: ([], [], "", ""), None, [chatbot, turns, question, feedback_note], api_visibility="private")

    def like(turns_, comment_, data: gr.LikeData):
        i = data.index if isinstance(data.index, int) else data.index[0]
        if i // 2 >= len(turns_) or i % 2 == 0:
            return gr.skip(), ""
        t = turns_[i // 2]
        thumbs = 1 if data.liked is True or data.liked == "Like" else -1
        store_feedback(svc, t["answer"], thumbs, comment_, t.get("filters"))
        return "", '<div class="rag-note" dir="rtl">شكرًا، حُفظ تقييمك.</div>'

    chatbot.clear(lambda: ([], ""), None, [turns, feedback_note], api_visibility="private")  # its trash icon
    chatbot.like(like, [turns, comment], [comment, feedback_note], api_visibility="private")
    return [authors, sources]  # refreshed after uploads


def _archive_tab(svc: Services, facet_pickers: list):
    stats = gr.HTML(render.render_stats(svc.store.stats()), elem_id="rag-stats")
    with gr.Row():
        with gr.Column(scale=2):
            files = gr.File(label=f"ملفات أو أرشيف zip (حتى {svc.settings.upload_max_mb} م.ب)",
                            file_count="multiple", type="filepath", elem_id="rag-files")
            ingest_btn = gr.Button("أضف إلى الفهرس", variant="primary", elem_id="rag-ingest")
        with gr.Column(scale=3):
            summary_html = gr.HTML(elem_id="rag-summary")
            with gr.Accordion("تفاصيل الإدخال (JSON)", open=False):
                summary = gr.JSON(label="ملخص الإدخال", elem_id="rag-summary-json")
    search = gr.Textbox(label="ابحث في الوثائق (العنوان، الكاتب، المصدر)", rtl=True, elem_id="rag-doc-search")
    table = gr.HTML(elem_id="rag-docs")
    with gr.Row():
        pick = gr.Dropdown(label="وثيقة للحذف", choices=[], scale=4, elem_id="rag-remove-pick")
        remove = gr.Button("احذف من الفهرس", variant="stop", scale=1, elem_id="rag-remove")

    def refresh(query=""):
        docs = svc.store.documents(query or "")
        choices = [(f"{d.title or d.path} — {d.date[:10]}", d.doc_id) for d in docs]
        a, s = _facet_updates(svc)
        return (render.render_stats(svc.store.stats()), render.render_documents(docs),
                gr.update(choices=choices, value=None), a, s)

    def upload(paths, progress=gr.Progress()):
        """Ingest uploaded files or zips; returns what was added, skipped and why."""
        if not paths:
            return {"added": 0, "skipped": [], "files": []}
        paths = [paths] if isinstance(paths, str) else paths
        return ingest_uploads(svc.settings, paths, embedder=svc.embedder, store=svc.store,
                              progress=lambda f, msg: progress(f, desc=msg))

    outs = [stats, table, pick, *facet_pickers]
    ingest_btn.click(upload, files, summary, api_name="upload", concurrency_limit=1).then(
        render.render_ingest_summary, summary, summary_html, api_visibility="private").then(
        refresh, search, outs, api_visibility="private")
    search.change(refresh, search, outs, api_visibility="private")

    def remove_doc(doc_id, query):
        if doc_id:
            svc.store.remove_docs([doc_id])
        return refresh(query)

    remove.click(remove_doc, [pick, search], outs, api_visibility="private")
    return refresh, search, outs


def _briefing_tab(svc: Services) -> None:
    with gr.Row():
        topic = gr.Textbox(label="الموضوع", rtl=True, scale=4, elem_id="rag-brief-topic")
        since = gr.Textbox(label="من تاريخ", scale=1)
        until = gr.Textbox(label="إلى تاريخ", scale=1)
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
            return ["", *[gr.update(visible=False)] * 4]
        filters = make_filters(since_, until_, (), sources_)
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

    def ask(question: str, history: str = "", since: str = "", until: str = "", author: str = "",
            source: str = "") -> dict:
        """A cited answer (or a refusal with the nearest passages) as JSON."""
        filters = make_filters(since, until, author, source)
        return answer_payload(svc.assistant.ask(question, parse_history(history), filters))

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

    for fn in (ask, documents, remove_document, feedback, stats):
        gr.api(fn, api_name=fn.__name__, concurrency_limit=8)


def launch(app: gr.Blocks, settings: Settings, **kw):
    """Launch with the app's CSS/JS, login when configured, and the upload size limit."""
    theme = gr.themes.Default(font=["Noto Naskh Arabic", "Noto Sans Arabic", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    options = dict(server_name=settings.host, server_port=settings.port, auth=make_auth(settings.auth),
                   auth_message="سجّل الدخول للوصول إلى الأرشيف", max_file_size=f"{settings.upload_max_mb}mb",
                   css=(STATIC / "app.css").read_text(encoding="utf-8"),
                   js=(STATIC / "app.js").read_text(encoding="utf-8"), theme=theme, ssr_mode=False,
                   footer_links=["api"], allowed_paths=[str(app.rag_services.tmp)])
    options.update(kw)
    return app.queue(default_concurrency_limit=4).launch(**options)


def serve(settings: Settings) -> None:
    """`rag serve`: build the app on the configured index and block serving it."""
    app = build_app(settings)
    where = f"http://{settings.host}:{settings.port}"
    print(f"serving the archive at {where}" + (" (login required)" if settings.auth else ""))
    launch(app, settings)
