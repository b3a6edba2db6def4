"""Eval metrics and gold loading on hand-computed cases."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.gold import GoldContext, GoldQuestion, load_contexts, load_questions
from evals.metrics import (
    CitedPassage,
    QuestionResult,
    aggregate,
    answer_tokens,
    citation_errors,
    citation_precision,
    citation_recall,
    contains_gold,
    false_refusal_rate,
    first_hit_rank,
    mrr_at_k,
    ndcg_at_k,
    question_metrics,
    recall_at_k,
    recall_curve,
    refusal_recall,
    token_f1,
)
from rag.errors import BadDocumentError

SHARED_QA = Path(__file__).resolve().parents[3] / "shared" / "data" / "qa"

# q1 rank 1; q2 rank 3 (two chunks of d3 first, second chunk of d2 ignored); q3 empty -> miss;
# q4 has no context_id -> left out; q5 rank 11 -> miss at 10.
RANKINGS = [["d1", "d2"], ["d3", "d3", "d2", "d2"], [], ["d1"], ["x"] * 10 + ["d5"]]
GOLDS = ["d1", "d2", "d4", None, "d5"]


# --- retrieval ---------------------------------------------------------------------------

def test_first_hit_rank_counts_chunk_positions_and_first_occurrence():
    assert first_hit_rank(["a", "a", "b", "b"], "b") == 3
    assert first_hit_rank([], "b") is None
    assert first_hit_rank(["a"], "b") is None


def test_recall_at_k_hand_computed():
    assert recall_at_k(RANKINGS, GOLDS, 1) == pytest.approx(1 / 4)
    assert recall_at_k(RANKINGS, GOLDS, 3) == pytest.approx(2 / 4)
    assert recall_at_k(RANKINGS, GOLDS, 10) == pytest.approx(2 / 4)
    assert recall_at_k(RANKINGS, GOLDS, 11) == pytest.approx(3 / 4)


def test_mrr_at_10_hand_computed():
    assert mrr_at_k(RANKINGS, GOLDS, 10) == pytest.approx((1 + 1 / 3) / 4)
    assert mrr_at_k(RANKINGS, GOLDS, 2) == pytest.approx(1 / 4)


def test_ndcg_at_10_hand_computed():
    # rank 1 -> 1, rank 3 -> 1/log2(4) = 0.5
    assert ndcg_at_k(RANKINGS, GOLDS, 10) == pytest.approx((1 + 0.5) / 4)
    assert ndcg_at_k([["a", "b"]], ["b"], 10) == pytest.approx(1 / math.log2(3))


def test_duplicates_of_the_gold_doc_never_score_above_one():
    ranked, gold = [["d1", "d1", "d1"]], ["d1"]
    assert recall_at_k(ranked, gold, 10) == 1.0
    assert mrr_at_k(ranked, gold, 10) == 1.0
    assert ndcg_at_k(ranked, gold, 10) == 1.0


def test_retrieval_metrics_undefined_without_context_ids():
    assert recall_at_k([["a"], []], [None, None], 5) is None
    assert mrr_at_k([], [], 10) is None
    assert ndcg_at_k([[]], [None], 10) is None


def test_empty_retrieval_is_a_miss():
    assert recall_at_k([[]], ["d1"], 10) == 0.0
    assert ndcg_at_k([[]], ["d1"], 10) == 0.0


def test_retrieval_argument_errors():
    with pytest.raises(ValueError, match="rankings"):
        recall_at_k([["a"]], ["a", "b"], 1)
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k([["a"]], ["a"], 0)


# --- answers -----------------------------------------------------------------------------

@pytest.mark.parametrize("answer, gold", [
    ("هو احمد بن علي", "أحمد"),          # hamza on alef
    ("هو أَحْمَد بن علي", "احمد"),        # diacritics
    ("هو احـــمد بن علي", "أحمد"),        # tatweel
    ("في مدرسه البلدة", "مدرسة"),         # ta marbuta
    ("نقل إلى مستشفي المدينة", "مستشفى"),  # alef maqsura
    ("«القاهرة»، عاصمة مصر.", "القاهرة"),  # Arabic punctuation and guillemets
    ("في مدينة الرياض", "المدينة"),       # article dropped on both sides
    ("born in 1958.", "1958"),
])
def test_contains_gold_after_normalization(answer, gold):
    assert contains_gold(answer, [gold])


def test_contains_gold_matches_whole_tokens_only():
    assert not contains_gold("في عام 19580", ["1958"])
    assert not contains_gold("العلماء", ["علم"])
    assert not contains_gold("أي شيء", [])
    assert not contains_gold("أي شيء", ["،"])  # a gold that normalizes to nothing never matches
    assert contains_gold("صحفي وإعلامي سعودي", ["مستشار", "صحفي وإعلامي"])


def test_answer_tokens_rules():
    assert answer_tokens("الْمَدْرَسَةُ، The school!") == ["مدرسه", "school"]
    assert answer_tokens("الى") == ["الي"]  # too short to be an article + word


def test_token_f1_best_over_golds():
    # golds: [مستشار] -> 0; [صحفي, واعلامي] vs [صحفي, سعودي]: p = r = 1/2 -> 0.5
    assert token_f1("صحفي سعودي", ["مستشار", "صحفي وإعلامي"]) == pytest.approx(0.5)
    assert token_f1("ولد عام 1958", ["1958", "عام 1958"]) == pytest.approx(0.8)
    assert token_f1("أَحْمَدُ", ["احمد"]) == 1.0
    assert token_f1("مدرسه", ["المدرسة"]) == 1.0
    assert token_f1("", ["x"]) == 0.0
    assert token_f1("x", []) == 0.0
    assert token_f1("-)", ["-)"]) == 0.0 and not contains_gold("-)", ["-)"])  # empty golds


# --- citations, refusals, aggregate ------------------------------------------------------

def _r(id, answers, context_id, retrieved, answer=None, refused=False, cited=()):
    return QuestionResult(id=id, question=f"سؤال {id}", answers=tuple(answers),
                          context_id=context_id, expects_refusal=not answers,
                          retrieved_doc_ids=tuple(retrieved), answer=answer, refused=refused,
                          cited=tuple(CitedPassage(d, t) for d, t in cited))


RESULTS = [
    # cites one supporting and one unrelated passage
    _r("q1", ["1958"], "c1", ["c1"], "ولد عام 1958", cited=[("c1", "ولد عام 1958"), ("c2", "نص")]),
    # retrieval missed the gold doc, but another retrieved passage holds the answer and is cited
    _r("q2", ["القاهرة"], "c3", ["c9"], "القاهرة", cited=[("c9", "عاصمة مصر القاهرة")]),
    # evidence retrieved, yet refused: a false refusal and a citation-recall miss
    _r("q3", ["بغداد"], "c4", ["c4"], "لا أعرف", refused=True),
    # evidence never retrieved; its one citation does not support
    _r("q4", ["دمشق"], "c5", ["c6"], "حلب", cited=[("c6", "لا شيء هنا")]),
    _r("q5", [], None, ["c1"], "لا أعرف", refused=True),
    # should have refused; its citation is not counted (no gold answer to support)
    _r("q6", [], None, ["c1"], "1958", cited=[("c1", "1958")]),
]


def test_citation_precision_pooled_over_answerable():
    assert citation_precision(RESULTS) == pytest.approx(2 / 4)
    assert citation_precision([RESULTS[2], RESULTS[4]]) is None


def test_citation_recall_over_questions_with_retrieved_evidence():
    # pool: q1 (gold doc retrieved), q2 (cited passage holds the answer), q3; q4 left out
    assert citation_recall(RESULTS) == pytest.approx(2 / 3)
    assert citation_recall([RESULTS[3]]) is None


def test_citation_errors_say_why_each_cited_passage_lacks_the_gold():
    # q1's "c2" (gold c1 ranked first), q4's "c6" (gold c5 never retrieved)
    assert citation_errors(RESULTS) == {"cited": 4, "other_chunk_of_gold": 0.0, "wrong_doc_gold_in_top5": 0.25,
                                        "wrong_doc_gold_below_top5": 0.0, "gold_not_retrieved": 0.25,
                                        "no_gold_document": 0.0}
    more = [
        _r("a", ["x"], "g", ["g", "g"], "y", cited=[("g", "chunk without it")]),  # the gold doc, another chunk
        _r("b", ["x"], "g", ["o"] * 5 + ["g"], "y", cited=[("o", "no")]),  # gold retrieved, at rank 6
        _r("c", ["x"], None, ["o"], "y", cited=[("o", "no")]),  # a set without context ids
    ]
    e = citation_errors(more)
    assert e["other_chunk_of_gold"] == e["wrong_doc_gold_below_top5"] == e["no_gold_document"] == pytest.approx(1 / 3)
    # precision and the error shares add up to one
    e = citation_errors(RESULTS + more)
    shares = sum(v for k, v in e.items() if k != "cited")
    assert shares + citation_precision(RESULTS + more) == pytest.approx(1.0)
    assert citation_errors([RESULTS[2]]) is None


def test_refusal_metrics():
    assert refusal_recall(RESULTS) == pytest.approx(1 / 2)
    assert false_refusal_rate(RESULTS) == pytest.approx(1 / 4)
    assert refusal_recall(RESULTS[:4]) is None
    assert false_refusal_rate(RESULTS[4:]) is None


def test_aggregate_shape_and_values():
    s = aggregate(RESULTS)
    assert set(s) == {"n_questions", "retrieval", "answers", "leads", "citation_errors"}
    assert set(s["retrieval"]) == {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
    assert set(s["answers"]) == {"contains_gold", "f1", "citation_precision", "citation_recall",
                                 "refusal_recall", "false_refusal_rate"}
    assert s["n_questions"] == 6
    # q1..q4 have context ids: hits at rank 1 for q1 and q3
    assert s["retrieval"] == {"recall@1": 0.5, "recall@5": 0.5, "recall@10": 0.5,
                              "mrr@10": 0.5, "ndcg@10": 0.5}
    # contains: q1, q2 of q1..q4 (q3 refused counts as empty); f1: 0.5 + 1 + 0 + 0
    assert s["answers"] == {"contains_gold": 0.5, "f1": 0.375, "citation_precision": 0.5,
                            "citation_recall": 0.6667, "refusal_recall": 0.5,
                            "false_refusal_rate": 0.25}
    for v in [*s["retrieval"].values(), *s["answers"].values()]:
        assert isinstance(v, float) and 0 <= v <= 1


def test_aggregate_retrieval_only_and_undefined_values():
    only_retrieval = [_r("a", ["x"], "c1", ["c1"]), _r("b", ["y"], "c2", [])]
    s = aggregate(only_retrieval)
    assert "answers" not in s and s["retrieval"]["recall@1"] == 0.5
    s = aggregate([_r("a", ["x"], "c1", ["c1"], answer="x")])
    assert s["answers"]["refusal_recall"] is None
    assert s["answers"]["citation_precision"] is None
    s = aggregate([_r("n", [], None, [], answer="", refused=True)])
    assert s["retrieval"]["recall@1"] is None and s["answers"]["refusal_recall"] == 1.0
    assert s["answers"]["contains_gold"] is None and s["answers"]["false_refusal_rate"] is None
    assert aggregate([])["n_questions"] == 0


def test_question_metrics_and_recall_curve():
    m = question_metrics(RESULTS[0])
    assert m == {"hit_rank": 1, "hit@1": True, "contains_gold": True, "f1": 0.5, "refused": False}
    m = question_metrics(RESULTS[4])
    assert m["hit@1"] is None and m["contains_gold"] is None and m["refused"] is True
    curve = recall_curve(RESULTS)
    assert len(curve) == 10 and curve[0] == 0.5 and curve[-1] == 0.5


def test_question_result_round_trips_through_json():
    for r in RESULTS:
        assert QuestionResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


# --- gold files --------------------------------------------------------------------------

def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_questions_and_contexts(tmp_path):
    q = _write(tmp_path / "q.jsonl", [
        json.dumps({"id": "1", "question": "من؟", "answers": ["أحمد"], "context_id": "c1",
                    "context": "..."}, ensure_ascii=False),
        "",
        json.dumps({"id": 2, "question": "متى؟", "answers": [], "context_id": None}),
        json.dumps({"id": "3", "question": "أين؟", "answers": []}),
    ])
    got = list(load_questions(q))
    assert got[0] == GoldQuestion("1", "من؟", ("أحمد",), "c1")
    assert got[1] == GoldQuestion("2", "متى؟", (), None) and got[1].expects_refusal
    assert got[2].context_id is None and not got[0].expects_refusal
    c = _write(tmp_path / "c.jsonl", [json.dumps({"context_id": "c1", "title": "ع", "text": "نص"})])
    assert list(load_contexts(c)) == [GoldContext("c1", "ع", "نص")]


@pytest.mark.parametrize("bad, reason", [
    ('{"id": "2", "question": "x", "answers": [', "invalid JSON"),
    ('["not", "an object"]', "JSON object"),
    ('{"id": "2", "question": "x", "answers": "a"}', "answers"),
    ('{"id": "2", "question": "x", "answers": [1]}', "answers"),
    ('{"id": "", "question": "x", "answers": []}', '"id"'),
    ('{"id": "2", "question": " ", "answers": []}', '"question"'),
    ('{"id": "2", "question": "x", "answers": [], "context_id": 5}', "context_id"),
])
def test_load_questions_names_file_and_line(tmp_path, bad, reason):
    good = json.dumps({"id": "1", "question": "x", "answers": ["y"], "context_id": "c"})
    path = _write(tmp_path / "q.jsonl", [good, bad])
    with pytest.raises(BadDocumentError, match=reason) as err:
        list(load_questions(path))
    assert err.value.line == 2 and err.value.path == str(path)
    assert f"{path}:2" in str(err.value)


def test_load_contexts_rejects_missing_text(tmp_path):
    path = _write(tmp_path / "c.jsonl", ['{"context_id": "c1", "title": "t"}'])
    with pytest.raises(BadDocumentError, match='"text"') as err:
        list(load_contexts(path))
    assert err.value.line == 1


def test_load_rejects_bad_utf8(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"id": "1", "question": "\xff", "answers": []}\n')
    with pytest.raises(BadDocumentError, match="UTF-8"):
        list(load_questions(path))


@pytest.mark.skipif(not SHARED_QA.is_dir(), reason="../shared/data/qa is not present")
def test_shared_gold_files_load():
    questions = list(load_questions(SHARED_QA / "arcd_refusal_mix.questions.jsonl"))
    refusals = [q for q in questions if q.expects_refusal]
    assert len(questions) == 600 and len(refusals) == 300
    assert all(q.context_id for q in questions if not q.expects_refusal)
    contexts = {c.context_id for c in load_contexts(SHARED_QA / "arcd.contexts.jsonl")}
    assert {q.context_id for q in questions if q.context_id} <= contexts


def test_lead_figures_per_question_type_hand_computed():
    from dataclasses import replace

    from evals.metrics import lead_figures, lead_of

    def asked(q, answer, golds=("1945",)):
        return replace(_r(q, golds, None, [], answer=answer), question=q)

    right = asked("متى تأسست الجامعة؟", "الجواب: 1945 [1]\nتأسست الجامعة عام 1945. [1]")
    wrong = asked("متى افتتح المقر؟", "الجواب: 1950 [1]\nافتتح المقر عام 1950 وتأسست عام 1945. [1]")
    bare = asked("متى انضمت الدولة؟", "انضمت الدولة عام 1945. [1]")
    who = asked("من أسس المدرسة؟", "الجواب: أحمد شوقي [1]\nأسس أحمد شوقي المدرسة. [1]", ("أحمد شوقي",))
    assert lead_of(right.answer) == "1945" and lead_of(bare.answer) == ""
    f = lead_figures([right, wrong, bare, who])
    assert f["date_led"] == 2 / 3 and f["date_precision"] == 1 / 2
    assert f["name_led"] == 1.0 and f["name_precision"] == 1.0
    assert f["number_led"] is None and f["place_precision"] is None
