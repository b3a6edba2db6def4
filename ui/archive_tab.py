"""The archive tab: index facts, upload (files or zips), search, the paged document table, and
removing a document after a confirmation."""
from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from ui import render
from ui.auth import can, denied
from ui.forms import note as _note
from ui.forms import progress_text
from ui.uploads import ingest_uploads

if TYPE_CHECKING:
    from ui.app import Services


def _facet_updates(svc: Services):
    f = svc.store.facets()
    return gr.update(choices=f["authors"]), gr.update(choices=f["sources"])


def archive_tab(svc: Services, facet_pickers: list):
    """Lay out and wire the tab; returns (refresh, search box, refresh outputs, permissions load
    hook). Upload and remove are hidden from readers, and their handlers check the role too."""
    stats = gr.HTML(render.render_stats(svc.store.stats()), elem_id="rag-stats")
    role_note = gr.HTML(visible=False, elem_id="rag-role-note")
    with gr.Row():
        with gr.Column(scale=2, min_width=240) as upload_col:
            files = gr.File(label=f"ملفات أو أرشيف zip (حتى {svc.settings.upload_max_mb} م.ب)",
                            file_count="multiple", type="filepath", elem_id="rag-files")
            ingest_btn = gr.Button("أضف إلى الفهرس", variant="primary", elem_id="rag-ingest")
        with gr.Column(scale=3, min_width=240):
            summary_html = gr.HTML(elem_id="rag-summary")
            with gr.Accordion("تفاصيل الإدخال (JSON)", open=False):
                summary = gr.JSON(label="ملخص الإدخال", elem_id="rag-summary-json")
    search = gr.Textbox(label="ابحث في الوثائق (العنوان، الكاتب، المصدر)", rtl=True, elem_id="rag-doc-search")
    with gr.Accordion("حذف وثيقة من الفهرس", open=False, elem_id="rag-remove-box") as remove_box:
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
        choices = [(f"{d.title or render.shown_path(d.path)} — {d.date[:10]}", d.doc_id) for d in docs]
        a, s = _facet_updates(svc)
        page_ = min(max(1, int(page_ or 1)), render.page_count(len(docs)))
        copies = {d.cluster_id: svc.store.cluster_members(d.cluster_id)
                  for d in render.page_rows(docs, page_) if d.cluster_size > 1}
        return (render.render_stats(svc.store.stats()),
                render.render_documents(docs, page_, query=query or "", copies=copies),
                gr.update(choices=choices, value=None), a, s, page_)

    def upload(paths, request: gr.Request, progress=gr.Progress()):
        """Ingest uploaded files or zips; returns what was added, skipped and why (editors and admins)."""
        refused = denied(svc.role(request), "upload")
        if refused:
            raise gr.Error(refused)
        if not paths:
            return {"added": 0, "skipped": [], "files": []}
        paths = [paths] if isinstance(paths, str) else paths
        return ingest_uploads(svc.settings, paths, embedder=svc.embedder, store=svc.store,
                              progress=lambda f, msg: progress(f, desc=progress_text(msg)))

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
        title = (d.title or render.shown_path(d.path)) if d else doc_id
        n = d.chunks if d else 0
        return (gr.update(visible=True),
                f'<div class="rag-confirm" dir="rtl">ستُحذف «{render.esc(title)}» ومقاطعها ({n}) من الفهرس. أمتأكد؟</div>', "")

    def remove_doc(doc_id, query, page_, request: gr.Request):
        refused = denied(svc.role(request), "remove")
        if refused:
            return (*[gr.skip()] * len(outs), gr.update(visible=False), _note(refused))
        d = next((d for d in svc.store.documents() if d.doc_id == doc_id), None)
        removed = svc.store.remove_docs([doc_id]) if doc_id else 0
        note = (_note(f"حُذفت «{(d.title or render.shown_path(d.path)) if d else doc_id}» من الفهرس.", "ok") if removed
                else _note("لم تُحذف: الوثيقة لم تعد في الفهرس."))
        return (*refresh(query, page_), gr.update(visible=False), note)

    remove.click(ask_remove, pick, [confirm_row, confirm_text, remove_note], api_visibility="private")
    cancel.click(lambda: (gr.update(visible=False), ""), None, [confirm_row, remove_note], api_visibility="private")
    confirm.click(remove_doc, [pick, search, page], [*outs, confirm_row, remove_note], api_visibility="private")

    def permissions(request: gr.Request):
        role = svc.role(request)
        editor = can(role, "upload")
        note = (_note(f"دورك «{role}»: تستطيع السؤال والتقييم؛ رفع الوثائق وحذفها لدور editor أو admin.", "ok")
                if not editor else "")
        return gr.update(visible=editor), gr.update(visible=editor), gr.update(value=note, visible=not editor)

    return refresh, search, outs, (permissions, None, [upload_col, remove_box, role_note])

