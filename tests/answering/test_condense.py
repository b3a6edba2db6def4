"""Follow-ups are rewritten with the previous turn only when they need it (our own dev sets)."""
import json
from pathlib import Path

import pytest

from rag.answering.condense import condense_extractive, is_follow_up
from rag.text.arabic import analyze

DATA = Path(__file__).resolve().parents[2] / "evals" / "data"
QUESTIONS = [json.loads(line) for name in ("news.questions.jsonl", "research.questions.jsonl")
             for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
BY_ID = {q["id"]: q for q in QUESTIONS}
UNRELATED = [("user", "كيف تستخدم الجماعات المتطرفة العالم الافتراضي للتجنيد؟"),
             ("assistant", "تستخدم منصات التواصل [1].")]


def test_a_question_that_names_its_subject_is_never_rewritten():
    standalone = [q["question"] for q in QUESTIONS if not q.get("follows")]
    assert len(standalone) >= 50
    rewritten = [q for q in standalone if condense_extractive(q, UNRELATED) != q]
    assert rewritten == []
    assert condense_extractive("ما هي عاصمة البرازيل؟", UNRELATED) == "ما هي عاصمة البرازيل؟"


@pytest.mark.parametrize("q", [q for q in QUESTIONS if q.get("follows")], ids=lambda q: q["id"])
def test_a_follow_up_is_rewritten_with_the_subject_of_the_question_it_follows(q):
    first = BY_ID[q["follows"]]["question"]
    assert is_follow_up(q["question"])
    standalone = condense_extractive(q["question"], [("user", first), ("assistant", "…")])
    assert standalone != q["question"]
    assert set(analyze(standalone)) & (set(analyze(first)) - set(analyze(q["question"])))


def test_english_follow_ups_and_copulas():
    assert is_follow_up("When was it founded?") and is_follow_up("What about their leaders?")
    assert not is_follow_up("What is the capital of Brazil?")
    assert is_follow_up("من هو مؤسسها؟") and not is_follow_up("من هو مؤسس جامعة الدول العربية؟")
