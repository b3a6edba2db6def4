"""The briefing tab: a topic and period in, a cited briefing out, with md/docx/pdf/html downloads.
Each briefing built is kept (evals.briefing_ratings, beside the ratings) so that evaluators can
pick it in the Evaluation tab and rate it."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from ui import render
from ui.feedback import login_name
from ui.forms import make_filters, progress_text
from ui.forms import note as _note

if TYPE_CHECKING:
    from ui.app import Services


def briefing_tab(svc: Services) -> None:
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

    def make(topic_, since_, until_, sources_, request: gr.Request = None, progress=gr.Progress()):
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
                                  progress=lambda f, msg: progress(f, desc=progress_text(msg)))
        folder = Path(tempfile.mkdtemp(prefix="brief-", dir=svc.tmp))
        ups, notes = [], []
        for fmt in ("md", "docx", "pdf", "html"):
            try:  # the edge: one format failing (e.g. no PDF font) must not lose the others
                ups.append(gr.update(value=str(export(briefing, fmt, folder / f"briefing.{fmt}")), visible=True))
            except Exception as e:  # noqa: BLE001
                ups.append(gr.update(visible=False))
                notes.append(f"{fmt}: {e}")
        page = to_html(briefing)
        keep_for_rating(svc, briefing, filters, login_name(request))
        note = "".join(f'<div class="rag-note" dir="ltr">{render.esc(n)}</div>' for n in notes)
        return [note + render.briefing_frame(page), *ups]

    build.click(make, [topic, since, until, sources], [view, *downloads], api_name="briefing")


def keep_for_rating(svc: Services, briefing, filters, user: str = "") -> str:
    """Save a built briefing where the Evaluation tab's briefing ratings find it; its id."""
    import dataclasses

    from ui.eval_briefing import save_built

    store = getattr(svc, "briefing_ratings", None)
    if store is None:
        return ""
    return save_built(store, briefing, {k: v for k, v in dataclasses.asdict(filters).items() if v}, user)

