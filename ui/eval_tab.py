"""The Evaluation tab: run a gold question set, browse its results, rate answers on the rubric,
export ratings, see inter-rater agreement, and (with an LLM configured) a faithfulness judge.

Briefing ratings (1-5 per criterion, with agreement and CSV/JSON export) are ui.eval_briefing's
section of this tab. The callbacks are plain functions of plain values, so tests drive them
without a browser;
`evaluation_tab` only lays out components and wires them. The UI owns no pipeline: runs go
through evals.run and ratings through evals.ratings; the LLM judge is ui.eval_judge.

Identity: with a login, the rater is the login name (the field shows it and cannot be edited, and
a rating under another name is refused); readers and editors see their own ratings and feedback,
admins everyone's (agreement, the judge and the CSV of all ratings are admin views). Without a
login the rater is free text, as before, and the one operator sees everything.
"""
from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr  # at module level: handlers' `request: gr.Request` hints must resolve here

from evals.briefing_ratings import BriefingRatingStore
from evals.metrics import question_metrics
from evals.ratings import (
    CRITERIA,
    Feedback,
    Rating,
    RatingStore,
    feedback_item_id,
    run_item_id,
)
from evals.run import EvalRun, run_eval
from rag.config import Settings
from rag.errors import RagError
from ui.auth import can, denied, parse_users, role_of
from ui.eval_briefing import briefing_rating_section, rating_scales
from ui.eval_judge import (  # noqa: F401  (re-exported: the tab's judge functions)
    JUDGE_SYSTEM,
    judge_agreement,
    judge_faithfulness,
    judge_messages,
    judge_name,
    judge_rated,
    llm_available,
    parse_score,
    rated_items,
)
from ui.forms import progress_text, rater_name, score_values

RESULT_HEADERS = ["المعرّف", "السؤال", "الجواب المرجعي", "الجواب", "رفض؟", "رتبة المقطع الصحيح"]
AGREEMENT_HEADERS = ["المعيار", "إجابات قيّمها اثنان فأكثر", "المقيّمون", "ألفا كريبندورف", "كابا الموزونة"]
JUDGE_HEADERS = ["الإجابة", "درجة الحَكَم", "متوسط المقيّمين"]
CRITERION_LABELS = {"correct": "صحيح", "faithful": "وفيّ للمقاطع",
                    "citations_accurate": "الاستشهادات دقيقة", "complete": "كامل"}


def ratings_path(settings: Settings) -> Path:
    """Where the app keeps ratings and chat feedback (one file per data dir)."""
    return Path(settings.data_dir) / "ratings.sqlite"


# --- running a question set -------------------------------------------------------------

def _path(value) -> Path | None:
    """A path typed in a box or an uploaded file (Gradio gives its temp path); None if empty."""
    if value is None:
        return None
    value = getattr(value, "name", value)  # older Gradio file objects
    return Path(str(value).strip()).expanduser() if str(value).strip() else None


def run_question_set(settings: Settings, questions, contexts=None, *, retrieval="hybrid",
                     analyzer="arabic", k=10, answers=True, limit=None, embedder=None,
                     progress=None) -> EvalRun:
    """Run an eval from the tab's inputs; a missing question set is a user error, said plainly."""
    q = _path(questions)
    if q is None:
        raise RagError("اختر مجموعة أسئلة: مسار ملف JSONL على الخادم أو ملفًا مرفوعًا (choose a question set)")
    limit = int(limit) if limit else None
    return run_eval(settings, q, _path(contexts), k=int(k), answers=bool(answers), retrieval=retrieval,
                    analyzer=analyzer, limit=limit, embedder=embedder, progress=progress)


def results_rows(run: EvalRun | None) -> list[list]:
    """One table row per question: id, question, gold, answer, refused, hit rank."""
    if run is None:
        return []
    rows = []
    for r in run.results:
        m = question_metrics(r)
        gold = " / ".join(r.answers) if r.answers else "(يُنتظر الرفض)"
        answer = "(استرجاع فقط)" if r.answer is None else r.answer
        refused = "" if r.answer is None else ("نعم" if r.refused else "لا")
        rank = "" if r.context_id is None else (m["hit_rank"] or "لم يُسترجع")
        rows.append([r.id, r.question, gold, answer, refused, str(rank)])
    return rows


def summary_markdown(run: EvalRun | None) -> str:
    if run is None:
        return ""
    c = run.config
    lines = [f"**{run.summary['n_questions']} سؤالًا** · الاسترجاع `{c['retrieval']}` · التحليل "
             f"`{c['analyzer']}` · k {c['k']}" + (f" · الإجابة `{c['answer_mode']}`" if c["answers"] else ""),
             "", "| المقياس | القيمة |", "|---|---|"]
    for group in ("retrieval", "answers", "leads", "citation_errors"):
        for name, v in run.summary.get(group, {}).items():
            value = "—" if v is None else str(v) if isinstance(v, int) else f"{v:.4f}"
            lines.append(f"| {metric_name(group, name)}<br>`{group}.{name}` | {value} |")
    return "\n".join(lines)


METRIC_NAMES = {"mrr": "الاسترجاع: متوسط مقلوب رتبة الصحيح", "ndcg": "الاسترجاع: الكسب التراكمي المعياري",
                "recall": "الاسترجاع: الصحيح بين الأوائل", "contains_gold": "الإجابة تحوي الجواب المرجعي",
                "f1": "تطابق كلمات الإجابة والمرجع", "citation_precision": "دقة الاستشهادات",
                "citation_recall": "الاستشهاد بالمقطع الصحيح", "refusal_recall": "رفض ما لا جواب له",
                "false_refusal_rate": "رفض ما له جواب (خطأ)", "refusal_precision": "دقة الرفض"}


LEAD_KINDS = {"date": "التاريخ (متى)", "number": "العدد (كم)", "name": "الاسم (من، ما اسم)", "place": "المكان (أين)"}
CITATION_ERROR_NAMES = {
    "cited": "عدد الاستشهادات", "other_chunk_of_gold": "استشهاد بلا جواب: مقطع آخر من الوثيقة الصحيحة",
    "wrong_doc_gold_in_top5": "استشهاد بلا جواب: وثيقة أخرى والصحيحة بين الخمسة الأوائل",
    "wrong_doc_gold_below_top5": "استشهاد بلا جواب: وثيقة أخرى والصحيحة أدنى منها",
    "gold_not_retrieved": "استشهاد بلا جواب: الوثيقة الصحيحة لم تُسترجع",
    "no_gold_document": "استشهاد بلا جواب: سؤال بلا وثيقة مرجعية"}


def metric_name(group: str, name: str) -> str:
    """A metric's Arabic name ("recall@5" -> "... عند 5"); its key stays beside it, as in `rag eval`."""
    if group == "leads":
        kind, _, what = name.partition("_")
        label = "يبدأ بجواب مختصر" if what == "led" else "صحة الجواب المختصر"
        return f"{label}: {LEAD_KINDS.get(kind, kind)}"
    if group == "citation_errors":
        return CITATION_ERROR_NAMES.get(name, name)
    base, _, at = name.partition("@")
    label = METRIC_NAMES.get(base, name)
    return f"{label} عند {at}" if at else label


# --- items to rate ------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    item_id: str
    question: str
    answer: str
    passages: tuple[str, ...]
    label: str


def visible_ratings(store: RatingStore, login: str = "", role: str = "admin") -> list[Rating]:
    """The ratings this viewer may see: everyone's for an admin, else their own."""
    return store.list() if can(role, "see_all") else store.list(rater=login or "\0")


def visible_feedback(store: RatingStore, login: str = "", role: str = "admin") -> list[Feedback]:
    """Chat feedback this viewer may see: everyone's for an admin, else their own."""
    return store.list_feedback() if can(role, "see_all") else store.list_feedback(user=login or "\0")


def rateable_items(run: EvalRun | None, store: RatingStore, login: str = "", role: str = "admin") -> dict[str, Item]:
    """Answers that can be rated: the last run's (when it produced answers) and the chat feedback
    this viewer may see (see visible_feedback)."""
    items: dict[str, Item] = {}
    for r in run.results if run is not None else ():
        if r.answer is not None:
            iid = run_item_id(run.run_id, r.id)
            items[iid] = Item(iid, r.question, r.answer, tuple(c.text for c in r.cited),
                              f"تشغيل {run.run_id} · {r.id} · {r.question[:60]}")
    for f in visible_feedback(store, login, role):
        iid = feedback_item_id(f.id)
        passages = tuple(str(c.get("text", "")) for c in f.citations if isinstance(c, dict))
        thumbs = "👍" if f.thumbs > 0 else "👎"
        items[iid] = Item(iid, f.question, f.answer, passages, f"تقييم من المحادثة {f.id} {thumbs} · {f.question[:60]}")
    return items


def item_choices(items: dict[str, Item]) -> list[tuple[str, str]]:
    return [(it.label, iid) for iid, it in items.items()]


def item_markdown(item: Item | None) -> str:
    """The question, answer and cited passages a rater judges, quoted so markup stays inert."""
    if item is None:
        return "*اختر إجابة لتقييمها.*"
    quote = lambda t: "\n".join(f"> {line}" for line in _escape(t).splitlines() or [""])  # noqa: E731
    parts = [f"**السؤال**\n\n{quote(item.question)}", f"**الجواب**\n\n{quote(item.answer)}"]
    parts += [f"**المقطع [{n}]**\n\n{quote(p)}" for n, p in enumerate(item.passages, 1)]
    return "\n\n".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def save_rating(store: RatingStore, items: dict[str, Item], rater: str, item_id: str,
                scores: Sequence, comment: str = "", login: str = "") -> str:
    """Store one rater's scores for an item; returns a status line (ValueError on bad input).
    login: the logged-in user, who is then the rater; a rating under another name is refused."""
    name = rater_name(rater, login)
    item = items.get(item_id or "")
    if item is None:
        raise ValueError("اختر إجابة لتقييمها أولًا")
    values = score_values(scores, CRITERIA, CRITERION_LABELS, name)
    store.add(Rating(rater=name, item_id=item.item_id, question=item.question,
                     answer=item.answer, comment=comment or "", **values))
    return f"حُفظ تقييم {name} للإجابة {item.item_id}."


def export_ratings(store: RatingStore, folder: str | Path | None = None, login: str = "",
                   role: str = "admin") -> Path:
    """The ratings this viewer may see (all for an admin) as a CSV file the browser can download."""
    folder = Path(folder or tempfile.mkdtemp(prefix="rag-ratings-"))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "ratings.csv"
    store.export_csv(out, rater=None if can(role, "see_all") else (login or "\0"))
    return out


def agreement_rows(store: RatingStore) -> list[list]:
    """Agreement per criterion over items that two or more raters rated."""
    rows = []
    for c in CRITERIA:
        try:
            a = store.agreement(c)
        except ImportError:  # krippendorff missing: say so rather than break the tab
            return [[CRITERION_LABELS[c], "—", "—", "يتطلب: pip install krippendorff", "—"] for c in CRITERIA]
        rows.append([CRITERION_LABELS[c], a["n_items"], a["n_raters"], _num(a["alpha"]),
                     _num(a["weighted_kappa"])])
    return rows


def _num(x) -> str:
    return "—" if x is None else f"{x:.3f}"


# --- layout -------------------------------------------------------------------------------

def evaluation_tab(settings: Settings, rating_store_path: str | Path | None = None, embedder=None,
                   llm=None, search=None) -> tuple:
    """Build the tab's components inside the caller's gr.Blocks / gr.Tab context; returns the
    page-load hook (fn, inputs, outputs) that puts the login name in the rater field and shows
    the all-raters views (agreement, judge) to admins only.

    embedder: the app's loaded embedder, so a run does not load the model a second time.
    llm: a chat model for the judge; by default built from settings on first use.
    search: the app's retriever search, to build briefings for the briefing ratings (ui.eval_briefing).
    """
    store = RatingStore(rating_store_path or ratings_path(settings))
    users = parse_users(settings.auth)

    def viewer(request) -> tuple[str, str]:
        login = (getattr(request, "username", None) or "") if request is not None else ""
        return login, role_of(users, login)
    run_state = gr.State(None)
    items_state = gr.State({})

    gr.Markdown("### تشغيل مجموعة أسئلة", rtl=True)
    run_note = gr.Markdown("", rtl=True, visible=False)
    with gr.Column() as run_box:  # shown to editors and admins (on_load); on_run checks the role itself
        with gr.Row():
            q_path = gr.Textbox(label="مجموعة الأسئلة (مسار ملف JSONL على الخادم)", scale=3, min_width=220,
                                elem_id="rag-eval-questions")
            q_upload = gr.File(label="…أو ارفع الملف", file_types=[".jsonl"], type="filepath", scale=1, min_width=160)
        with gr.Row():
            c_path = gr.Textbox(label="المقاطع المرجعية (اختياري: يبني فهرس تقييم منفصلًا)", scale=3, min_width=220,
                                elem_id="rag-eval-contexts")
            c_upload = gr.File(label="…أو ارفع الملف", file_types=[".jsonl"], type="filepath", scale=1, min_width=160)
        with gr.Row():
            retrieval = gr.Radio([("هجين", "hybrid"), ("دلالي", "dense"), ("معجمي", "lexical")], value="hybrid",
                                 label="الاسترجاع", min_width=200)
            analyzer = gr.Radio([("عربي (جذور)", "arabic"), ("بسيط", "plain")], value="arabic",
                                label="التحليل المعجمي", min_width=160)
            k = gr.Number(value=10, precision=0, minimum=1, maximum=50, label="k (عدد المقاطع)", min_width=120)
            limit = gr.Number(value=0, precision=0, minimum=0, label="عدد الأسئلة من أولها (0 = كلها)", min_width=160,
                              elem_id="rag-eval-limit")
            answers = gr.Checkbox(value=True, label="أجب عن الأسئلة أيضًا", min_width=160)
        run_btn = gr.Button("شغّل", variant="primary", elem_id="rag-eval-run")
        summary = gr.Markdown(elem_id="rag-eval-summary", rtl=True)
        table = gr.Dataframe(headers=RESULT_HEADERS, interactive=False, wrap=True, max_height=480,
                             show_search="filter", label="النتائج لكل سؤال", elem_id="rag-eval-results",
                             column_widths=["70px", "220px", "170px", "420px", "70px", "110px"])

    gr.Markdown("### تقييم الإجابات", rtl=True)
    with gr.Row():
        rater = gr.Textbox(label="اسمك", scale=1, min_width=140, rtl=True, elem_id="rag-eval-rater")
        item = gr.Dropdown(choices=[], label="الإجابة (من آخر تشغيل أو من تقييمات المحادثة)", scale=3, min_width=200)
        refresh = gr.Button("حدّث القائمة", scale=0, min_width=100)
    shown = gr.Markdown(item_markdown(None), rtl=True)
    with gr.Row():
        radios = rating_scales(CRITERIA, CRITERION_LABELS, "rag-rate-")
    comment = gr.Textbox(label="تعليق", lines=2, rtl=True)
    save = gr.Button("احفظ التقييم", variant="primary")
    status = gr.Markdown(rtl=True)

    gr.Markdown("### التقييمات", rtl=True)
    with gr.Row():
        export_btn = gr.Button("صدّر التقييمات (CSV)", min_width=160)
        export_file = gr.File(label="ratings.csv", interactive=False, min_width=160)
    agreement = gr.Dataframe(value=[], headers=AGREEMENT_HEADERS, interactive=False,
                             label="الاتفاق بين المقيّمين", elem_id="rag-eval-agreement")

    fill_briefings, briefing_outputs = briefing_rating_section(
        BriefingRatingStore(rating_store_path or ratings_path(settings)), settings, rater, viewer,
        search=search, llm=llm)

    gr.Markdown("### حَكَم الوفاء (نموذج لغوي)", rtl=True)
    can_judge = llm is not None or llm_available(settings)
    judge_btn = gr.Button("احكم على الإجابات المقيّمة", visible=can_judge)
    judge_note = gr.Markdown("" if can_judge else
                             "*يحتاج الحَكَم إلى نموذج لغوي: اضبط RAG_LLM_BASE_URL (أو RAG_GGUF_PATH).*", rtl=True)
    judge_table = gr.Dataframe(headers=JUDGE_HEADERS, interactive=False, visible=can_judge, elem_id="rag-eval-judge")

    loaded = {"embedder": embedder}

    def shared_embedder():
        """One model load for all runs in this app, not one per click."""
        if loaded["embedder"] is None:
            from rag.index.embeddings import get_embedder

            loaded["embedder"] = get_embedder(settings)
        return loaded["embedder"]

    def on_run(qp, qu, cp, cu, mode, an, kk, lim, ans, request: gr.Request, progress=gr.Progress()):
        role = viewer(request)[1]
        if not can(role, "evaluate"):  # a path names any file the server may read
            raise gr.Error(denied(role, "evaluate"))
        try:
            run = run_question_set(settings, qu or qp, cu or cp, retrieval=mode, analyzer=an, k=kk or 10,
                                   answers=ans, limit=lim, embedder=shared_embedder(),
                                   progress=lambda f, m: progress(f, desc=progress_text(m)))
        except (RagError, ValueError) as e:
            raise gr.Error(str(e)) from e
        items = rateable_items(run, store, *viewer(request))
        return (run, summary_markdown(run), results_rows(run), items,
                gr.update(choices=item_choices(items), value=None))

    def shown_agreement(role: str):
        return agreement_rows(store) if can(role, "see_all") else []

    def on_refresh(run, request: gr.Request):
        login, role = viewer(request)
        items = rateable_items(run, store, login, role)
        return items, gr.update(choices=item_choices(items)), shown_agreement(role)

    def on_save(items, who, iid, c1, c2, c3, c4, text, request: gr.Request):
        login, role = viewer(request)
        try:
            msg = save_rating(store, items, who, iid, [c1, c2, c3, c4], text, login=login)
        except ValueError as e:
            raise gr.Error(str(e)) from e
        return msg, shown_agreement(role)

    def on_export(request: gr.Request):
        return str(export_ratings(store, None, *viewer(request)))

    def on_judge(items, request: gr.Request):
        if not can(viewer(request)[1], "see_all"):
            raise gr.Error("the judge compares with every rater's scores: admins only (للمشرف فقط)")
        try:
            model = llm
            if model is None:
                from rag.answering.llm import get_chat_model

                model = get_chat_model(settings)
            stats, rows, unknown = judge_rated(model, settings, store, items)
        except RagError as e:
            raise gr.Error(str(e)) from e
        note = (f"حُكم على {stats['n_items']} إجابة مقيّمة · كابا الموزونة {_num(stats['weighted_kappa'])}"
                f" · ألفا {_num(stats['alpha'])} (مقابل متوسط درجة «وفيّ للمقاطع» عند المقيّمين)"
                f" · حُفظت الدرجات باسم {judge_name(settings)}")
        if unknown:
            note += f" · تُخطّيت {unknown} إجابة مقيّمة (مقاطعها ليست في هذه الجلسة)"
        return note, rows

    private = {"api_visibility": "private"}  # UI wiring, not part of the public API
    run_btn.click(on_run, [q_path, q_upload, c_path, c_upload, retrieval, analyzer, k, limit, answers],
                  [run_state, summary, table, items_state, item], **private)
    refresh.click(on_refresh, run_state, [items_state, item, agreement], **private)
    item.change(lambda items, iid: item_markdown(items.get(iid)), [items_state, item], shown, **private)
    save.click(on_save, [items_state, rater, item, *radios, comment], [status, agreement], **private)
    export_btn.click(on_export, None, export_file, **private)
    judge_btn.click(on_judge, items_state, [judge_note, judge_table], **private)

    def on_load(request: gr.Request):
        login, role = viewer(request)
        admin = can(role, "see_all")
        name = gr.update(value=login, interactive=False) if login else gr.update()
        runs = can(role, "evaluate")
        return (name, gr.update(value=shown_agreement(role), visible=admin), gr.update(visible=can_judge and admin),
                gr.update(visible=can_judge and admin), gr.update(visible=runs),
                gr.update(value="" if runs else denied(role, "evaluate"), visible=not runs),
                *fill_briefings(login, role))

    return on_load, None, [rater, agreement, judge_btn, judge_table, run_box, run_note, *briefing_outputs]
