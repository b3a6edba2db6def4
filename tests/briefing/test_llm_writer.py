"""The briefing's LLM writer: planned sub-questions, and cited sentences kept by chat's own
citation rule (a sentence with any marker naming no given passage is dropped, not mended)."""
from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.answering.citations import verify as verify_chat
from rag.briefing.build import build_briefing
from rag.briefing.llm_writer import plan_questions, write_cited
from rag.config import Settings
from rag.types import Hit
from tests.briefing.archive import CHUNKS, TOPIC, all_sentences, search


class Scripted:
    """An LLM that replies from a script and keeps the messages it was sent."""

    def __init__(self, *replies: str):
        self.replies, self.sent = list(replies), []

    def invoke(self, messages):
        self.sent.append(messages)
        return self.replies.pop(0)


PASSAGES = CHUNKS[:2]


def test_a_sentence_with_any_bad_marker_is_dropped_whole_even_beside_a_valid_one():
    llm = Scripted("تنشط الشبكات في الشمال [1][3]. تستغل الشبكات ضعف الحراسة [2].")
    kept, dropped = write_cited(llm, TOPIC, "من يقف وراء التهريب؟", PASSAGES, True)
    assert kept == [("تستغل الشبكات ضعف الحراسة.", (1,))]
    assert dropped == ["تنشط الشبكات في الشمال."]
    assert "[1] (" in llm.sent[0][1][1] and "[2] (" in llm.sent[0][1][1]  # passages numbered 1..n


def test_unmarked_sentences_are_kept_only_when_covered_on_their_line():
    llm = Scripted("النقاط التالية:\n- تنشط الشبكات. وتستغل ضعف الحراسة [1, 2].\n"
                   "هذه جملة بلا مصدر.\nجملة قبل مرجع خاطئ. وهذه بمرجع خاطئ [9].")
    kept, dropped = write_cited(llm, TOPIC, "س", PASSAGES, True)
    assert kept == [("تنشط الشبكات.", (0, 1)), ("وتستغل ضعف الحراسة.", (0, 1))]
    assert dropped == ["هذه جملة بلا مصدر.", "جملة قبل مرجع خاطئ.", "وهذه بمرجع خاطئ."]


def test_chat_and_briefing_keep_and_flag_the_same_claims():
    text = ("تنشط الشبكات في الشمال [1][3]. تستغل الشبكات ضعف الحراسة [2].\n"
            "جملة أولى. جملة ثانية [2, 1].\nجملة بلا مصدر.")
    kept, dropped = write_cited(Scripted(text), TOPIC, "س", PASSAGES, True)
    answer, cites, flagged = verify_chat(text, [Hit(c, 1.0) for c in PASSAGES])
    assert answer == "تستغل الشبكات ضعف الحراسة [1].\nجملة أولى. جملة ثانية [1][2]."
    assert [t for t, _ in kept] == ["تستغل الشبكات ضعف الحراسة.", "جملة أولى.", "جملة ثانية."]
    assert tuple(dropped) == flagged == (
        "تنشط الشبكات في الشمال.", "جملة بلا مصدر.")
    assert [c.chunk_id for c in cites] == [PASSAGES[1].id, PASSAGES[0].id]


def test_a_briefing_never_shows_a_sentence_the_rule_dropped():
    llm = FakeListChatModel(responses=[
        '["من يقف وراء تهريب الآثار؟"]',
        "تقف شبكات منظمة وراء نهب المواقع [1][19]. تتقاسم الشبكات الأرباح [1].",
        "تتوسع شبكات التهريب [1].",
    ])
    b = build_briefing(TOPIC, search, Settings(), llm=llm)
    texts = [s.text for s in all_sentences(b)]
    assert "تتقاسم الشبكات الأرباح." in texts
    assert not any("نهب المواقع" in t for t in texts)


def test_plan_questions_reads_a_json_list_and_nothing_else():
    assert plan_questions(Scripted('هذه الأسئلة: ["أ؟", "ب؟", "أ؟"]'), TOPIC, True) == ["أ؟", "ب؟"]
    assert plan_questions(Scripted("لا أستطيع."), TOPIC, True) == []
