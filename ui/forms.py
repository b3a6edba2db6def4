"""Plain helpers behind the forms and the API (no Gradio): dates as typed, question limits,
filters, history from the API, the inline note every tab shows, and progress in Arabic."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from rag.types import Filters
from ui import render

MAX_QUESTION_CHARS = 2000
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
DATE_FORM = "سنة (2018) أو سنة-شهر (2018-07) أو سنة-شهر-يوم (2018-07-01)"


def normal_date(value: str) -> str:
    """A date as typed, Arabic-Indic digits and slashes made ISO ("٢٠١٨/٧/١" -> "2018-07-01");
    ValueError when it is not a year, year-month or year-month-day."""
    v = (value or "").strip().translate(_DIGITS).replace("/", "-")
    if not v:
        return ""
    m = _DATE.match(v)
    if not m:
        raise ValueError(value)
    y, mo, d = m.group(1), m.group(2), m.group(3)
    if mo is None:
        return y
    if not 1 <= int(mo) <= 12:
        raise ValueError(value)
    if d is None:
        return f"{y}-{int(mo):02d}"
    import datetime

    try:
        datetime.date(int(y), int(mo), int(d))
    except ValueError:
        raise ValueError(value) from None
    return f"{y}-{int(mo):02d}-{int(d):02d}"


DATE_FORM_EN = "a year (2018), year-month (2018-07) or year-month-day (2018-07-01)"


def date_errors(english: bool = False, **fields: str) -> list[str]:
    """One message per date field that is not a date, naming the field and the expected form
    (in English when the question is English)."""
    labels = {"since": ("من تاريخ", "From date"), "until": ("إلى تاريخ", "To date")}
    out = []
    for name, value in fields.items():
        try:
            normal_date(value)
        except ValueError:
            ar, en = labels.get(name, (name, name))
            v = (value or "").strip()
            out.append(f"“{en}” («{ar}»): “{v}” is not a date. Write it in digits: {DATE_FORM_EN}." if english else
                       f"«{ar}»: «{v}» ليس تاريخًا. اكتبه بالأرقام: {DATE_FORM}.")
    return out


def question_error(q: str) -> str:
    """Why a question cannot be asked as typed ("" when it can), in the question's language."""
    if not q:
        return "اكتب سؤالك أولًا، أو اختر أحد الأمثلة."
    if len(q) > MAX_QUESTION_CHARS:
        if render.direction(q[:500]) == "ltr":
            return (f"The question is too long ({len(q):,} characters); the limit is {MAX_QUESTION_CHARS:,}. "
                    "Shorten it to a clear question about what you are looking for in the archive.")
        return (f"السؤال طويل جدًا ({len(q):,} حرفًا)؛ الحد {MAX_QUESTION_CHARS:,} حرف. "
                "اختصره إلى سؤال واضح عمّا تبحث عنه في الأرشيف.")
    return ""


def make_filters(since: str = "", until: str = "", authors=(), sources=(), english: bool = False) -> Filters:
    """Filters from the form or the API; ValueError (naming the field) for a date that is none."""
    def many(v) -> tuple[str, ...]:
        if not v:
            return ()
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else [v]
        return tuple(str(x).strip() for x in v if str(x).strip())

    errors = date_errors(english, since=since, until=until)
    if errors:
        raise ValueError(" ".join(errors))
    return Filters(since=normal_date(since), until=normal_date(until), authors=many(authors),
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


def history_of(turns: list[dict]) -> list[tuple[str, str]]:
    return [pair for t in turns for pair in (("user", t["question"]), ("assistant", t["answer"]["answer"]))]



def note(text: str, kind: str = "error") -> str:
    """An inline message under a form: an error (announced to screen readers) or "ok"."""
    role = ' role="alert"' if kind == "error" else ""
    return f'<div class="rag-note rag-note-{kind}" dir="{render.direction(text)}"{role}>{render.esc(text)}</div>'


def rater_name(rater: str, login: str) -> str:
    """Who a rating is saved under: the logged-in user (a rating under another name is refused),
    else the name typed."""
    typed = (rater or "").strip()
    if login and typed and typed != login:
        raise ValueError(f"أنت مسجّل باسم «{login}»: يُحفظ التقييم باسمك فقط، لا باسم «{typed}» "
                         f"(logged in as {login!r}: a rating cannot be saved as {typed!r})")
    return login or typed


def score_values(scores: Sequence, criteria: Sequence[str], labels: dict[str, str], rater: str) -> dict[str, int]:
    """{criterion: 1-5} from the form's values in `criteria` order; ValueError naming what is missing."""
    if len(scores) != len(criteria) or any(s in (None, "") for s in scores):
        raise ValueError(f"قيّم كل المعايير ({'، '.join(labels[c] for c in criteria)}) من 1 إلى 5")
    if not rater:
        raise ValueError("اكتب اسمك في خانة «اسمك» قبل الحفظ (a rating needs a rater name)")
    return dict(zip(criteria, (int(s) for s in scores)))



_PROGRESS = ((re.compile(r"^(\d+)/(\d+) files: "), r"الملف \1 من \2: "),
             (re.compile(r"^questions: (\d+)/(\d+)"), r"الأسئلة: \1 من \2"))


def progress_text(message: str) -> str:
    """The core's progress messages ("index: 3/10 files: a.txt", "questions: 2/8"), which the
    terminal shows as they are, in the app's language; a file name is left as it is."""
    prefix = ""
    if message.startswith("index: "):
        prefix, message = "الفهرسة: ", message[len("index: "):]
    for pattern, arabic in _PROGRESS:
        message, n = pattern.subn(arabic, message, count=1)
        if n:
            break
    return prefix + message
