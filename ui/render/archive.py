"""The archive tab's HTML: the paged document table, index facts, the ingest summary (skip
reasons in Arabic), and documents as plain rows for the API. No Gradio import."""
from __future__ import annotations

import pathlib
import re
from collections.abc import Iterable, Mapping, Sequence

from rag.types import DocInfo
from ui.render.common import _date_html, date_from_name, direction, esc

PAGE_SIZE = 25


def page_count(n_rows: int, per_page: int = PAGE_SIZE) -> int:
    return max(1, -(-n_rows // per_page))


def page_rows(rows: Sequence[DocInfo], page: int = 1, per_page: int = PAGE_SIZE) -> Sequence[DocInfo]:
    """The rows one page of the table shows (the tab looks up their copies)."""
    page = min(max(1, int(page or 1)), page_count(len(rows), per_page))
    return rows[(page - 1) * per_page: page * per_page]


def _copies_html(r: DocInfo, copies: Mapping[str, Sequence[DocInfo]]) -> str:
    """A story carried more than once: how many copies, and each one (title, outlet, date) to open."""
    others = [d for d in copies.get(r.cluster_id, ()) if d.doc_id != r.doc_id]
    if r.cluster_size <= 1 or not others:
        return ""
    items = "".join(f'<li dir="{direction(d.title)}">{esc(d.title or shown_path(d.path))}'
                    f' <span class="rag-copy-meta">({esc(" · ".join(x for x in (d.source, d.date[:10]) if x))})</span>'
                    f' <code dir="ltr">{esc(d.doc_id)}</code></li>' for d in others)
    return (f'<details class="rag-copies"><summary>نُشرت القصة في {r.cluster_size} نسخ</summary>'
            f"<ul>{items}</ul></details>")


def render_documents(rows: Sequence[DocInfo], page: int = 1, per_page: int = PAGE_SIZE, query: str = "",
                     copies: Mapping[str, Sequence[DocInfo]] | None = None) -> str:
    """The archive table, one page of it: one row per document, every cell escaped, direction per
    cell. It scrolls sideways inside its own box on a narrow screen; the id column is secondary
    (hidden on phones by the stylesheet). `query`: the search that produced `rows`, so an empty
    result says "no match" rather than "empty archive". `copies`: cluster id -> its documents, for
    the rows whose story was carried more than once."""
    if not rows:
        if query.strip():
            return f'<div class="rag-empty" dir="rtl">لا وثيقة تطابق «{esc(query.strip())}».</div>'
        return '<div class="rag-empty" dir="rtl">لا توجد وثائق في الفهرس بعد.</div>'
    pages = page_count(len(rows), per_page)
    page = min(max(1, int(page or 1)), pages)
    shown = rows[(page - 1) * per_page: page * per_page]
    heads = (("العنوان", "rag-col-title"), ("التاريخ", "rag-col-date"), ("الكاتب", "rag-col-author"),
             ("المصدر", "rag-col-source"), ("المقاطع", "rag-col-n"), ("المعرّف", "rag-col-id"))
    head = "".join(f'<th class="{c}">{h}</th>' for h, c in heads)
    body = []
    for r in shown:
        title = r.title or shown_path(r.path)
        date = _date_html(r.date, "" if r.date else date_from_name(r.path))
        body.append(f'<tr><td class="rag-col-title" dir="{direction(title)}">{esc(title)}'
                    f"{_copies_html(r, copies or {})}</td>"
                    f'<td class="rag-col-date">{date}</td>'
                    f'<td class="rag-col-author" dir="{direction(r.author)}">{esc(r.author)}</td>'
                    f'<td class="rag-col-source" dir="{direction(r.source)}">{esc(r.source)}</td>'
                    f'<td class="rag-col-n">{int(r.chunks)}</td>'
                    f'<td class="rag-col-id" dir="ltr"><code>{esc(r.doc_id)}</code></td></tr>')
    first = (page - 1) * per_page + 1
    count = f"{len(rows)} وثيقة" + (f" · الصفحة {page} من {pages} (الوثائق {first}–{first + len(shown) - 1})"
                                     if pages > 1 else "")
    return (f'<div class="rag-docs-wrap" dir="rtl"><table class="rag-docs" dir="rtl"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>'
            f'<div class="rag-count" dir="rtl">{count}</div>')


def _when(iso: str) -> str:
    """"2026-12-01T14:40:54.123+00:00" -> "2026-12-01 14:40" (other text unchanged)."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})", iso)
    return f"{m.group(1)} {m.group(2)}" if m else iso


def render_stats(stats: Mapping) -> str:
    """Index facts: documents, chunks, embedding model, last ingest."""
    items = [("الوثائق", stats.get("documents", 0)), ("المقاطع", stats.get("chunks", 0)),
             ("نموذج التضمين", stats.get("embedding_model") or "—"),
             ("آخر إدخال", _when(stats.get("last_ingest") or "") or "—")]
    cells = "".join(f'<div class="rag-stat"><div class="rag-stat-label">{esc(k)}</div>'
                    f'<div class="rag-stat-value" dir="ltr">{esc(v)}</div></div>' for k, v in items)
    return f'<div class="rag-stats" dir="rtl">{cells}</div>'


_REASONS = [  # the upload and ingest reasons, in Arabic for the summary (the API keeps the English)
    (r"^unsupported file type(?:; allowed: (.*))?$", lambda m: "نوع ملف غير مدعوم" + (f"؛ المسموح: {m.group(1)}" if m.group(1) else "")),
    (r"^not a readable file$", lambda m: "ملف لا يمكن قراءته"),
    (r"^larger than the (\d+) MB limit$", lambda m: f"أكبر من الحد المسموح ({m.group(1)} م.ب)"),
    (r"^nested archives are not extracted$", lambda m: "لا تُفك الأرشيفات المتداخلة"),
    (r"^already in the index \(same content as (.*)\)$", lambda m: f"موجود في الفهرس بالمحتوى نفسه ({m.group(1)})"),
    (r"^archive rejected: (.*)$", lambda m: "رُفض الأرشيف: " + arabic_reason(m.group(1))),
    (r".*points outside the upload folder.*", lambda m: "مسار يشير إلى خارج مجلد الرفع (اجتياز مسار)"),
    (r".*is a symbolic link$", lambda m: "رابط رمزي"),
    (r"^more than (\d+) files in one archive$", lambda m: f"أكثر من {m.group(1)} ملف في أرشيف واحد"),
    (r"^unpacks to more than (\d+) MB$", lambda m: f"يتجاوز بعد فكّه {m.group(1)} م.ب"),
    (r"^File is not a zip file$", lambda m: "ليس ملف zip صالحًا"),
    (r"^no text left after cleaning.*", lambda m: "لا نص بعد التنظيف؛ لا شيء للفهرسة"),
]


def arabic_reason(reason: str) -> str:
    """A skip reason in Arabic when we know its form; otherwise the original."""
    for pattern, say in _REASONS:
        m = re.match(pattern, reason or "")
        if m:
            return say(m)
    return reason or ""


def render_ingest_summary(summary: Mapping) -> str:
    """What an upload added, skipped and why (reasons in Arabic, the original as a tooltip)."""
    if not summary:
        return ""
    counts = [("أضيفت", summary.get("added", 0)), ("حُدّثت", summary.get("updated", 0)),
              ("بلا تغيير", summary.get("unchanged", 0)), ("تُخطّيت", len(summary.get("skipped", ())))]
    head = " · ".join(f"{k}: {esc(v)}" for k, v in counts)
    head += f" · مقاطع جديدة: {esc(summary.get('chunks', 0))}"
    skipped = "".join(f'<li><code dir="ltr">{esc(s.get("name", ""))}</code>: '
                      f'<span dir="{direction(arabic_reason(s.get("reason", "")))}" title="{esc(s.get("reason", ""))}">'
                      f'{esc(arabic_reason(s.get("reason", "")))}</span></li>'
                      for s in summary.get("skipped", ()))
    added = "".join(f'<li dir="{direction(d.get("title", ""))}">{esc(d.get("title") or d.get("doc_id", ""))}</li>'
                    for d in summary.get("documents", ()))
    same = "".join(f'<li><code dir="ltr">{esc(u.get("name", ""))}</code>: {esc(u.get("title", ""))}</li>'
                   for u in summary.get("same", ()))
    notices = "".join(f'<li><code dir="ltr">{esc(n.get("name", ""))}</code>: {_id_notice(n)}</li>'
                      for n in summary.get("notices", ()))
    return (f'<div class="rag-summary" dir="rtl"><div>{head}</div>'
            + (f'<div class="rag-sub">في الفهرس الآن من هذا الرفع:</div><ul class="rag-added">{added}</ul>' if added else "")
            + (f'<div class="rag-sub">بلا تغيير (موجود في الفهرس بالمحتوى نفسه):</div><ul class="rag-same">{same}</ul>' if same else "")
            + (f'<div class="rag-sub">أُدخل بمعرّف آخر (معرّفه مستخدم لوثيقة أخرى بقيت كما هي):</div>'
               f'<ul class="rag-notices">{notices}</ul>' if notices else "")
            + (f'<div class="rag-sub">لم يُدخل:</div><ul class="rag-skipped">{skipped}</ul>' if skipped else "")
            + "</div>")


def _id_notice(n: Mapping) -> str:
    """A record stored under a scoped id, in Arabic: whose id it gave, who keeps it, its new id."""
    rid, kept, doc_id = (f'<code dir="ltr">{esc(n.get(k, ""))}</code>' for k in ("record_id", "kept", "doc_id"))
    return f"المعرّف {rid} مستخدم لوثيقة من {kept} بقيت كما هي؛ حُفظ هذا السجل بالمعرّف {doc_id}"


def shown_path(path: str) -> str:
    """A document's path as a user may see it: relative to its archive, never the server's layout.
    An upload is named from inside its upload folder (<data_dir>/uploads/<stamp>/...); a file of an
    ingested folder by its last two parts ("ant5000/articles/x.txt" -> "articles/x.txt")."""
    parts = pathlib.PurePath(path).parts
    if "uploads" in parts:
        at = len(parts) - 1 - parts[::-1].index("uploads")
        if len(parts) > at + 2:
            return "/".join(parts[at + 2:])
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


def plain_rows(rows: Iterable[DocInfo]) -> list[dict]:
    """Documents as JSON-friendly dicts (API). No "path" key: gradio_client would take such a dict
    for a file to download; "file_path" is shown relative to the archive."""
    return [{"doc_id": r.doc_id, "title": r.title, "date": r.date, "author": r.author,
             "source": r.source, "chunks": r.chunks, "file_path": shown_path(r.path), "ingested_at": r.ingested_at,
             "cluster_id": r.cluster_id, "cluster_size": r.cluster_size}
            for r in rows]
