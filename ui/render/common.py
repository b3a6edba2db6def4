"""Shared pieces of the HTML renderers: escaping, direction, ids, dates and meta lines, the
answer-mode badge and banner, and the sandboxed briefing frame. No Gradio import.

Safety rule: archive text (titles, authors, passages, answers quoting them) only ever reaches
HTML through `esc`, which escapes markup and also the characters front-end template engines
expand (`$`, braces, backtick), so a document holding <script> or <img onerror=...> shows as text.
"""
from __future__ import annotations

import html
import re

from rag.text.arabic import is_arabic

_EXTRA = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;", "\\": "&#92;"})
# mode -> (Arabic label, English label, Arabic explanation, English explanation)
MODE_LABELS = {
    "extractive": ("استخراجي", "extractive", "يقتبس جمل المقاطع كما كُتبت، دون نموذج لغوي",
                   "quotes the passages' own sentences, no language model"),
    "llm": ("نموذج لغوي", "LLM", "يكتب الجواب نموذج لغوي من المقاطع المسترجعة",
            "a language model writes the answer from the retrieved passages"),
}


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


def mode_badge(mode: str, arabic: bool = True) -> str:
    """The answer mode, in the language of what it labels, with what it means as its tooltip."""
    ar, en, ar_note, en_note = MODE_LABELS.get(mode, (mode, mode, "", ""))
    label, note = (ar, ar_note) if arabic else (en, en_note)
    return f'<span class="rag-mode rag-mode-{_attr_id(mode)}" title="{esc(note or label)}">{esc(label)}</span>'


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


def mode_banner(mode: str, detail: str = "") -> str:
    extra = f' <span class="rag-mode-detail" dir="ltr">{esc(detail)}</span>' if detail else ""
    return f'<div class="rag-banner" dir="rtl">وضع الإجابة: {mode_badge(mode)}{extra}</div>'


def briefing_frame(page: str) -> str:
    """A briefing page (ui.export.to_html) in a sandboxed iframe: scripts can never run there and
    its styles cannot leak into the app. Newlines stay as they are: this goes to gr.HTML, not Markdown."""
    doc = html.escape(page, quote=True).translate(_EXTRA)
    return f'<iframe class="rag-brief-frame" sandbox="allow-same-origin" title="الموجز" srcdoc="{doc}"></iframe>'


