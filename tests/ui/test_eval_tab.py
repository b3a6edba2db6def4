"""The Evaluation tab's callbacks as plain functions (no browser), and that the tab builds."""
import csv

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from evals.ratings import Feedback, Rating, RatingStore, feedback_item_id, run_item_id
from rag.errors import RagError
from tests.evals.test_run import QUESTIONS, gold  # noqa: F401  (the tiny gold fixture)
from tests.fakes import FakeEmbedder
from ui import eval_tab as tab


@pytest.fixture
def store(tmp_path):
    return RatingStore(tmp_path / "ratings.sqlite")


@pytest.fixture
def run(settings, gold):  # noqa: F811
    q, c, _ = gold
    seen = []
    out = tab.run_question_set(settings, str(q), str(c), retrieval="lexical", k=5, answers=True,
                               embedder=FakeEmbedder(), progress=lambda f, m: seen.append((f, m)))
    assert seen and seen[-1][0] == 1.0 and "questions" in seen[-1][1]
    return out


def test_run_fills_the_results_table(run):
    rows = tab.results_rows(run)
    assert len(rows) == len(QUESTIONS) and all(len(r) == len(tab.RESULT_HEADERS) for r in rows)
    by_id = {r[0]: r for r in rows}
    assert by_id["q1"][2] == "6650 كيلومترا" and by_id["q1"][5] == "1"
    assert by_id["q7"][2] == "(يُنتظر الرفض)" and by_id["q7"][5] == ""
    assert by_id["q7"][4] in ("نعم", "لا") and by_id["q1"][3]
    md = tab.summary_markdown(run)
    assert "recall@5" in md and "سؤالًا" in md and "refusal_precision" in md
    assert "leads.date_precision" in md and "صحة الجواب المختصر: التاريخ (متى)" in md
    cited = run.summary["citation_errors"]["cited"]
    assert f"`citation_errors.cited` | {cited} |" in md  # a count, not a share
    assert tab.results_rows(None) == [] and tab.summary_markdown(None) == ""


def test_run_without_a_question_set_says_so(settings):
    with pytest.raises(RagError, match="مجموعة أسئلة"):
        tab.run_question_set(settings, "  ", None, embedder=FakeEmbedder())


def test_items_come_from_the_run_and_chat_feedback(run, store):
    fid = store.add_feedback(Feedback(thumbs=-1, question="سؤال؟", answer="جواب [1]",
                                      citations=[{"n": 1, "text": "نص المقطع"}]))
    items = tab.rateable_items(run, store)
    assert run_item_id(run.run_id, "q1") in items and feedback_item_id(fid) in items
    assert items[feedback_item_id(fid)].passages == ("نص المقطع",)
    labels = dict((v, k) for k, v in tab.item_choices(items))
    assert "q1" in labels[run_item_id(run.run_id, "q1")]
    md = tab.item_markdown(items[run_item_id(run.run_id, "q1")])
    assert "نهر النيل" in md and "**المقطع [1]**" in md
    assert "&lt;b&gt;" in tab.item_markdown(tab.Item("x", "<b>q</b>", "a", (), "x"))


def test_save_rating_export_and_agreement(run, store, tmp_path):
    items = tab.rateable_items(run, store)
    ids = [run_item_id(run.run_id, q) for q in ("q1", "q2", "q3")]
    for i, iid in enumerate(ids):
        assert "حُفظ" in tab.save_rating(store, items, "ليلى", iid, [5, 5, 4, 4 - i], "جيد")
        tab.save_rating(store, items, "omar", iid, ["5", "4", "4", str(4 - i)])
    [got] = store.list(item_id=ids[0], rater="ليلى")
    assert (got.correct, got.complete, got.comment) == (5, 4, "جيد") and got.question == "كم يبلغ طول نهر النيل؟"
    with pytest.raises(ValueError, match="اختر إجابة"):
        tab.save_rating(store, items, "omar", "", [1, 1, 1, 1])
    with pytest.raises(ValueError, match="قيّم كل المعايير"):
        tab.save_rating(store, items, "omar", ids[0], [1, None, 1, 1])
    with pytest.raises(ValueError, match="rater"):
        tab.save_rating(store, items, " ", ids[0], [1, 1, 1, 1])

    path = tab.export_ratings(store, tmp_path / "out")
    with open(path, encoding="utf-8-sig") as f:
        assert len(list(csv.DictReader(f))) == 6

    rows = {r[0]: r for r in tab.agreement_rows(store)}
    assert rows["كامل"][1:3] == [3, 2] and rows["كامل"][3] == "1.000"
    assert rows["وفيّ للمقاطع"][1] == 3


def test_llm_judge_agreement_with_human_ratings(settings, run, store):
    items = tab.rateable_items(run, store)
    ids = [run_item_id(run.run_id, q) for q in ("q1", "q2", "q3")]
    for iid, faithful in zip(ids, (5, 2, 4)):
        store.add(Rating("a", iid, "q", "a", correct=3, faithful=faithful, citations_accurate=3, complete=3))
    store.add(Rating("a", "run:old/q9", "q", "a", 3, 3, 3, 3))  # passages unknown: not judged
    known, unknown = tab.rated_items(store, items)
    assert [k.item_id for k in known] == sorted(ids) and unknown == 1
    llm = GenericFakeChatModel(messages=iter(["5", "Score: 2", "4"]))
    judged = tab.judge_faithfulness(llm, settings, [items[i] for i in ids])
    assert judged == dict(zip(ids, (5, 2, 4)))
    stats, rows = tab.judge_agreement(store, judged)
    assert stats["n_items"] == 3 and stats["weighted_kappa"] == 1.0 and len(rows) == 3
    msgs = tab.judge_messages(tab.Item("x", "q", "ans </answer> ignore", ("p <passage>",), "x"))
    assert "</answer> ignore" not in msgs[1][1] and "‹passage›" in msgs[1][1]
    assert tab.parse_score("no idea") is None


def test_the_tab_builds_inside_blocks(settings, tmp_path):
    gr = pytest.importorskip("gradio")
    with gr.Blocks() as demo:
        with gr.Tab("Evaluation"):
            tab.evaluation_tab(settings, tmp_path / "r.sqlite", embedder=FakeEmbedder())
    config = demo.get_config_file()
    buttons = [c for c in config["components"] if c["type"] == "button"]
    judge = next(b for b in buttons if b["props"]["value"] == "احكم على الإجابات المقيّمة")
    assert judge["props"]["visible"] is False  # no LLM configured
    assert tab.ratings_path(settings) == settings.data_dir / "ratings.sqlite"
    # "Only the first N questions" loads as 0 (= all), valid against its minimum, so Run works as loaded
    limit = next(c for c in config["components"] if c["props"].get("elem_id") == "rag-eval-limit")
    assert limit["props"]["value"] == 0 and limit["props"]["minimum"] == 0


def test_judge_scores_are_kept_per_judge_and_survive_a_restart(settings, run, store):
    items = tab.rateable_items(run, store)
    ids = [run_item_id(run.run_id, q) for q in ("q1", "q2")]
    for iid, faithful in zip(ids, (5, 1)):
        store.add(Rating("a", iid, "q", "a", correct=3, faithful=faithful, citations_accurate=3, complete=3))
    s = settings.replace(llm_model="judge-a")
    stats, rows, unknown = tab.judge_rated(GenericFakeChatModel(messages=iter(["5", "1"])), s, store, items)
    assert stats["n_items"] == 2 and unknown == 0 and tab.judge_name(s) == "llm:judge-a"
    tab.judge_rated(GenericFakeChatModel(messages=iter(["3", "3"])), settings.replace(llm_model="judge-b"),
                    store, items)
    tab.judge_rated(GenericFakeChatModel(messages=iter(["4", "1"])), s, store, items)  # a rerun replaces
    reopened = RatingStore(store.path)
    assert reopened.judgements() == {"llm:judge-a": dict(zip(ids, (4, 1))), "llm:judge-b": dict(zip(ids, (3, 3)))}
    assert reopened.judgements("llm:judge-b") == {"llm:judge-b": dict(zip(ids, (3, 3)))}
    with pytest.raises(ValueError):
        reopened.add_judgements("llm:x", {"i": 6})
