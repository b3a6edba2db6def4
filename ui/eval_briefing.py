"""Briefing ratings in the Evaluation tab: a rater builds a briefing on a topic (or picks a saved
one, e.g. from the Briefing tab), reads it, scores each criterion 1-5 with an optional comment;
a table gives each criterion's mean and the agreement between raters; CSV/JSON export.

Storage is evals.briefing_ratings (the same ratings.sqlite as the answer ratings). Identity
follows the answer ratings: with a login, the rater is the login name and a rating under another
name is refused; admins see everyone's scores and agreement, others their own. The callbacks are
plain functions of plain values, so tests drive them without a browser.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gradio as gr  # at module level: handlers' `request: gr.Request` hints must resolve here

from evals.briefing_ratings import CRITERIA, BriefingRatingStore
from ui import render
from ui.auth import can
from ui.forms import progress_text, rater_name, score_values

CRITERION_LABELS = {"on_topic": "على الموضوع", "right_heading": "تحت العنوان الصحيح",
                    "coverage": "التغطية", "citations": "الاستشهادات قابلة للتحقق",
                    "readability": "سهولة القراءة"}
SUMMARY_HEADERS = ["المعيار", "المتوسط", "التقييمات", "موجزات قيّمها اثنان فأكثر", "المقيّمون",
                   "ألفا كريبندورف", "كابا الموزونة"]


def save_built(store: BriefingRatingStore, briefing, filters: dict | None = None, user: str = "") -> str:
    """Keep a built briefing (rag.types.Briefing) for rating; its id."""
    from ui.export import to_html, to_markdown

    return store.save_briefing(briefing.topic, to_markdown(briefing), to_html(briefing), filters or {}, user)


def build_for_rating(store: BriefingRatingStore, search: Callable, settings, topic: str, user: str = "",
                     llm: Any = None, progress: Callable | None = None) -> str:
    """Build the briefing on `topic` from the archive and keep it; its id (ValueError: no topic)."""
    from rag.briefing.build import build_briefing

    topic = " ".join((topic or "").split())
    if not topic:
        raise ValueError("اكتب موضوع الموجز أولًا، أو اختر موجزًا محفوظًا.")
    if search is None:
        raise ValueError("لا أرشيف مفهرس لإنشاء موجز منه (no archive to build a briefing from).")
    b = build_briefing(topic, search, settings, llm=llm, progress=progress)
    return save_built(store, b, {}, user)


def briefing_choices(store: BriefingRatingStore) -> list[tuple[str, str]]:
    """Saved briefings for the picker, newest first: topic, when, and who made it."""
    out = []
    for b in store.briefings():
        who = f" · {b.user}" if b.user else ""
        out.append((f"{b.topic} · {b.timestamp[:16].replace('T', ' ')}{who} · {b.id[-6:]}", b.id))
    return out


def briefing_view(store: BriefingRatingStore, bid: str | None) -> str:
    """The saved briefing as its readers saw it (sandboxed), or a hint to pick one."""
    saved = store.briefing(bid) if bid else None
    if saved is None:
        return '<p class="rag-note" dir="rtl">اختر موجزًا محفوظًا أو أنشئ واحدًا لتقييمه.</p>'
    if saved.html:
        return render.briefing_frame(saved.html)
    return f'<pre dir="rtl" class="rag-brief-md">{render.esc(saved.markdown)}</pre>'


def save_briefing_rating(store: BriefingRatingStore, rater: str, bid: str | None, scores: Sequence,
                         comment: str = "", login: str = "") -> str:
    """Store one rater's scores (in CRITERIA order) for a saved briefing; a status line.
    login: the logged-in user, who is then the rater; a rating under another name is refused."""
    typed = rater_name(rater, login)
    if not bid or store.briefing(bid) is None:
        raise ValueError("اختر موجزًا محفوظًا أو أنشئ واحدًا أولًا")
    store.rate(typed, bid, score_values(scores, CRITERIA, CRITERION_LABELS, typed), comment or "")
    return f"حُفظ تقييم {typed} للموجز «{store.briefing(bid).topic}»."


def visible_rater(login: str, role: str) -> str | None:
    """Whose scores this viewer may see: None (everyone's) for an admin, else their own."""
    return None if can(role, "see_all") else (login or "\0")


def summary_rows(store: BriefingRatingStore, login: str = "", role: str = "admin") -> list[list]:
    """Per criterion: mean, ratings, briefings rated by two or more, raters, alpha, kappa."""
    def num(x):
        return "—" if x is None else f"{x:.3f}"

    return [[CRITERION_LABELS[r["criterion"]], num(r["mean"]), r["n_ratings"], r["n_shared"], r["n_raters"],
             num(r["alpha"]), num(r["weighted_kappa"])]
            for r in store.summary(rater=visible_rater(login, role))]


def export_briefing_ratings(store: BriefingRatingStore, fmt: str, folder: str | Path | None = None,
                            login: str = "", role: str = "admin") -> Path:
    """The scores this viewer may see as briefing_ratings.csv or .json (with the summary)."""
    if fmt not in ("csv", "json"):
        raise ValueError(f"format must be csv or json, got {fmt!r}")
    folder = Path(folder or tempfile.mkdtemp(prefix="rag-briefing-ratings-"))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"briefing_ratings.{fmt}"
    rater = visible_rater(login, role)
    (store.export_csv if fmt == "csv" else store.export_json)(out, rater=rater)
    return out


def visible_ratings(store: BriefingRatingStore, login: str = "", role: str = "admin") -> list[dict]:
    return [asdict(r) for r in store.ratings(rater=visible_rater(login, role))]


# --- layout -------------------------------------------------------------------------------

def rating_scales(criteria: Sequence[str], labels: dict[str, str], id_prefix: str) -> list[gr.Radio]:
    """One 1-5 scale per criterion, right to left like the form (1 at the right), its five options
    compact enough for one line (app.css .rag-scale); element ids id_prefix + criterion."""
    return [gr.Radio([1, 2, 3, 4, 5], label=labels[c], min_width=200, rtl=True, elem_id=f"{id_prefix}{c}",
                     elem_classes=["rag-scale"]) for c in criteria]


def briefing_rating_section(store: BriefingRatingStore, settings, rater: gr.Textbox,
                            viewer: Callable, search: Callable | None = None, llm: Any = None) -> tuple:
    """Lay out the section inside the Evaluation tab; `rater` is the tab's rater field (the
    login name when logged in), `viewer(request) -> (login, role)`. Returns (fill, outputs):
    fill(login, role) gives the picker's and the table's values for that viewer, for the tab's
    page-load hook."""
    gr.Markdown("### تقييم الموجزات", rtl=True)
    with gr.Row():
        topic = gr.Textbox(label="موضوع الموجز", rtl=True, scale=3, min_width=200, elem_id="rag-brate-topic",
                           placeholder="مثلًا: تمويل الجماعات المتطرفة")
        make = gr.Button("أنشئ الموجز للتقييم", scale=1, min_width=140, elem_id="rag-brate-make")
    with gr.Row():
        pick = gr.Dropdown(choices=briefing_choices(store), label="…أو اختر موجزًا محفوظًا", scale=3,
                           min_width=200, elem_id="rag-brate-pick")
        refresh = gr.Button("حدّث القائمة", scale=0, min_width=100, elem_id="rag-brate-refresh")
    view = gr.HTML(briefing_view(store, None), elem_id="rag-brate-view")
    with gr.Row():
        radios = rating_scales(CRITERIA, CRITERION_LABELS, "rag-brate-")
    comment = gr.Textbox(label="تعليق على الموجز (اختياري)", lines=2, rtl=True, elem_id="rag-brate-comment")
    save = gr.Button("احفظ تقييم الموجز", variant="primary", elem_id="rag-brate-save")
    status = gr.Markdown(rtl=True, elem_id="rag-brate-status")
    gr.Markdown("#### متوسط كل معيار والاتفاق بين المقيّمين", rtl=True)
    table = gr.Dataframe(value=[], headers=SUMMARY_HEADERS, interactive=False,
                         label="تقييمات الموجزات", elem_id="rag-brate-summary")
    with gr.Row():
        csv_btn = gr.Button("صدّر تقييمات الموجزات (CSV)", min_width=160)
        json_btn = gr.Button("صدّر تقييمات الموجزات (JSON)", min_width=160)
        export_file = gr.File(label="ملف تقييمات الإحاطات", interactive=False, min_width=160)

    def on_make(text, request: gr.Request, progress=gr.Progress()):
        login, role = viewer(request)
        try:
            bid = build_for_rating(store, search, settings, text, login, llm,
                                   progress=lambda f, m: progress(f, desc=progress_text(m)))
        except ValueError as e:
            raise gr.Error(str(e)) from e
        return gr.update(choices=briefing_choices(store), value=bid), briefing_view(store, bid)

    def on_refresh(request: gr.Request):
        return gr.update(choices=briefing_choices(store)), summary_rows(store, *viewer(request))

    def on_save(who, bid, c1, c2, c3, c4, c5, text, request: gr.Request):  # one per CRITERIA
        login, role = viewer(request)
        try:
            msg = save_briefing_rating(store, who, bid, [c1, c2, c3, c4, c5], text, login=login)
        except ValueError as e:
            raise gr.Error(str(e)) from e
        return msg, summary_rows(store, login, role)

    def on_export(fmt):
        def run(request: gr.Request):
            return str(export_briefing_ratings(store, fmt, None, *viewer(request)))
        return run

    private = {"api_visibility": "private"}
    make.click(on_make, topic, [pick, view], **private)
    refresh.click(on_refresh, None, [pick, table], **private)
    pick.change(lambda bid: briefing_view(store, bid), pick, view, **private)
    save.click(on_save, [rater, pick, *radios, comment], [status, table], **private)
    csv_btn.click(on_export("csv"), None, export_file, **private)
    json_btn.click(on_export("json"), None, export_file, **private)

    def fill(login: str, role: str) -> tuple:
        return gr.update(choices=briefing_choices(store)), summary_rows(store, login, role)

    return fill, [pick, table]
