"""Chat messages: answers with linked markers and source cards, refusals with their nearest
passages, the streaming placeholder, questions and errors. No Gradio import.

The chatbot's sanitizer keeps id, class, dir and href but drops data-* attributes, so markers
link to cards by id. Direction is decided per message and per card by script, so an English
answer reads left to right inside an otherwise right-to-left app.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from rag.text.arabic import sentences
from rag.types import Answer, Citation, Hit
from ui.render.clusters import also_in_label
from ui.render.common import _attr_id, _meta, direction, esc, mode_badge

_MARKER = re.compile(r"\[(\d+)\]")


def answer_id(answer: Answer) -> str:
    """Deterministic default id; the app passes a unique one per message instead."""
    return hashlib.sha1(f"{answer.question}\n{answer.text}".encode()).hexdigest()[:8]


def card_id(aid: str, n: int) -> str:
    return f"src-{_attr_id(aid)}-{n}"


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
            + _copies(c, d)
            + f'<div class="rag-context">{context_of(c.text, c.quote)}</div>'
            + _instruction_warning(c, d)
            + ("" if len(c.text) <= 320 else  # a short passage is its own context: not shown twice
               f'<details class="rag-full"><summary>{full}</summary>'
               f'<div class="rag-passage">{highlight(c.text, c.quote)}</div></details>')
            + "</div>")


def _linked_title(x) -> str:
    """A copy's title, a link to it when its address is a web one (never a script URL)."""
    title = esc(x.title or x.doc_id)
    if x.url.startswith(("http://", "https://")):
        return f'<a href="{esc(x.url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    return title


def _copies(c: Citation, d: str) -> str:
    """Who else carried the story, and its copies (title, outlet, date), folded under that line."""
    if not c.also_in:
        return ""
    items = "".join(f'<li dir="{direction(x.title)}">{_linked_title(x)} '
                    f'<span class="rag-copy-meta">({esc(" · ".join(v for v in (x.source, x.date[:10]) if v))})</span></li>'
                    for x in c.also_in)
    return (f'<details class="rag-also-in"><summary>{esc(also_in_label(c.also_in, c.source, arabic=d == "rtl"))}'
            f"</summary><ul>{items}</ul></details>")


def _instruction_warning(c: Citation, d: str) -> str:
    """A passage holding text addressed to an assistant says so: it was not used as evidence."""
    if not c.instructions:
        return ""
    head = ("تنبيه: يحوي هذا المقطع تعليمات موجهة إلى مساعد آلي، ولم تُستخدم دليلًا:" if d == "rtl" else
            "Warning: this passage holds instructions addressed to an assistant; they were not used as evidence:")
    quoted = " ".join(f"«{esc(t)}»" for t in c.instructions)
    return f'<div class="rag-instructions" role="note">{head} {quoted}</div>'


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
                f"</span>{mode_badge(answer.mode, arabic)}</div>{searched}"
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
            f'<div class="rag-head">{mode_badge(answer.mode, arabic)}</div>{searched}'
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


