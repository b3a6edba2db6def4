"""Pure HTML rendering for the Gradio app: answers with source cards, refusals, the document
table and index facts. No Gradio import, so every rule here is unit-testable.

Safety rule: archive text (titles, authors, passages, answers quoting them) only ever reaches
HTML through `esc`, which escapes markup and also the characters front-end template engines
expand (`$`, braces, backtick), so a document holding <script> or <img onerror=...> shows as text.
The chatbot's sanitizer keeps id, class, dir and href but drops data-* attributes, so markers
link to cards by id. Direction is decided per message and per card by script (rag.text.arabic.is_arabic), so an English
answer reads left to right inside an otherwise right-to-left app.
"""
from __future__ import annotations

import hashlib
import html
import re
from typing import Iterable, Mapping, Sequence

from rag.text.arabic import is_arabic, sentences
from rag.types import Answer, Citation, DocInfo, Hit

_EXTRA = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;", "\\": "&#92;"})
_MARKER = re.compile(r"\[(\d+)\]")
MODE_LABELS = {"extractive": ("استخراجي", "extractive"), "llm": ("نموذج لغوي", "LLM")}


def esc(text: object) -> str:
    """Escape text for HTML (quotes included) and neutralise template syntax; newlines -> <br>.

    No raw newline survives: the chatbot runs messages through Markdown, and a blank line would
    end our HTML block and let Markdown reinterpret the rest.
    """
    s = html.escape("" if text is None else str(text), quote=True).translate(_EXTRA)
    return re.sub(r"\r?\n", "<br>", s)


def direction(text: str) -> str:
    return "rtl" if is_arabic(text or "") else "ltr"


def _attr_id(text: str) -> str:
    """A safe id fragment (letters, digits, dash) for element ids built from our own ids."""
    return re.sub(r"[^A-Za-z0-9-]", "", text) or "a"


def answer_id(answer: Answer) -> str:
    """Deterministic default id; the app passes a unique one per message instead."""
    return hashlib.sha1(f"{answer.question}\n{answer.text}".encode()).hexdigest()[:8]


def card_id(aid: str, n: int) -> str:
    return f"src-{_attr_id(aid)}-{n}"


def mode_badge(mode: str) -> str:
    ar, en = MODE_LABELS.get(mode, (mode, mode))
    return f'<span class="rag-mode rag-mode-{_attr_id(mode)}" title="{esc(en)}">{esc(ar)} · {esc(en)}</span>'


def date_from_name(path: str) -> str:
    """A date a file name carries (news archives often name files 2024-01-30_… or 20240130…),
    as YYYY-MM-DD; "" when there is none or it is not a plausible date."""
    name = re.split(r"[\\/]", path or "")[-1]
    m = re.search(r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)", name)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else ""


def _date_html(date: str, file_date: str = "") -> str:
    if date:
        return f'<span class="rag-date" dir="ltr">{esc(date[:10])}</span>'
    if file_date:
        return (f'<span class="rag-date rag-date-guess" dir="ltr" title="من اسم الملف">{esc(file_date)}</span>'
                '<span class="rag-guess"> (من اسم الملف)</span>')
    return ""


def _meta(date: str, author: str, source: str, file_date: str = "") -> str:
    parts = [_date_html(date, file_date),
             f'<span class="rag-author">{esc(author)}</span>' if author else "",
             f'<span class="rag-source">{esc(source)}</span>' if source else ""]
    return '<div class="rag-meta">' + " · ".join(p for p in parts if p) + "</div>"


def highlight(text: str, quote: str) -> str:
    """Escape `text`, wrapping the cited sentence(s) in <mark>; unfound quotes mark nothing."""
    spans: list[tuple[int, int]] = []
    quote = (quote or "").strip()
    if quote:
        at = text.find(quote)
        if at >= 0:
            spans.append((at, at + len(quote)))
        else:
            for s, e in sentences(quote):
                piece = quote[s:e]
                at = text.find(piece)
                if at >= 0 and len(piece) > 3:
                    spans.append((at, at + len(piece)))
    spans.sort()
    out, pos = [], 0
    for s, e in spans:
        if s < pos:
            continue
        out.append(esc(text[pos:s]))
        out.append(f"<mark>{esc(text[s:e])}</mark>")
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def _linked(text: str, aid: str, numbers: set[int]) -> str:
    """Escaped answer text with each valid [n] turned into a link to its source card."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        target = card_id(aid, n)
        return f'<a class="rag-cite" href="#{target}">[{n}]</a>'

    return _MARKER.sub(link, esc(text))


def context_of(text: str, quote: str, around: int = 160) -> str:
    """The cited sentence(s) with a little text either side, escaped and highlighted; the whole
    passage when no quote is found in it (so the card never shows nothing)."""
    quote = (quote or "").strip()
    at = text.find(quote) if quote else -1
    if at < 0 and quote:
        found = [text.find(quote[s:e]) for s, e in sentences(quote) if len(quote[s:e]) > 3]
        found = [f for f in found if f >= 0]
        at = min(found) if found else -1
    if at < 0:
        short = text if len(text) <= 2 * around else text[: 2 * around].rsplit(" ", 1)[0] + "…"
        return esc(short)
    start = max(0, at - around)
    end = min(len(text), at + len(quote) + around)
    if start > 0:
        sp = text.find(" ", start, at)
        start = sp + 1 if sp >= 0 else start
    if end < len(text):
        sp = text.rfind(" ", at + len(quote), end)
        end = sp if sp > 0 else end
    piece = highlight(text[start:end], quote)
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def source_card(c: Citation, aid: str, file_date: str = "") -> str:
    """A cited source: title, date/author/source, the cited sentence in its immediate context, and
    the whole passage collapsed (the answer already quotes it, so it is not shown twice)."""
    d = direction(f"{c.title} {c.text}")
    target = card_id(aid, c.n)
    full = "النص الكامل للمقطع" if d == "rtl" else "Full passage"
    return (f'<div class="rag-card" id="{target}" dir="{d}">'
            f'<div class="rag-card-head"><span class="rag-n">{c.n}</span>'
            f'<span class="rag-title">{esc(c.title or c.doc_id)}</span></div>'
            f"{_meta(c.date, c.author, c.source, file_date)}"
            f'<div class="rag-context">{context_of(c.text, c.quote)}</div>'
            + ("" if len(c.text) <= 320 else  # a short passage is its own context: not shown twice
               f'<details class="rag-full"><summary>{full}</summary>'
               f'<div class="rag-passage">{highlight(c.text, c.quote)}</div></details>')
            + "</div>")


def _nearest_card(h: Hit, file_date: str = "") -> str:
    ch = h.chunk
    text = ch.text if len(ch.text) <= 300 else ch.text[:300].rsplit(" ", 1)[0] + "…"
    return (f'<div class="rag-card rag-near" dir="{direction(ch.title + " " + ch.text)}">'
            f'<div class="rag-card-head"><span class="rag-title">{esc(ch.title or ch.doc_id)}</span></div>'
            f"{_meta(ch.date, ch.author, ch.source, file_date)}<div class=\"rag-passage\">{esc(text)}</div></div>")


def nearest_by_document(hits: Sequence[Hit], limit: int = 3) -> list[Hit]:
    """The nearest passages of a refusal, one per document (its best), at most `limit`."""
    seen, out = set(), []
    for h in hits:
        if h.chunk.doc_id in seen:
            continue
        seen.add(h.chunk.doc_id)
        out.append(h)
        if len(out) == limit:
            break
    return out


def searched_as(answer: Answer) -> str:
    """What was searched when it differs from what was asked (a follow-up made standalone, a
    misspelt word repaired), so the reader can tell; "" otherwise."""
    s = answer.standalone_question
    if not s or " ".join(s.split()) == " ".join(answer.question.split()):
        return ""
    return f"{'بحثنا عن' if direction(answer.question) == 'rtl' else 'Searched for'}: «{s}»"


def render_answer(answer: Answer, aid: str | None = None, file_dates: Mapping[str, str] | None = None) -> str:
    """One assistant message: answer with linked markers and source cards, or a refusal.

    A refusal says so first and keeps its nearest passages (one per document) collapsed, so the
    refusal itself reads without scrolling. file_dates: doc_id -> a date from its file name, shown
    (marked as such) where a document has no date of its own."""
    fd = file_dates or {}
    aid = _attr_id(aid or answer_id(answer))
    d = direction(answer.text or answer.question)
    arabic = d == "rtl"
    note = searched_as(answer)
    searched = f'<div class="rag-searched">{esc(note)}</div>' if note else ""
    if answer.refused:
        label = "أقرب المقاطع في الأرشيف" if arabic else "Nearest passages in the archive"
        near_hits = nearest_by_document(answer.nearest)
        near = "".join(_nearest_card(h, fd.get(h.chunk.doc_id, "")) for h in near_hits)
        return (f'<div class="rag-msg rag-refusal" id="ans-{aid}" dir="{d}">'
                f'<div class="rag-head"><span class="rag-refusal-tag">{"لا جواب في الأرشيف" if arabic else "No answer in the archive"}'
                f"</span>{mode_badge(answer.mode)}</div>{searched}"
                f'<div class="rag-text">{esc(answer.text)}</div>'
                + (f'<details class="rag-nearest"><summary>{label} ({len(near_hits)})</summary>{near}</details>' if near else "")
                + "</div>")
    numbers = {c.n for c in answer.citations}
    label = "المصادر" if arabic else "Sources"
    cards = "".join(source_card(c, aid, fd.get(c.doc_id, "")) for c in answer.citations)
    flagged = ""
    if answer.flagged:
        flagged = (f'<div class="rag-flagged">{"حُذفت ادعاءات بلا استشهاد صحيح" if arabic else "Claims without a valid citation were dropped"}'
                   f": {len(answer.flagged)}</div>")
    return (f'<div class="rag-msg rag-answer" id="ans-{aid}" dir="{d}">'
            f'<div class="rag-head">{mode_badge(answer.mode)}</div>{searched}'
            f'<div class="rag-text">{_linked(answer.text, aid, numbers)}</div>{flagged}'
            f'<div class="rag-sources"><div class="rag-sources-label">{label}</div>{cards}</div></div>')


def render_streaming(text: str, question: str = "") -> str:
    """The partial answer while it streams: plain escaped text, no links yet."""
    d = direction(text or question)
    if not text:  # retrieval under way: say so rather than show a bare cursor
        wait = "أبحث في الأرشيف…" if d == "rtl" else "Searching the archive…"
        return f'<div class="rag-msg rag-streaming rag-searching" dir="{d}"><div class="rag-text">{wait}</div></div>'
    return f'<div class="rag-msg rag-streaming" dir="{d}"><div class="rag-text">{esc(text)}▍</div></div>'


def render_question(question: str) -> str:
    return f'<div class="rag-msg rag-question" dir="{direction(question)}">{esc(question)}</div>'


def render_error(message: str) -> str:
    return f'<div class="rag-msg rag-error" dir="{direction(message)}">{esc(message)}</div>'


PAGE_SIZE = 25


def page_count(n_rows: int, per_page: int = PAGE_SIZE) -> int:
    return max(1, -(-n_rows // per_page))


def render_documents(rows: Sequence[DocInfo], page: int = 1, per_page: int = PAGE_SIZE, query: str = "") -> str:
    """The archive table, one page of it: one row per document, every cell escaped, direction per
    cell. It scrolls sideways inside its own box on a narrow screen; the id column is secondary
    (hidden on phones by the stylesheet). `query`: the search that produced `rows`, so an empty
    result says "no match" rather than "empty archive"."""
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
        title = r.title or r.path
        date = _date_html(r.date, "" if r.date else date_from_name(r.path))
        body.append(f'<tr><td class="rag-col-title" dir="{direction(title)}">{esc(title)}</td>'
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
    (r"^document id (.*) is already used by (.*); give records unique ids$",
     lambda m: f"المعرّف {m.group(1)} مستخدم في {m.group(2)}؛ اجعل المعرّفات فريدة"),
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
    return (f'<div class="rag-summary" dir="rtl"><div>{head}</div>'
            + (f'<div class="rag-sub">في الفهرس الآن من هذا الرفع:</div><ul class="rag-added">{added}</ul>' if added else "")
            + (f'<div class="rag-sub">بلا تغيير (موجود في الفهرس بالمحتوى نفسه):</div><ul class="rag-same">{same}</ul>' if same else "")
            + (f'<div class="rag-sub">لم يُدخل:</div><ul class="rag-skipped">{skipped}</ul>' if skipped else "")
            + "</div>")


def mode_banner(mode: str, detail: str = "") -> str:
    extra = f' <span class="rag-mode-detail" dir="ltr">{esc(detail)}</span>' if detail else ""
    return f'<div class="rag-banner" dir="rtl">وضع الإجابة: {mode_badge(mode)}{extra}</div>'


def briefing_frame(page: str) -> str:
    """A briefing page (ui.export.to_html) in a sandboxed iframe: scripts can never run there and
    its styles cannot leak into the app. Newlines stay as they are: this goes to gr.HTML, not Markdown."""
    doc = html.escape(page, quote=True).translate(_EXTRA)
    return f'<iframe class="rag-brief-frame" sandbox="allow-same-origin" title="briefing" srcdoc="{doc}"></iframe>'


def plain_rows(rows: Iterable[DocInfo]) -> list[dict]:
    """Documents as JSON-friendly dicts (API). No "path" key: gradio_client would take such a dict
    for a file to download."""
    return [{"doc_id": r.doc_id, "title": r.title, "date": r.date, "author": r.author,
             "source": r.source, "chunks": r.chunks, "file_path": r.path, "ingested_at": r.ingested_at}
            for r in rows]
