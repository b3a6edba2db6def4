"""The chat: an extractive answer streams as it is composed (its lines, not one piece) through the
launched app and gradio_client, the final update /ask's own JSON with its citations; and the
helpers behind the thumbs and the history panel. (The thumb-then-comment flow in the browser:
tests/ui/test_browser_layout.py.)"""
from __future__ import annotations

import pytest

from tests.ingest.test_pipeline import make_archive, write_article
from tests.ui.test_app import running_app

LEAGUE = ("تأسست جامعة الدول العربية في القاهرة عام 1945 بمبادرة من سبع دول. "
          "يبلغ عدد الدول الأعضاء في الجامعة 22 دولة. يقع مقر الجامعة في مدينة القاهرة.")


@pytest.mark.slow
def test_an_extractive_answer_streams_its_lines_then_the_cited_answer(settings, tmp_path):
    from gradio_client import Client

    archive = make_archive(tmp_path / "arch", n=3)
    write_article(archive, "league.txt", "جامعة الدول العربية", LEAGUE)
    with running_app(settings, archive) as (url, _):
        c = Client(url, verbose=False)
        job = c.submit("متى تأسست جامعة الدول العربية؟", api_name="/ask_stream")
        final = job.result(timeout=60)
        updates = job.outputs()
        whole = c.predict("متى تأسست جامعة الدول العربية؟", api_name="/ask")
    partial = [u for u in updates if u.get("partial")]
    assert len(partial) >= 2, updates  # the short answer, then the quoted sentence(s)
    assert partial[0]["answer"].startswith("الجواب:") and "1945" in partial[0]["answer"]
    assert all(b["answer"].startswith(a["answer"]) for a, b in zip(partial, partial[1:]))  # each adds a line
    assert updates[-1] == final and not final.get("partial") and final["answer_id"]
    assert final["answer"] == partial[-1]["answer"] and "[1]" in final["answer"]
    assert final["citations"][0]["title"] == "جامعة الدول العربية"
    assert {k: v for k, v in final.items() if k != "answer_id"} == {k: v for k, v in whole.items() if k != "answer_id"}


def test_thumbs_and_their_buttons():
    from ui.chat_tab import thumbs_from, thumbs_of

    assert [thumbs_from(v) for v in (True, "Like", False, "Dislike", "", None)] == [1, 1, -1, -1, 0, 0]
    turns = [{"question": "س"}, {"question": "س", "feedback": {"thumbs": -1, "comment": ""}},
             {"question": "س", "feedback": {"thumbs": 1, "comment": "جيد"}}]
    assert thumbs_of(turns) == [None, "Dislike", "Like"]


def test_a_saved_conversation_lists_its_time_left_to_right():
    from ui.chat_tab import conversation_choices

    [(label, cid)] = conversation_choices([{"id": "c1", "title": "ما هي وصفة الكسكس؟", "updated": "2026-12-01 16:17"}])
    assert cid == "c1" and label.endswith("\u20662026-12-01 16:17\u2069")  # not "01-12-2026" after Arabic
