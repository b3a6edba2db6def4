"""The briefing dev set and its scoring (no index, no model: the pieces the eval is made of)."""
from __future__ import annotations

import json

from evals.briefing_eval import TOPICS, agreement, load_topics, score_topic, split_of, summarize
from rag.types import Briefing, BriefSection, BriefSentence, Citation


def test_dev_set_shape_and_fixed_halves():
    topics = load_topics()
    assert len(topics) >= 15 and len({t["id"] for t in topics}) == len(topics)
    for t in topics:
        assert t["corpus"] in ("demo", "ant5000") and isinstance(t["expected"], list)
        assert all(isinstance(d, str) and len(d) < 80 for d in t["expected"])  # ids, not text
    halves = {split_of(t["id"]) for t in topics}
    assert halves == {"tune", "check"}
    assert [split_of(t["id"]) for t in topics] == [split_of(t["id"]) for t in load_topics(TOPICS)]
    assert any(not t["expected"] for t in topics if split_of(t["id"]) == "check")


def _cite(n, doc):
    return Citation(n=n, chunk_id=f"c{n}", doc_id=doc, title="", date="", author="", source="",
                    text="", score=0.0)


def test_scoring_recall_precision_and_dropped():
    b = Briefing(topic="t", title="t", since="", until="", n_articles=2, source_names=(),
                 summary=(BriefSentence("a", (1,)),),
                 sections=(BriefSection("h", (BriefSentence("b", (2,), ("p2",)),
                                              BriefSentence("c", (1,), ("p1",)))),),
                 timeline=(), sources=(_cite(1, "x1"), _cite(2, "x2")),
                 dropped_aspects=("gone",))
    t = {"id": "demo-x", "expected": ["e1", "e3"]}
    row = score_topic(t, b, {"x1": "e1", "x2": "e2"}, section_of={"p1": "h", "p2": "other"}.get)
    assert row["recall"] == 0.5
    assert abs(row["precision"] - 2 / 3) < 1e-9
    assert row["aspect_precision"] == 1.0  # only p1 sits under a briefing heading, and rightly
    assert (row["dropped"], row["aspects"]) == (1, 2)
    s = summarize([row])
    assert s["dropped_share"] == 0.5 and s["recall"] == 0.5


def test_agreement_with_hand_labels(tmp_path):
    p = tmp_path / "labels.jsonl"
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"topic_id": "a", "text": "x  y", "on_topic": True, "on_aspect": True},
        {"topic_id": "a", "text": "z", "on_topic": False, "on_aspect": None}]), encoding="utf-8")
    got = agreement([{"topic_id": "a", "text": "x y", "proxy_on_topic": True},
                     {"topic_id": "a", "text": "z", "proxy_on_topic": True}], p)
    assert got["in_this_run"] == 2 and got["proxy_agreement"] == 0.5 and got["hand_on_aspect"] == 1.0


def test_an_on_aspect_label_counts_only_under_its_own_heading(tmp_path):
    from evals.briefing_eval import _sha1

    p = tmp_path / "labels.jsonl"
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"topic_id": "a", "text": "x", "heading_sha1": _sha1("عنوان"), "on_topic": True, "on_aspect": False},
        {"topic_id": "a", "text": "y", "heading": "آخر", "on_topic": True, "on_aspect": True}]), encoding="utf-8")
    got = agreement([{"topic_id": "a", "text": "x", "heading": "عنوان", "proxy_on_topic": True},
                     {"topic_id": "a", "text": "y", "heading": "عنوان", "proxy_on_topic": True}], p)
    assert got["on_aspect_labelled"] == 1 and got["hand_on_aspect"] == 0.0  # y was labelled elsewhere
