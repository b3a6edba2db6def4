"""Which passages a briefing may use: the filters re-applied, and relevance judged relative to
the best hits of the same search (an off-topic article filling the retriever's k is left out)."""
from __future__ import annotations

from rag.briefing.build import build_briefing
from rag.briefing.relevance import REL_MIN, Relevance, allowed
from rag.config import Settings
from rag.types import Filters, Hit
from tests.briefing.archive import CHUNKS, ON_TOPIC, TEXT, TOPIC, all_sentences, padded_search, search


def test_filters_are_reapplied_even_if_search_ignores_them():
    sloppy = lambda q, f, k: search(q, Filters(), k)  # noqa: E731
    b = build_briefing(TOPIC, sloppy, Settings(), Filters(until="2016-12-31"))
    assert {c.doc_id for c in b.sources} == {"a1", "a2"}


def test_off_topic_articles_are_left_out_even_when_retrieved():
    for b in (build_briefing(TOPIC, padded_search, Settings()),
              build_briefing(TOPIC, lambda q, f, k: [Hit(h.chunk, h.score) for h in
                                                      padded_search(q, f, k)], Settings())):
        cited = {c.doc_id for c in b.sources}
        assert cited and cited <= ON_TOPIC
        texts = " ".join(s.text for s in all_sentences(b)) + " ".join(e.text for e in b.timeline)
        assert "الزيتون" not in texts and "الملعب" not in texts


def test_small_relevant_set_gives_a_short_briefing():
    one = lambda q, f, k: [h for h in padded_search(q, f, k) if h.chunk.doc_id in {"a4", "o1", "o2"}]  # noqa: E731
    b = build_briefing(TOPIC, one, Settings())
    assert {c.doc_id for c in b.sources} == {"a4"}
    assert len({s.text for s in all_sentences(b)}) <= len(TEXT["a4"].split(". "))
    assert len(b.sections) <= 1


def test_allowed_drops_repeats_and_passages_outside_the_filters():
    hits = [Hit(c, 1.0) for c in CHUNKS]
    assert [h.chunk.id for h in allowed(hits + hits, Filters())] == [c.id for c in CHUNKS]
    kept = allowed(hits, Filters(since="2019", until="2021-06", sources=("مجلة التراث",)))
    assert {h.chunk.doc_id for h in kept} == {"a5"}


def test_relevance_is_relative_to_the_best_hit_not_absolute():
    judge_hits = padded_search(TOPIC, Filters(), 50)
    judge = Relevance(TOPIC, judge_hits)
    rel = judge.scores(judge_hits)
    assert judge.lexical
    by_doc = {h.chunk.doc_id: rel[h.chunk.id] for h in judge_hits}
    assert by_doc["o1"] < REL_MIN <= max(by_doc[d] for d in ON_TOPIC)
    kept = judge.keep(judge_hits)
    assert {h.chunk.doc_id for h in kept} <= ON_TOPIC and judge.docs == {h.chunk.doc_id for h in kept}
    ranks = [rel[h.chunk.id] for h in kept]
    assert ranks == sorted(ranks, reverse=True)


def test_follow_up_searches_cannot_bring_an_unjudged_article_in():
    pool = [h for h in search(TOPIC, Filters(), 50) if h.chunk.doc_id != "a4"]
    judge = Relevance(TOPIC, pool)
    judge.keep(pool)
    follow_up = search("بيع الآثار المهربة عبر الإنترنت", Filters(), 50)
    assert any(h.chunk.doc_id == "a4" for h in follow_up)
    assert all(h.chunk.doc_id != "a4" for h in judge.admit(follow_up))
