"""The ratings store: validation, round trips, CSV export and inter-rater agreement."""
from __future__ import annotations

import csv
import io
import threading

import pytest

from evals.ratings import (
    Feedback,
    Rating,
    RatingStore,
    feedback_item_id,
    run_item_id,
    weighted_kappa,
)


def _rating(rater="ليلى", item="run:r1/q1", correct=4, **kw):
    scores = {"faithful": 5, "citations_accurate": 3, "complete": 2, **kw}
    return Rating(rater=rater, item_id=item, question="من هو؟", answer="هو <b>أحمد</b>",
                  correct=correct, **scores)


@pytest.fixture
def store(tmp_path):
    return RatingStore(tmp_path / "data" / "ratings.sqlite")


@pytest.mark.parametrize("bad", [0, 6, 3.0, "3", True, None])
def test_rating_scores_are_validated(bad):
    with pytest.raises(ValueError, match="correct must be an integer from 1 to 5"):
        _rating(correct=bad)
    with pytest.raises(ValueError, match="complete"):
        _rating(complete=bad)


def test_rating_needs_rater_and_item():
    with pytest.raises(ValueError, match="rater"):
        _rating(rater=" ")
    with pytest.raises(ValueError, match="item id"):
        _rating(item="")


def test_item_ids():
    assert run_item_id("2024-01-01T10", "q7") == "run:2024-01-01T10/q7"
    assert feedback_item_id(3) == "feedback:3"


def test_add_and_list_with_filters(store):
    store.add(_rating("a", "i1"))
    store.add(_rating("b", "i1", correct=2))
    store.add(_rating("a", "i2", comment="جيد"))
    assert len(store.list()) == 3
    assert {r.rater for r in store.list(item_id="i1")} == {"a", "b"}
    assert [r.item_id for r in store.list(rater="a")] == ["i1", "i2"]
    [got] = store.list(item_id="i2", rater="a")
    assert got.comment == "جيد" and got.answer == "هو <b>أحمد</b>" and got.timestamp
    assert got.id is not None


def test_rerating_replaces_the_earlier_rating(store):
    store.add(_rating("a", "i1", correct=1))
    store.add(_rating("a", "i1", correct=5))
    [got] = store.list()
    assert got.correct == 5


def test_tables_created_in_a_fresh_file(tmp_path):
    path = tmp_path / "new" / "ratings.sqlite"
    assert RatingStore(path).list() == [] and RatingStore(path).list_feedback() == []


def test_concurrent_adds_from_threads(store):
    threads = [threading.Thread(target=store.add, args=(_rating(f"r{i}", "i1"),))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list(item_id="i1")) == 8


def test_export_csv_reads_back(store, tmp_path):
    store.add(_rating("a", "i1", comment='قال "نعم", ثم\nسكت'))
    store.add(_rating("b", "i1", correct=2))
    path = tmp_path / "ratings.csv"
    assert store.export_csv(path) == 2
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:3] == ["id", "rater", "item_id"]
    assert rows[0]["comment"] == 'قال "نعم", ثم\nسكت' and rows[0]["question"] == "من هو؟"
    assert [int(r["correct"]) for r in rows] == [4, 2]
    buf = io.StringIO()
    store.export_csv(buf)
    assert list(csv.DictReader(io.StringIO(buf.getvalue()))) == rows


def _rate_all(store, criterion_scores: dict[str, list[int]]):
    for rater, scores in criterion_scores.items():
        for n, score in enumerate(scores):
            if score is not None:
                store.add(_rating(rater, f"item{n}", correct=score))


def test_agreement_perfect(store):
    _rate_all(store, {"a": [5, 2, 3, 1], "b": [5, 2, 3, 1]})
    got = store.agreement("correct")
    assert got == {"criterion": "correct", "n_items": 4, "n_raters": 2,
                   "alpha": 1.0, "weighted_kappa": 1.0}


def test_agreement_known_disagreement(store):
    # Two items, scores swapped. Ordinal alpha by hand: n1 = n3 = 2, delta(1,3) = (4 - 2)^2 = 4;
    # D_o = (2*4 + 2*4) / 4 = 4; D_e = (2*2*4 + 2*2*4) / (4*3) = 8/3; alpha = 1 - 4/(8/3) = -0.5.
    # Quadratic kappa: observed sum w*O = 0.25 (w = 4/16 on both cells), expected = 0.125 -> -1.
    _rate_all(store, {"a": [1, 3], "b": [3, 1]})
    got = store.agreement("correct")
    assert got["alpha"] == -0.5 and got["weighted_kappa"] == -1.0 and got["n_items"] == 2


def test_agreement_three_raters_has_no_kappa(store):
    # item2 is rated once only and left out; three raters overlap on the others
    _rate_all(store, {"a": [5, 1, 4], "b": [5, 1, None], "c": [5, 2, None]})
    got = store.agreement("correct")
    assert got["n_items"] == 2 and got["n_raters"] == 3
    assert got["weighted_kappa"] is None and 0 < got["alpha"] < 1


def test_agreement_not_computable(store):
    assert store.agreement("faithful")["alpha"] is None
    _rate_all(store, {"a": [4, None], "b": [None, 4]})  # no item rated twice
    got = store.agreement("correct")
    assert got["n_items"] == 0 and got["alpha"] is None and got["weighted_kappa"] is None
    _rate_all(store, {"c": [4, 4], "d": [4, 4]})  # no variation: alpha undefined
    assert store.agreement("correct")["alpha"] is None
    with pytest.raises(ValueError, match="criterion must be one of"):
        store.agreement("style")


def test_weighted_kappa_matches_hand_value():
    # a = [1, 2], b = [2, 2]: observed w*O = 0.5 * 1/16; expected: b is always 2, so
    # E = 0.5 at (1,2) and (2,2) -> w*E = 0.5 * 1/16; kappa = 1 - 1 = 0
    assert weighted_kappa([1, 2], [2, 2]) == 0.0
    assert weighted_kappa([], []) is None
    assert weighted_kappa([3, 3], [3, 3]) is None
    with pytest.raises(ValueError):
        weighted_kappa([1], [1, 2])


def test_feedback_round_trip_and_validation(store):
    citations = [{"n": 1, "doc_id": "d1", "title": "عنوان"}]
    fid = store.add_feedback(Feedback(thumbs=-1, question="متى؟", answer="عام 1958 [1]",
                                      comment="ناقص", citations=citations, mode="extractive",
                                      settings={"k": 5, "hybrid": True}))
    store.add_feedback(Feedback(thumbs=1, question="q", answer="a"))
    first, second = store.list_feedback()
    assert first.id == fid and first.thumbs == -1 and first.citations == citations
    assert first.settings == {"k": 5, "hybrid": True} and first.comment == "ناقص"
    assert first.mode == "extractive" and first.timestamp
    assert second.thumbs == 1 and second.citations == [] and second.settings == {}
    for bad in (0, 2, True):
        with pytest.raises(ValueError, match="thumbs"):
            Feedback(thumbs=bad, question="q", answer="a")


def test_feedback_on_one_answer_is_one_row_per_user(store):
    """The thumb, then a comment, then the other thumb: the same row; withdrawn, it is gone."""
    aid = store.issue_answer("alice", {"question": "متى؟", "answer": "عام 1958 [1]"})
    fid = store.add_feedback(Feedback(thumbs=1, question="متى؟", answer="عام 1958 [1]", user="alice", answer_id=aid))
    assert store.add_feedback(Feedback(thumbs=1, question="متى؟", answer="عام 1958 [1]", comment="واضح",
                                       user="alice", answer_id=aid)) == fid
    assert store.add_feedback(Feedback(thumbs=-1, question="متى؟", answer="عام 1958 [1]", comment="بل ناقص",
                                       user="alice", answer_id=aid)) == fid
    bob = store.add_feedback(Feedback(thumbs=1, question="متى؟", answer="عام 1958 [1]", user="bob", answer_id=aid))
    [mine] = store.list_feedback(user="alice")
    assert (mine.id, mine.thumbs, mine.comment) == (fid, -1, "بل ناقص") and bob != fid
    assert store.remove_feedback("alice", aid) == 1 and store.list_feedback(user="alice") == []
    assert [f.id for f in store.list_feedback()] == [bob]


def test_an_old_feedback_table_gains_user_and_answer_id_and_answers_are_issued(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:  # the feedback table as it was before identities
        con.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY, thumbs INTEGER NOT NULL, question TEXT NOT NULL, "
                    "answer TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '', citations TEXT NOT NULL DEFAULT '[]', "
                    "mode TEXT NOT NULL DEFAULT '', settings TEXT NOT NULL DEFAULT '{}', timestamp TEXT NOT NULL)")
        con.execute("INSERT INTO feedback (thumbs, question, answer, timestamp) VALUES (1, 'q', 'a', '2026-01-01')")
    store = RatingStore(path)
    [old] = store.list_feedback()
    assert old.user == "" and old.answer_id == "" and old.question == "q"
    aid = store.issue_answer("alice", {"question": "متى؟", "answer": "عام 1958 [1]"}, {"since": "2018"})
    store.add_feedback(Feedback(thumbs=-1, question="متى؟", answer="عام 1958 [1]", user="alice", answer_id=aid))
    assert [f.user for f in store.list_feedback(user="alice")] == ["alice"]
    got = RatingStore(path).get_answer(aid)
    assert got["user"] == "alice" and got["payload"]["answer"] == "عام 1958 [1]" and got["filters"] == {"since": "2018"}
    assert store.get_answer("nope") is None and store.get_answer("") is None


def _age(store, days, *answer_ids):
    """Make issued answers `days` old."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    stamp = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    with sqlite3.connect(store.path) as con:
        con.executemany("UPDATE answers SET timestamp=? WHERE id=?", [(stamp, a) for a in answer_ids])


def test_issued_answers_past_the_retention_are_pruned_unless_feedback_names_them(store):
    rated, old, recent, fresh = (store.issue_answer("alice", {"question": f"q{i}", "answer": f"a{i}"})
                                 for i in range(4))
    fid = store.add_feedback(Feedback(thumbs=1, question="q0", answer="a0", user="alice", answer_id=rated))
    store.add(_rating(item=feedback_item_id(fid)))  # a rating of that feedback
    _age(store, 31, rated, old)
    _age(store, 29, recent)
    assert store.prune_answers(30) == 1
    assert store.get_answer(old) is None
    assert all(store.get_answer(a) for a in (rated, recent, fresh))
    assert store.prune_answers(30) == 0  # nothing more to go
    assert [f.answer_id for f in store.list_feedback()] == [rated] and len(store.list()) == 1


def test_issuing_answers_prunes_at_most_hourly_and_0_keeps_them_for_ever(tmp_path, monkeypatch):
    path = tmp_path / "ratings.sqlite"
    kept = RatingStore(path)  # the default: no retention
    first = kept.issue_answer("bob", {"question": "q", "answer": "a"})
    _age(kept, 400, first)
    kept.issue_answer("bob", {"question": "q", "answer": "a"})
    assert kept.get_answer(first) is not None
    app = RatingStore(path, answer_retention_days=30)  # as the app opens it (Settings)
    app.issue_answer("bob", {"question": "q", "answer": "a"})  # the first answer after start prunes
    assert app.get_answer(first) is None
    second = app.issue_answer("bob", {"question": "q", "answer": "a"})
    _age(app, 31, second)
    app.issue_answer("bob", {"question": "q", "answer": "a"})
    assert app.get_answer(second) is not None  # pruned less than an hour ago
    monkeypatch.setattr("evals.ratings.PRUNE_EVERY_S", 0)
    app.issue_answer("bob", {"question": "q", "answer": "a"})
    assert app.get_answer(second) is None

