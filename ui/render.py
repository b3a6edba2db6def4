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


def _meta(date: str, author: str, source: str) -> str:
    parts = [f'<span class="rag-date">{esc(date[:10])}</span>' if date else "",
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


def source_card(c: Citation, aid: str) -> str:
    d = direction(f"{c.title} {c.text}")
    target = card_id(aid, c.n)
    return (f'<div class="rag-card" id="{target}" dir="{d}">'
            f'<div class="rag-card-head"><span class="rag-n">{c.n}</span>'
            f'<span class="rag-title">{esc(c.title or c.doc_id)}</span></div>'
            f"{_meta(c.date, c.author, c.source)}"
            f'<div class="rag-passage">{highlight(c.text, c.quote)}</div></div>')


def _nearest_card(h: Hit) -> str:
    ch = h.chunk
    text = ch.text if len(ch.text) <= 400 else ch.text[:400] + "…"
    return (f'<div class="rag-card rag-near" dir="{direction(ch.title + " " + ch.text)}">'
            f'<div class="rag-card-head"><span class="rag-title">{esc(ch.title or ch.doc_id)}</span></div>'
            f"{_meta(ch.date, ch.author, ch.source)}<div class=\"rag-passage\">{esc(text)}</div></div>")


def searched_as(answer: Answer) -> str:
    """What was searched when it differs from what was asked (a follow-up made standalone, a
    misspelt word repaired), so the reader can tell; "" otherwise."""
    s = answer.standalone_question
    if not s or " ".join(s.split()) == " ".join(answer.question.split()):
        return ""
    return f"{'بحثنا عن' if direction(answer.question) == 'rtl' else 'Searched for'}: «{s}»"


def render_answer(answer: Answer, aid: str | None = None) -> str:
    """One assistant message: answer with linked markers and source cards, or a refusal."""
    aid = _attr_id(aid or answer_id(answer))
    d = direction(answer.text or answer.question)
    arabic = d == "rtl"
    note = searched_as(answer)
    searched = f'<div class="rag-searched">{esc(note)}</div>' if note else ""
    if answer.refused:
        label = "أقرب المقاطع في الأرشيف" if arabic else "Nearest passages in the archive"
        near = "".join(_nearest_card(h) for h in answer.nearest[:5])
        return (f'<div class="rag-msg rag-refusal" id="ans-{aid}" dir="{d}">'
                f'<div class="rag-head"><span class="rag-refusal-tag">{"لا جواب في الأرشيف" if arabic else "No answer in the archive"}'
                f"</span>{mode_badge(answer.mode)}</div>{searched}"
                f'<div class="rag-text">{esc(answer.text)}</div>'
                + (f'<details class="rag-nearest" open><summary>{label}</summary>{near}</details>' if near else "")
                + "</div>")
    numbers = {c.n for c in answer.citations}
    label = "المصادر" if arabic else "Sources"
    cards = "".join(source_card(c, aid) for c in answer.citations)
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
    return f'<div class="rag-msg rag-streaming" dir="{d}"><div class="rag-text">{esc(text)}▍</div></div>'


def render_question(question: str) -> str:
    return f'<div class="rag-msg rag-question" dir="{direction(question)}">{esc(question)}</div>'


def render_error(message: str) -> str:
    return f'<div class="rag-msg rag-error" dir="{direction(message)}">{esc(message)}</div>'


def render_documents(rows: Sequence[DocInfo]) -> str:
    """The archive table: one row per document, every cell escaped, direction per cell."""
    if not rows:
        return '<div class="rag-empty" dir="rtl">لا توجد وثائق في الفهرس بعد.</div>'
    head = "".join(f"<th>{h}</th>" for h in ("العنوان", "التاريخ", "الكاتب", "المصدر", "المقاطع", "المعرّف"))
    body = []
    for r in rows:
        cells = [(r.title or r.path), r.date[:10], r.author, r.source]
        tds = "".join(f'<td dir="{direction(c)}">{esc(c)}</td>' for c in cells)
        body.append(f"<tr>{tds}<td>{int(r.chunks)}</td><td dir=\"ltr\"><code>{esc(r.doc_id)}</code></td></tr>")
    return (f'<table class="rag-docs" dir="rtl"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>'
            f'<div class="rag-count" dir="rtl">{len(rows)} وثيقة</div>')


def render_stats(stats: Mapping) -> str:
    """Index facts: documents, chunks, embedding model, last ingest."""
    items = [("الوثائق", stats.get("documents", 0)), ("المقاطع", stats.get("chunks", 0)),
             ("نموذج التضمين", stats.get("embedding_model") or "—"),
             ("آخر إدخال", stats.get("last_ingest") or "—")]
    cells = "".join(f'<div class="rag-stat"><div class="rag-stat-label">{esc(k)}</div>'
                    f'<div class="rag-stat-value" dir="ltr">{esc(v)}</div></div>' for k, v in items)
    return f'<div class="rag-stats" dir="rtl">{cells}</div>'


def render_ingest_summary(summary: Mapping) -> str:
    """What an upload added, skipped and why."""
    if not summary:
        return ""
    counts = [("أضيفت", summary.get("added", 0)), ("حُدّثت", summary.get("updated", 0)),
              ("بلا تغيير", summary.get("unchanged", 0)), ("تُخطّيت", len(summary.get("skipped", ())))]
    head = " · ".join(f"{k}: {esc(v)}" for k, v in counts)
    head += f" · مقاطع جديدة: {esc(summary.get('chunks', 0))}"
    skipped = "".join(f'<li><code dir="ltr">{esc(s.get("name", ""))}</code>: <span dir="ltr">{esc(s.get("reason", ""))}</span></li>'
                      for s in summary.get("skipped", ()))
    added = "".join(f'<li dir="{direction(d.get("title", ""))}">{esc(d.get("title") or d.get("doc_id", ""))}</li>'
                    for d in summary.get("documents", ()))
    return (f'<div class="rag-summary" dir="rtl"><div>{head}</div>'
            + (f'<div class="rag-sub">في الفهرس الآن من هذا الرفع:</div><ul class="rag-added">{added}</ul>' if added else "")
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
