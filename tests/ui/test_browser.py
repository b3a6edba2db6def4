"""A real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the
launched app: upload a document full of markup, ask in Arabic, see the streamed answer
right-to-left with source cards, click a marker, and check no archive markup ever ran.
Screenshots go to test-artifacts/ (gitignored)."""
from __future__ import annotations

from pathlib import Path

import pytest

from evals.ratings import RatingStore
from tests.ingest.test_pipeline import make_archive, write_article
from tests.ui.conftest import CHROMIUM
from tests.ui.test_app import running_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS_TITLE = "تقرير عن الرقابة <script>window.__xss=1</script>"
XSS_BODY = ('تناقش هذه الورقة الرقابة على المحتوى الرقمي <img src=x onerror="window.__xss=2;alert(2)"> '
            "وأثرها على الصحافة المستقلة في المنطقة.\n\n"
            "وتوصي الورقة بمزيد من الشفافية في الرقابة على المحتوى الرقمي <svg onload=\"window.__xss=3\">.")
QUESTION = "ما أثر الرقابة على المحتوى الرقمي على الصحافة المستقلة؟"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} missing: apt-get install chromium (Debian package)"),
]


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="ar")
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    return pg


def test_arabic_chat_rtl_cards_markers_and_xss_as_text(settings, tmp_path, page):
    ARTIFACTS.mkdir(exist_ok=True)
    upload = write_article(tmp_path / "up", "xss.txt", XSS_TITLE, XSS_BODY)
    with running_app(settings, make_archive(tmp_path / "arch")) as (url, _):
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)

        # Archive tab: upload the hostile document through the UI and see it listed as text.
        page.get_by_role("tab", name="الأرشيف").click()
        page.set_input_files("#rag-files input[type=file]", str(upload))
        page.wait_for_timeout(500)
        page.click("#rag-ingest")
        page.wait_for_selector("#rag-summary .rag-summary", timeout=60_000)
        assert "أضيفت: 1" in page.inner_text("#rag-summary")
        page.wait_for_function("document.querySelector('#rag-docs') && "
                               "document.querySelector('#rag-docs').innerText.includes('<script>')", timeout=30_000)
        assert page.locator("#rag-docs script").count() == 0
        page.screenshot(path=str(ARTIFACTS / "ui-archive.png"))

        # Chat tab: an Arabic question, answered in a right-to-left message with source cards.
        page.get_by_role("tab", name="المحادثة").click()
        page.fill("#rag-question textarea", QUESTION)
        page.click("#rag-send")
        page.wait_for_selector("#rag-chat .rag-streaming, #rag-chat .rag-answer", timeout=30_000)
        answer = page.locator("#rag-chat .rag-answer").last
        answer.wait_for(timeout=60_000)
        assert answer.evaluate("e => getComputedStyle(e).direction") == "rtl"
        assert answer.locator(".rag-text").evaluate("e => getComputedStyle(e).direction") == "rtl"
        cards = answer.locator(".rag-card")
        assert cards.count() >= 1 and cards.first.is_visible()
        assert "rag-mode-extractive" in answer.inner_html()

        # The hostile document shows its markup as text, in its card.
        xss_card = answer.locator(".rag-card", has_text="<script>")
        assert xss_card.count() == 1 and "<img src=x onerror=" in xss_card.inner_text()
        assert page.locator("#rag-chat .rag-card img, #rag-chat .rag-card script, #rag-chat svg[onload]").count() == 0

        # Clicking a marker brings its card into view: scroll the chat to the top first.
        marker = answer.locator("a.rag-cite").first
        target = marker.get_attribute("href").lstrip("#")
        in_view = ("id => { const r = document.getElementById(id).getBoundingClientRect();"
                   " return r.top >= 0 && r.bottom <= window.innerHeight; }")
        page.evaluate("() => { for (const el of document.querySelectorAll('#rag-chat *')) "
                      "{ if (el.scrollHeight > el.clientHeight + 20) el.scrollTop = 0; } window.scrollTo(0, 0); }")
        marker.scroll_into_view_if_needed()
        marker.click()
        page.wait_for_function(in_view, arg=target, timeout=5_000)
        card = page.locator(f"[id='{target}']")
        assert card.is_visible()
        page.wait_for_timeout(600)  # let the smooth scroll settle for the screenshot
        page.screenshot(path=str(ARTIFACTS / "ui-chat.png"))

        # Thumbs down, then a comment in the box that opens for it: stored for the evaluators.
        page.locator("#rag-chat button[aria-label='عدم الإعجاب']").last.click()
        page.wait_for_selector("#rag-comment-panel textarea", state="visible", timeout=10_000)
        page.fill("#rag-comment textarea", "المصدر غير دقيق")
        page.click("#rag-comment-save")
        page.wait_for_selector("#rag-feedback-note .rag-note", timeout=10_000)
        stored = RatingStore(Path(settings.data_dir) / "ratings.sqlite").list_feedback()
        assert [(f.thumbs, f.comment, f.question) for f in stored] == [(-1, "المصدر غير دقيق", QUESTION)]
        assert stored[0].citations and stored[0].mode == "extractive" and "k" in stored[0].settings

        # New conversation clears the chat.
        page.click("#rag-new")
        page.wait_for_function("!document.querySelector('#rag-chat .rag-answer')", timeout=10_000)

        # Briefing tab: a right-to-left briefing in a sandboxed frame, with downloads.
        page.get_by_role("tab", name="الموجز").click()
        page.fill("#rag-brief-topic textarea", "الرقابة على المحتوى الرقمي")
        page.click("#rag-brief-build")
        frame = page.frame_locator("#rag-brief iframe")
        frame.locator("h1").wait_for(timeout=60_000)
        assert frame.locator("html").get_attribute("dir") == "rtl"
        assert page.get_by_role("button", name="تنزيل DOCX").is_visible()
        page.screenshot(path=str(ARTIFACTS / "ui-briefing.png"))

        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.dialogs == []
