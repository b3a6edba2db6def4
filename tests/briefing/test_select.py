"""Choosing sentences: candidates worth quoting, MMR with per-article caps, spread for the LLM."""
from __future__ import annotations

from rag.briefing.select import Selector, candidates, spans, spread
from rag.types import Chunk, Filters, Hit
from tests.briefing.archive import CHUNKS, TOPIC, search


def test_summary_has_three_to_five_central_sentences_not_repeated_in_sections(briefing):
    assert 3 <= len(briefing.summary) <= 5
    summary = {s.text for s in briefing.summary}
    assert len(summary) == len(briefing.summary)
    body = [s.text for sec in briefing.sections for s in sec.sentences]
    assert sum(t in summary for t in body) <= 1


def test_a_clause_ending_in_a_colon_joins_what_follows_on_its_line():
    text = "وقال المسؤول: إن الشبكات تنشط في الشمال. وتابع حديثه.\nالسطر التالي: هنا"
    got = [text[s:e] for s, e in spans(text)]
    assert got[0] == "وقال المسؤول: إن الشبكات تنشط في الشمال."
    assert "وتابع حديثه." in got and got[-1] == "السطر التالي: هنا"


def test_candidates_skip_short_sentences_and_the_title_and_keep_their_offset():
    c = Chunk("x", "d", "عنوان المقال هنا الآن جدا\nقصيرة جدا. يعمل الوسطاء على نقل القطع المسروقة إلى مخازن سرية.",
              0, 100, 190, title="عنوان المقال هنا الآن جدا")
    got = candidates([Hit(c, 1.0)])
    assert [g.text for g in got] == ["يعمل الوسطاء على نقل القطع المسروقة إلى مخازن سرية."]
    assert got[0].offset == 100 + c.text.index("يعمل") and got[0].doc == "d"


def test_candidates_for_an_aspect_must_share_a_term_with_it_or_the_topic():
    c = next(c for c in CHUNKS if c.doc_id == "o1")
    assert candidates([Hit(c, 1.0)]) and not candidates(
        [Hit(c, 1.0)], topic_terms=frozenset({"هرب"}), aspect_terms=frozenset({"اثر"}))


def test_selector_spreads_picks_over_articles():
    cands = candidates(search(TOPIC, Filters(), 50))
    picked = Selector(cands, TOPIC).pick(cands, 4)
    assert len(picked) == 4 and len({c.doc for c in picked}) == 4  # one per article when enough
    assert len({c.text for c in picked}) == 4


def test_spread_caps_passages_per_article():
    hits = [Hit(c, 1.0) for c in CHUNKS]  # a1, a1, a2, a2, a3, ...
    got = spread(hits, 3, per_doc=1)
    assert [h.chunk.doc_id for h in got] == ["a1", "a2", "a3"]
    assert len(spread(hits, 50, per_doc=2)) == len(hits)
