"""The app as a new user meets it, in headless Chromium at a laptop and a phone size, with the
browser set to English: the page is Arabic and right to left anyway, no English string of Gradio's
is left on any tab, nothing is wider than the screen, every control has an accessible name,
the rating comment goes with the message rated, the Evaluation run works as loaded and a
briefing can be built, read and rated there, a re-upload is reported unchanged, a refusal reads
without scrolling and an invalid date is a visible error naming the field. Screenshots of each
tab land in test-artifacts/ (gitignored)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.ratings import RatingStore
from tests.evals.test_run import CONTEXTS, QUESTIONS
from tests.ingest.test_pipeline import make_archive, write_article
from tests.ui.test_app import running_app
from tests.ui.test_browser import ARTIFACTS, CHROMIUM
from ui.eval_tab import ratings_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} missing: apt-get install chromium (Debian package)"),
]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
TABS = {"chat": "المحادثة", "archive": "الأرشيف", "briefing": "الموجز", "evaluation": "التقييم"}

# Elements sticking out of the screen sideways; what scrolls inside its own box (the archive
# table) or is deliberately off-screen (the closed side panel) does not count.
OVERFLOW = """() => {
  const W = document.documentElement.clientWidth, out = [];
  const clipped = (el) => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
    return false; };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('.sidebar, .rag-preview')) continue;
    if ((r.right > W + 1 || r.left < -1) && !clipped(el))
      out.push(`${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return {scroll: document.documentElement.scrollWidth, width: W, out: out.slice(0, 8)};
}"""

# Visible form controls without an accessible name (or with Gradio's generic "Textbox").
UNNAMED = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('input, textarea, select, button')) {
    const r = el.getBoundingClientRect();
    if (el.type === 'hidden' || !r.width || !r.height || r.right <= 0 || r.left >= window.innerWidth) continue;
    let name = el.getAttribute('aria-label') || '';
    const by = el.getAttribute('aria-labelledby');
    if (!name && by) name = by.split(' ').map((i) => (document.getElementById(i) || {}).textContent || '').join(' ');
    if (!name && el.labels && el.labels.length) name = [...el.labels].map((l) => l.textContent).join(' ');
    if (!name && el.tagName === 'BUTTON') name = el.textContent;
    if (!name) name = el.title || '';
    name = name.trim();
    if (!name || /^(Textbox|Number|Dropdown|Radio|Checkbox|File)$/i.test(name)) bad.push(el.outerHTML.slice(0, 140) + " in #" + (el.closest("[id]") || {}).id);
  }
  return bad;
}"""

# Latin-script words the page shows or labels with (visible text, and the aria-label / title /
# placeholder / alt of visible elements): none may remain but technical names, file names, and
# words of document content and user data (any word that occurs inside DATA is allowed anywhere,
# e.g. in a message's label). So an English string of Gradio's, with or without an i18n key,
# fails here whatever it is.
DATA = (".rag-msg .rag-text, .rag-question, .rag-card, .rag-near, .rag-preview, table.rag-docs, .rag-stat-value, "
        ".rag-summary li, .rag-confirm b, #rag-eval-results .body-cell, #rag-eval-results tbody, #rag-history label, code, .rag-mode-detail, "
        "#rag-files .file-preview, textarea, input")
LATIN = """(data) => {
  const word = /[A-Za-z0-9_.\\/-]*[A-Za-z][A-Za-z0-9_.\\/-]*/g;
  const vis = (el) => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && r.right > 0
      && r.left < window.innerWidth && !el.closest('[aria-hidden=true]'); };
  const allowed = new Set(), shown = [];
  for (const el of document.querySelectorAll(data)) {
    for (const w of ((el.textContent || '') + ' ' + (el.value || '')).match(word) || []) allowed.add(w);
  }
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, ' + data) || !vis(el)) continue;
    for (const w of n.nodeValue.match(word) || []) shown.push([w, 'text', n.nodeValue.trim().slice(0, 60)]);
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    if (!vis(el)) continue;
    for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
      const v = el.getAttribute(a) || '';
      for (const w of v.match(word) || []) shown.push([w, a, v.slice(0, 60)]);
    }
  }
  return shown.filter(([w]) => !allowed.has(w));
}"""
TECHNICAL = {"PDF", "DOCX", "API", "MCP", "JSON", "JSONL", "CSV", "zip", "LLM", "k"}  # k: RAG_K, recall@k


def _latin(page) -> list:
    """The Latin-script words left in the page's UI (see LATIN), less the technical names."""
    return [hit for hit in page.evaluate(LATIN, DATA)
            if hit[0] not in TECHNICAL and not re.fullmatch(r"RAG_[A-Z_]+|[\w.-]+\.(csv|jsonl?|txt|md|pdf|docx|zip)", hit[0])]


IN_CHAT_VIEW = """(sel) => {
  const el = [...document.querySelectorAll(sel)].pop();
  if (!el) return null;
  const r = el.getBoundingClientRect();
  let box = el.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 2 && /auto|scroll/.test(getComputedStyle(box).overflowY)))
    box = box.parentElement;
  const b = box ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
  const cx = r.left + Math.min(r.width, 40) / 2, cy = r.top + r.height / 2;
  const hit = document.elementFromPoint(cx, cy);
  return {top: r.top, bottom: r.bottom, boxTop: b.top, boxBottom: b.bottom, winH: window.innerHeight,
          covered: !(hit && (el === hit || el.contains(hit)))};
}"""


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _check_layout(page, size: str, tab: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / f"ui-{tab}-{size}.png"), full_page=True)
    o = page.evaluate(OVERFLOW)
    assert o["scroll"] <= o["width"] + 1 and not o["out"], (tab, o)
    assert page.evaluate(UNNAMED) == [], tab
    left = _latin(page)
    assert left == [], (tab, left)


@pytest.mark.parametrize("size", list(SIZES))
def test_each_tab_as_a_new_user_meets_it(settings, tmp_path, browser, size):
    ARTIFACTS.mkdir(exist_ok=True)
    w, h = SIZES[size]
    archive = make_archive(tmp_path / "arch", n=8)
    (archive / "news").mkdir()
    for i in range(32):  # news without a manifest, dated only by their file names; a second table page
        (archive / "news" / f"2021-03-{i % 28 + 1:02d}_news-{i}.txt").write_text(
            f"خبر رقم {i} عن الدعاية الرقمية\n\nيتناول هذا الخبر رقم {i} الدعاية الرقمية في المنطقة وأثرها على الشباب.\n",
            encoding="utf-8")
    q = _jsonl(tmp_path / "q.jsonl", [{"id": i, "question": t, "answers": a, "context_id": c, "context": None}
                                      for i, t, a, c in QUESTIONS])
    c = _jsonl(tmp_path / "c.jsonl", [{"context_id": i, "title": t, "text": x} for i, t, x in CONTEXTS])
    upload = write_article(tmp_path / "up", "مقال-مرفوع.txt", "مقال مرفوع عن المياه",
                           "تتناول هذه المقالة أزمة المياه في حوض النيل.")
    page = browser.new_page(viewport={"width": w, "height": h}, locale="en-US")
    with running_app(settings, archive) as (url, _):
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        # Arabic first whatever the browser's language: lang/dir, and Gradio's own strings.
        page.wait_for_function("document.documentElement.lang === 'ar' && document.documentElement.dir === 'rtl'",
                               timeout=10_000)
        page.wait_for_function("!document.body.innerText.includes('Use via API')", timeout=10_000)
        welcome = page.inner_text("#rag-chat")
        assert "40" in welcome and "وثيقة" in welcome and "ماذا يقول الأرشيف عن" in welcome
        _check_layout(page, size, "chat")

        # An empty question, an overlong one and an invalid date: each a visible message, nothing asked.
        page.click("#rag-send")
        page.wait_for_selector("#rag-chat-note .rag-note-error", timeout=10_000)
        assert "اكتب سؤالك" in page.inner_text("#rag-chat-note")
        page.fill("#rag-question textarea", "س" * 20_000)
        page.click("#rag-send")
        page.wait_for_function("document.querySelector('#rag-chat-note').innerText.includes('طويل')", timeout=10_000)
        assert page.locator("#rag-chat .rag-question").count() == 0
        page.get_by_text("عوامل التصفية").click()
        page.fill("#rag-since input, #rag-since textarea", "أمس")
        page.fill("#rag-question textarea", "ما أثر الدعاية الرقمية على الشباب؟")
        page.click("#rag-send")
        page.wait_for_function("document.querySelector('#rag-chat-note').innerText.includes('أمس')", timeout=10_000)
        note = page.inner_text("#rag-chat-note")
        assert "من تاريخ" in note and "2018-07-01" in note and page.locator("#rag-chat .rag-msg").count() == 0
        placeholder_dir = page.evaluate("getComputedStyle(document.querySelector('#rag-until input, #rag-until textarea')).direction")
        assert placeholder_dir == "ltr"  # "2020-12-31" reads as typed, not "31-12-2020"
        page.fill("#rag-since input, #rag-since textarea", "")
        _check_layout(page, size, "chat-filters")

        # A refusal: the tag and the refusal line are in view, its nearest passages collapsed.
        page.fill("#rag-question textarea", "ما هي وصفة الكسكس المغربي؟")
        page.click("#rag-send")
        page.wait_for_selector("#rag-chat .rag-refusal", timeout=60_000)
        page.wait_for_timeout(700)
        page.evaluate("document.querySelector('#rag-chat').scrollIntoView({block: 'start'})")  # the chat, as seen
        for sel in ("#rag-chat .rag-refusal-tag", "#rag-chat .rag-refusal .rag-text"):
            v = page.evaluate(IN_CHAT_VIEW, sel)
            assert v["top"] >= v["boxTop"] - 1 and v["bottom"] <= v["boxBottom"] + 1, (sel, v)
            assert v["bottom"] <= v["winH"] and not v["covered"], (sel, v)
        near = page.locator("#rag-chat .rag-refusal details.rag-nearest").last
        assert near.get_attribute("open") is None
        titles = near.locator(".rag-near .rag-title").all_text_contents()
        assert titles and len(titles) == len(set(titles)) <= 3
        _check_layout(page, size, "chat-refusal")

        # An answer: the cited sentence in context, the whole passage collapsed; a marker previews it.
        page.fill("#rag-question textarea", "ما أثر الدعاية الرقمية على الشباب؟")
        page.click("#rag-send")
        page.wait_for_selector("#rag-chat .rag-answer", timeout=60_000)
        answer = page.locator("#rag-chat .rag-answer").last
        assert answer.locator(".rag-card .rag-context").first.is_visible()
        assert not answer.locator(".rag-card details.rag-full .rag-passage").first.is_visible()
        page.evaluate("() => { for (const el of document.querySelectorAll('#rag-chat *')) "
                      "{ if (el.scrollHeight > el.clientHeight + 20) el.scrollTop = 0; } }")
        marker = answer.locator("a.rag-cite").first
        marker.scroll_into_view_if_needed()
        marker.hover()
        page.wait_for_selector(".rag-preview", timeout=5_000)
        assert page.inner_text(".rag-preview").strip()
        assert page.locator("#rag-chat button[aria-label='انسخ الرسالة']").count() >= 1  # via gr.I18n
        _check_layout(page, size, "chat-answer")

        # Rating: 👎 on the answer, then the comment box that opens for it: one row with both,
        # on that answer's id (the refusal above stays unrated).
        assert not page.locator("#rag-comment-panel").is_visible()
        aid = answer.get_attribute("id").removeprefix("ans-")
        page.locator("#rag-chat button[aria-label='عدم الإعجاب']").last.click()
        page.wait_for_selector("#rag-comment-panel textarea", state="visible", timeout=10_000)
        assert "ما أثر الدعاية الرقمية" in page.inner_text("#rag-comment-head")
        _check_layout(page, size, "chat-rating")
        page.fill("#rag-comment textarea", "مفيد")
        page.click("#rag-comment-save")
        page.wait_for_selector("#rag-feedback-note .rag-note-ok", timeout=10_000)
        assert "ما أثر الدعاية الرقمية" in page.inner_text("#rag-feedback-note")
        assert not page.locator("#rag-comment-panel").is_visible()
        assert "مفيد" in page.locator("#rag-chat .rag-rated").last.inner_text()
        assert page.locator("#rag-chat .rag-rated").count() == 1
        rated = lambda: [(f.answer_id, f.thumbs, f.comment) for f in RatingStore(ratings_path(settings)).list_feedback()]  # noqa: E731
        assert rated() == [(aid, -1, "مفيد")]
        # The other thumb changes that row, the comment kept; "no comment" closes the box.
        page.locator("#rag-chat button[aria-label='إعجاب']").last.click()
        page.wait_for_selector("#rag-comment-panel textarea", state="visible", timeout=10_000)
        assert page.input_value("#rag-comment textarea") == "مفيد"
        page.click("#rag-comment-skip")
        page.wait_for_selector("#rag-comment-panel", state="hidden", timeout=10_000)
        assert rated() == [(aid, 1, "مفيد")]

        # Regenerate the last answer: still two exchanges, the last answered again.
        page.locator("#rag-chat button[aria-label='إعادة المحاولة']").last.click()
        page.wait_for_function("document.querySelectorAll('#rag-chat .rag-question').length === 2 && "
                               "!document.querySelector('#rag-chat .rag-streaming')", timeout=30_000)
        page.wait_for_selector("#rag-chat .rag-answer", timeout=30_000)

        # History: a new conversation, then the saved one reopened from the side panel.
        page.click("#rag-new")
        page.wait_for_function("!document.querySelector('#rag-chat .rag-question')", timeout=10_000)
        page.locator("button.toggle-button").first.click()
        page.wait_for_timeout(600)
        entry = page.locator("#rag-history label").first
        entry.wait_for(timeout=10_000)
        assert "وصفة الكسكس" in entry.inner_text()
        _check_layout(page, size, "chat-history")
        entry.click()
        page.wait_for_function("document.querySelectorAll('#rag-chat .rag-question').length === 2", timeout=10_000)
        page.locator("button.toggle-button").first.click()
        page.wait_for_timeout(400)

        # Archive: a second page, dates from file names marked, a re-upload reported unchanged.
        page.get_by_role("tab", name=TABS["archive"]).click()
        page.wait_for_selector("#rag-docs table.rag-docs", timeout=10_000)
        assert "الصفحة 1 من 2" in page.inner_text("#rag-docs") and "من اسم الملف" in page.inner_text("#rag-docs")
        assert "Drop File Here" not in page.inner_text("#rag-files")
        widths = page.evaluate("() => { const t = document.querySelector('table.rag-docs'), "
                               "c = document.querySelector('.rag-docs-wrap'), "
                               "h = document.querySelector('table.rag-docs td.rag-col-title').getBoundingClientRect();"
                               " return {table: t.getBoundingClientRect().width, box: c.clientWidth, "
                               "title_left: h.left, title_right: h.right, win: window.innerWidth}; }")
        print(size, "archive table", widths)
        assert widths["title_left"] >= 0 and widths["title_right"] <= widths["win"]  # titles reachable
        date = page.locator("table.rag-docs td.rag-col-date .rag-date").first
        assert date.evaluate("e => e.getBoundingClientRect().height") < 30  # one line, not "2024-01-/30"
        assert widths["table"] <= widths["box"] + 1 or size == "desktop"  # a phone needs no sideways scroll
        _check_layout(page, size, "archive")
        page.click("#rag-next")
        page.wait_for_function("document.querySelector('#rag-docs').innerText.includes('الصفحة 2 من 2')", timeout=10_000)
        for attempt, expected in ((1, "أضيفت: 1"), (2, "بلا تغيير: 1")):
            if attempt == 2:  # the file chosen again, as a person re-uploading it would
                page.locator("#rag-files button[aria-label]").last.click()
                page.wait_for_timeout(300)
            page.set_input_files("#rag-files input[type=file]", str(upload))
            page.wait_for_timeout(500)
            page.click("#rag-ingest")
            try:
                page.wait_for_function("(t) => document.querySelector('#rag-summary').innerText.includes(t)",
                                       arg=expected, timeout=60_000)
            finally:
                print(attempt, page.inner_text("#rag-summary"))
        assert "أضيفت: 0" in page.inner_text("#rag-summary")
        page.fill("#rag-doc-search textarea, #rag-doc-search input", "المياه")
        page.wait_for_function("document.querySelectorAll('table.rag-docs tbody tr').length === 1", timeout=10_000)
        # Removal: above the table, confirmed first, then reported.
        page.get_by_text("حذف وثيقة من الفهرس").click()
        page.click("#rag-remove-pick input")
        page.locator("[role=option]").filter(has_text="مقال مرفوع عن المياه").first.click()
        page.click("#rag-remove")
        page.wait_for_selector("#rag-remove-confirm .rag-confirm", timeout=10_000)
        assert "مقال مرفوع عن المياه" in page.inner_text("#rag-remove-confirm")
        assert page.locator("table.rag-docs tbody tr").count() == 1  # nothing removed before the yes
        page.click("#rag-remove-yes")
        page.wait_for_selector("#rag-remove-note .rag-note-ok", timeout=10_000)
        assert "حُذفت «مقال مرفوع عن المياه»" in page.inner_text("#rag-remove-note")
        page.wait_for_function("document.querySelector('#rag-docs').innerText.includes('لا وثيقة تطابق')", timeout=10_000)
        page.fill("#rag-doc-search textarea, #rag-doc-search input", "لا يوجد هذا العنوان")
        page.wait_for_function("document.querySelector('#rag-docs').innerText.includes('لا وثيقة تطابق')", timeout=10_000)
        page.fill("#rag-doc-search textarea, #rag-doc-search input", "")

        # Briefing: an empty topic answered; date fields with their form as placeholder.
        page.get_by_role("tab", name=TABS["briefing"]).click()
        page.click("#rag-brief-build")
        page.wait_for_selector("#rag-brief .rag-note-error", timeout=10_000)
        assert page.get_attribute("#rag-brief-since input, #rag-brief-since textarea", "placeholder")
        assert "common.complete" not in page.inner_text("body")  # Gradio keys its Arabic lacks come from gr.I18n
        _check_layout(page, size, "briefing")

        # Evaluation, as loaded: Run works (no "Value 0 is less than minimum value 1").
        page.get_by_role("tab", name=TABS["evaluation"]).click()
        page.fill("#rag-eval-questions textarea, #rag-eval-questions input", str(q))
        page.fill("#rag-eval-contexts textarea, #rag-eval-contexts input", str(c))
        _check_layout(page, size, "evaluation")
        page.click("#rag-eval-run")
        page.wait_for_function("document.querySelector('#rag-eval-summary').innerText.includes('سؤالًا')",
                               timeout=120_000)
        toasts = page.locator(".toast-body").all_inner_texts()
        assert not any("minimum" in t for t in toasts), toasts
        assert f"{len(QUESTIONS)} سؤالًا" in page.inner_text("#rag-eval-summary")
        assert "كم يبلغ طول نهر النيل؟" in page.inner_text("#rag-eval-results")
        # the table reads right to left, as the app does, its rows under their headings
        box = {t: page.locator(f"#rag-eval-results [data-testid={t}]").bounding_box()
               for t in ("header-0", "header-1", "cell-0-0", "cell-0-1")}
        assert box["header-0"]["x"] > box["header-1"]["x"], box
        assert abs(box["cell-0-0"]["x"] - box["header-0"]["x"]) < 2 and abs(box["cell-0-1"]["x"] - box["header-1"]["x"]) < 2, box
        _check_layout(page, size, "evaluation-run")

        # Briefing ratings: build one for rating, read it, score every criterion; still no
        # sideways scrolling with the briefing shown and the table filled.
        page.fill("#rag-brate-topic textarea, #rag-brate-topic input", "الدعاية الرقمية")
        page.click("#rag-brate-make")
        page.wait_for_selector("#rag-brate-view iframe.rag-brief-frame", timeout=60_000)
        page.fill("#rag-eval-rater textarea, #rag-eval-rater input", "مقيّمة")  # no login here: free text
        # the 1-5 scales read right to left like the form around them: 1 at the right
        for scale in ("#rag-rate-correct", "#rag-brate-on_topic"):
            assert page.locator(scale).evaluate("e => getComputedStyle(e).direction") == "rtl", scale
            box = {n: page.locator(f"{scale} input[value='{n}']").bounding_box() for n in "15"}
            one_line = abs(box["1"]["y"] - box["5"]["y"]) < 5
            assert one_line and box["1"]["x"] > box["5"]["x"], (scale, box)  # not "1 2 3 4" with a lone "5" below
        for c in ("on_topic", "right_heading", "coverage", "citations", "readability"):
            page.locator(f"#rag-brate-{c} label").filter(has_text="4").first.click()
        page.click("#rag-brate-save")
        page.wait_for_function("document.querySelector('#rag-brate-status').innerText.includes('حُفظ')",
                               timeout=10_000)
        page.wait_for_function("document.querySelector('#rag-brate-summary').innerText.includes('4.000')",
                               timeout=10_000)
        _check_layout(page, size, "evaluation-briefing-rating")
