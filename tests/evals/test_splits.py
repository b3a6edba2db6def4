"""Fixed tune/check halves, follow-ups asked after what they follow, gold ids over folder archives."""
import json
from collections import Counter
from pathlib import Path

from evals.gold import load_questions, split_of
from evals.run import run_eval
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, write_article

NEWS = Path(__file__).resolve().parents[2] / "evals" / "data" / "news.questions.jsonl"


def test_halves_are_fixed_by_the_id_and_balanced():
    questions = list(load_questions(NEWS))
    halves = Counter(q.split for q in questions)
    assert abs(halves["tune"] - halves["check"]) < 0.15 * len(questions)
    assert split_of("news-0001") == split_of("news-0001") and {split_of(f"q{i}") for i in range(20)} == {"tune", "check"}
    assert sum(q.follows is not None for q in questions) >= 30


def test_a_folder_archive_is_evaluated_by_the_ids_in_its_file_names(settings, tmp_path):
    arch = tmp_path / "arch"
    write_article(arch, "00001_BB-politics-7-20180101.txt", "تمويل الجماعات", "تعتمد الجماعات على تهريب النفط والفدية في تمويلها.")
    write_article(arch, "00002_CN-sport-3-20180102.txt", "كرة القدم", "فاز المنتخب الوطني بالبطولة بعد مباراة نهائية صعبة.")
    ingest(settings, [arch])
    q = tmp_path / "q.jsonl"
    rows = [{"id": "a", "question": "كيف تمول الجماعات نفسها؟", "answers": ["تهريب النفط"], "context_id": "BB-politics-7-20180101"},
            {"id": "b", "question": "ومن أين يأتي النفط المهرب؟", "answers": ["تهريب النفط"], "context_id": "BB-politics-7-20180101",
             "follows": "a"}]
    q.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    run = run_eval(settings, q, embedder=FakeEmbedder(), k=2, answers=True)
    assert run.summary["retrieval"]["recall@1"] == 1.0
    assert set(run.splits) <= {"tune", "check"} and sum(s["n_questions"] for s in run.splits.values()) == 2


def test_a_split_run_asks_only_that_half_and_a_follow_up_still_finds_what_it_follows(settings, tmp_path,
                                                                                    monkeypatch):
    import evals.run

    histories = {}
    real = evals.run.evaluate_question

    def recording(q, *a, history=(), **kw):
        histories[q.id] = list(history)
        return real(q, *a, history=history, **kw)

    monkeypatch.setattr(evals.run, "evaluate_question", recording)
    arch = tmp_path / "arch"
    write_article(arch, "00001_BB-politics-7-20180101.txt", "تمويل الجماعات", "تعتمد الجماعات على تهريب النفط والفدية في تمويلها.")
    ingest(settings, [arch])
    ids = [f"q{i}" for i in range(12)]
    first = next(i for i in ids if split_of(i) == "tune")
    follow = next(i for i in ids if split_of(i) == "check")
    rows = [{"id": i, "question": "كيف تمول الجماعات نفسها؟", "answers": ["تهريب النفط"],
             "context_id": "BB-politics-7-20180101"} for i in ids if i != follow]
    rows.append({"id": follow, "question": "وما دور الفدية؟", "answers": ["الفدية"],
                 "context_id": "BB-politics-7-20180101", "follows": first})
    q = tmp_path / "q.jsonl"
    q.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    run = run_eval(settings, q, embedder=FakeEmbedder(), k=2, split="check")
    assert {r.id for r in run.results} == {i for i in ids if split_of(i) == "check"}
    assert list(run.splits) == ["check"]
    assert histories[follow] == ["كيف تمول الجماعات نفسها؟"]  # its tune-half question


def test_a_retrieval_only_run_searches_a_follow_up_as_the_chain_would():
    from evals.gold import GoldQuestion
    from evals.run import evaluate_question
    from rag.answering.condense import condense_extractive

    class Recorder:  # records what is searched; the condensation itself is the real one
        queries: list = []

        def search(self, query, k, mode):
            self.queries.append(query)
            return []

    first = "كيف تمول الجماعات المتطرفة نفسها؟"
    follow = GoldQuestion("b", "وما دور الفدية؟", ("الفدية",), "d", follows="a")
    r = Recorder()
    evaluate_question(follow, r, 5, "hybrid", None, history=[first])
    assert r.queries == [condense_extractive(follow.question, [("user", first), ("assistant", "")])]
    assert r.queries[0] != follow.question
