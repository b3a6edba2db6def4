"""Briefing ratings: saved briefings by content id, 1-5 per criterion per rater (re-rating
replaces), per-criterion means and agreement over briefings two raters scored, CSV/JSON export."""
from __future__ import annotations

import csv
import json
import sqlite3
import threading

import pytest

from evals.briefing_ratings import CRITERIA, BriefingRatingStore, agreement_of, briefing_id


@pytest.fixture
def store(tmp_path):
    return BriefingRatingStore(tmp_path / "data" / "ratings.sqlite")


def _all(score):
    return {c: score for c in CRITERIA}


def test_a_briefing_is_saved_once_under_its_content_id(store):
    a = store.save_briefing("تمويل الجماعات", "# إحاطة\n\nنص [1]", "<p>نص</p>", {"since": "2018"}, user="ada")
    again = store.save_briefing("تمويل  الجماعات", "# إحاطة\n\nنص [1]", "<p>نص</p>", {"since": "2018"}, user="bob")
    other = store.save_briefing("تمويل الجماعات", "# إحاطة\n\nنص آخر [1]")
    assert a == again != other and a == briefing_id("تمويل الجماعات", {"since": "2018"}, "# إحاطة\n\nنص [1]")
    saved = store.briefing(a)
    assert (saved.topic, saved.user, saved.filters, saved.html) == ("تمويل الجماعات", "ada", {"since": "2018"}, "<p>نص</p>")
    assert [b.id for b in store.briefings()] == [other, a]  # newest first
    assert store.briefing("brief:nope") is None
    with pytest.raises(ValueError):
        store.save_briefing(" ", "text")


def test_ratings_are_one_row_per_criterion_and_rerating_replaces(store, tmp_path):
    bid = store.save_briefing("t", "text")
    assert store.rate("ليلى", bid, {**_all(4), "citations": 2}, "مراجع ناقصة") == len(CRITERIA)
    store.rate("ليلى", bid, {**_all(5), "citations": 3})
    rows = store.ratings(briefing_id=bid)
    assert len(rows) == len(CRITERIA) and {r.criterion for r in rows} == set(CRITERIA)
    got = {r.criterion: r for r in rows}
    assert got["citations"].score == 3 and got["on_topic"].score == 5 and got["on_topic"].rater == "ليلى"
    assert got["on_topic"].topic == "t" and got["on_topic"].timestamp and got["on_topic"].comment == ""
    # stored as rows of (rater, briefing_id, topic, criterion, score, comment, timestamp)
    with sqlite3.connect(store.path) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(briefing_ratings)")]
    assert cols == ["id", "rater", "briefing_id", "topic", "criterion", "score", "comment", "timestamp"]


@pytest.mark.parametrize("bad", [0, 6, 2.0, "3", True, None])
def test_scores_are_validated(store, bad):
    bid = store.save_briefing("t", "text")
    with pytest.raises(ValueError, match="integer from 1 to 5"):
        store.rate("a", bid, {**_all(3), "coverage": bad})


def test_every_criterion_a_known_briefing_and_a_rater_are_required(store):
    bid = store.save_briefing("t", "text")
    with pytest.raises(ValueError, match="missing"):
        store.rate("a", bid, {"on_topic": 3})
    with pytest.raises(ValueError, match="unknown"):
        store.rate("a", bid, {**_all(3), "style": 4})
    with pytest.raises(ValueError, match="no saved briefing"):
        store.rate("a", "brief:0", _all(3))
    with pytest.raises(ValueError, match="rater"):
        store.rate("  ", bid, _all(3))


def test_summary_means_and_agreement_over_briefings_two_raters_scored(store):
    ids = [store.save_briefing(f"t{i}", f"text {i}") for i in range(3)]
    for bid, (x, y) in zip(ids, [(5, 5), (3, 2), (1, 1)]):
        store.rate("a", bid, {**_all(x), "readability": 4})
        store.rate("b", bid, {**_all(y), "readability": 4})
    solo = store.save_briefing("t9", "text 9")
    store.rate("c", solo, _all(2))  # rated once: in the means, not in agreement
    rows = {r["criterion"]: r for r in store.summary()}
    on = rows["on_topic"]
    assert (on["n_ratings"], on["n_briefings"], on["n_shared"], on["n_raters"]) == (7, 4, 3, 2)
    assert on["mean"] == round((5 + 5 + 3 + 2 + 1 + 1 + 2) / 7, 3)
    # a, b: (5,5), (3,2), (1,1) -> by hand (evals.agreement): ordinal alpha and weighted kappa
    from evals.agreement import krippendorff_alpha, weighted_kappa
    assert on["alpha"] == krippendorff_alpha([[5, 3, 1], [5, 2, 1]], "ordinal") and on["alpha"] > 0.8
    assert on["weighted_kappa"] == weighted_kappa([5, 3, 1], [5, 2, 1]) and on["weighted_kappa"] > 0.8
    assert rows["readability"]["alpha"] is None  # everyone said 4: no variation, alpha undefined
    assert [r["criterion"] for r in agreement_of([])] == list(CRITERIA)
    assert all(r["mean"] is None for r in agreement_of([]))
    mine = {r["criterion"]: r for r in store.summary(rater="c")}
    assert mine["on_topic"]["n_ratings"] == 1 and mine["on_topic"]["alpha"] is None


def test_export_csv_and_json(store, tmp_path):
    bid = store.save_briefing("الموضوع", "text")
    store.rate("ليلى", bid, _all(4), "تعليق, بفاصلة")
    store.rate("omar", bid, _all(3))
    assert store.export_csv(tmp_path / "b.csv") == 2 * len(CRITERIA)
    with open(tmp_path / "b.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["topic"] == "الموضوع" and {r["rater"] for r in rows} == {"ليلى", "omar"}
    assert any(r["comment"] == "تعليق, بفاصلة" for r in rows)
    assert store.export_csv(tmp_path / "mine.csv", rater="omar") == len(CRITERIA)
    assert store.export_json(tmp_path / "b.json") == 2 * len(CRITERIA)
    doc = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert doc["criteria"] == list(CRITERIA) and doc["scale"] == [1, 2, 3, 4, 5] and doc["exported"]
    assert {r["criterion"] for r in doc["summary"]} == set(CRITERIA) and len(doc["ratings"]) == 10


def test_same_file_as_the_answer_ratings_and_thread_safe(tmp_path):
    from evals.ratings import RatingStore

    path = tmp_path / "ratings.sqlite"
    RatingStore(path)
    store = BriefingRatingStore(path)
    bid = store.save_briefing("t", "text")
    threads = [threading.Thread(target=store.rate, args=(f"r{i}", bid, _all(i % 5 + 1))) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.ratings()) == 6 * len(CRITERIA) and RatingStore(path).list() == []
