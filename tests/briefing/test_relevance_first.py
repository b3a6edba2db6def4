"""Relevance first: on-topic, on-aspect sentences only; unsupported aspects become open
questions; an honest header; the topic's own timeline; invisible characters stripped."""
from __future__ import annotations

import dataclasses
import json

import pytest

from rag.briefing.build import build_briefing, embedder_of
from rag.briefing.relevance import load_thresholds
from rag.config import Settings
from tests.briefing import topical as T
from tests.fakes import FakeEmbedder

INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u061c"


def _build(**kw):
    args = dict(embedder=FakeEmbedder(), aspects=T.ASPECTS, thresholds=T.THRESHOLDS)
    args.update(kw)
    return build_briefing(T.TOPIC, T.search, Settings(), **args)


@pytest.fixture(scope="module")
def b():
    return _build()


def _texts(b):
    return [s.text for s in b.summary] + [s.text for sec in b.sections for s in sec.sentences]


def _same(a: str, b: str) -> bool:
    def strip(t: str) -> str:
        return "".join(ch for ch in t if ch not in INVISIBLE)

    return " ".join(strip(a).split()) == " ".join(strip(b).split())


def test_sentences_stay_under_their_aspect(b):
    heads = {sec.heading: [s.text for s in sec.sentences] for sec in b.sections if sec.aspect}
    assert set(heads) == {"الشركات الواجهة", "الحوالات غير الرسمية"}
    other = [sec for sec in b.sections if not sec.aspect]
    assert [sec.heading for sec in other] in ([], ["ومما ورد أيضًا"]) and b.sections[-1].aspect == (not other)
    front = heads["الشركات الواجهة"]
    hawala = heads["الحوالات غير الرسمية"]
    assert front and hawala
    assert not any(_same(t, h) for t in front for h in T.HAWALA + (T.UNDATED[0],))
    assert not any(_same(t, f) for t in hawala for f in T.FRONT + (T.UNDATED[1],))
    # on the topic but on no aspect: never under an aspect's heading (at most «ومما ورد أيضًا»)
    assert not any(_same(t, T.GENERAL) for ts in heads.values() for t in ts)


def test_off_topic_sentence_is_left_out_everywhere(b):
    assert not any(_same(t, T.OFF_TOPIC) for t in _texts(b))
    assert not any("مسار" in ev.text for ev in b.timeline)
    assert not any("مسار" in f.text for f in b.figures)


def test_unsupported_aspect_is_dropped_and_an_open_question(b):
    assert "العملات الرقمية" not in [sec.heading for sec in b.sections]
    assert b.open_questions == ("العملات الرقمية",)
    assert "العملات الرقمية" in b.dropped_aspects


def test_no_numbered_headings_and_summary_from_different_sources():
    b = _build(aspects=())  # discovered aspects only
    assert b.sections
    assert not any("جانب" in sec.heading or "Aspect" in sec.heading for sec in b.sections)
    docs = [s.citations for s in b.summary]
    assert len(docs) == len(set(docs))  # one sentence per source while others remain


def test_header_counts_undated_and_unsourced(b):
    cited = {c.doc_id for c in b.sources}
    assert "f2" in cited
    assert (b.n_undated, b.n_unsourced) == (1, 1)
    assert b.n_considered == 3 and b.n_articles == len(b.sources)
    dated = sorted(c.date for c in b.sources if c.date)
    assert (b.since, b.until) == (dated[0], dated[-1])


def test_timeline_is_on_topic_dated_in_order_with_the_sentence_date(b):
    dates = [ev.date for ev in b.timeline]
    assert dates == sorted(dates)
    assert "2015-03" in dates and "2016" in dates
    assert "2019" not in dates  # the off-topic sentence's date
    assert "2017-09-03" not in dates  # an article's date is not an event's
    n = {c.doc_id: c.n for c in b.sources}
    for ev in b.timeline:
        assert ev.citations and all(1 <= m <= len(b.sources) for m in ev.citations)
    assert [ev.citations for ev in b.timeline if ev.date == "2015-03"] == [(n["f1"],)]
    assert len({ev.text for ev in b.timeline}) == len(b.timeline)


def test_key_figures_have_units_and_sources(b):
    values = [f.value for f in b.figures]
    assert any("37 شركة" in v for v in values)
    assert not any(v.strip() in ("2016", "2015") for v in values)
    assert all(f.citations for f in b.figures)


def test_invisible_characters_are_stripped(b):
    everything = _texts(b) + [ev.text for ev in b.timeline] + [c.quote for c in b.sources]
    assert any("الحوالات" in t for t in everything)
    assert not any(ch in t for t in everything for ch in INVISIBLE)


def test_thin_coverage_says_so_and_stays_short():
    b = _build(thresholds=dataclasses.replace(T.THRESHOLDS, thin=5))
    assert b.coverage_note
    assert len(b.summary) <= 2 and all(len(sec.sentences) <= 2 for sec in b.sections)


def test_a_topic_the_archive_does_not_cover_gives_nothing_to_read():
    b = build_briefing("مهرجان السينما الأوروبية", T.search, Settings(), embedder=FakeEmbedder(),
                       aspects=("الأفلام",), thresholds=T.THRESHOLDS)
    assert not (b.summary or b.sections or b.timeline or b.sources)
    assert b.open_questions == ("الأفلام",)


def test_thresholds_come_from_the_data_file(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"lexical": {"min_support": 3, "thin": 1},
                             "models": {"m": {"topic": 0.8, "aspect": 0.7, "lex_weight": 0.2}}}))
    t = load_thresholds("m", p)
    assert (t.topic, t.aspect, t.lex_weight, t.model, t.dense) == (0.8, 0.7, 0.2, "m", True)
    other = load_thresholds("another-model", p)
    assert not other.dense and other.min_support == 3
    # int8 vectors of a model keep its cosine scale, and so its thresholds; a longer name does not
    assert load_thresholds("m+onnx-int8", p).topic == 0.8 and not load_thresholds("m2", p).dense
    shipped = load_thresholds("intfloat/multilingual-e5-small")
    assert shipped.dense, "rag/briefing/thresholds.json carries fitted e5 thresholds"


def test_the_embedder_behind_a_retriever_is_found():
    class Store:
        embedder = FakeEmbedder()

    class Retriever:
        store = Store()

        def search(self, q, f, k):
            return []

    assert embedder_of(Retriever().search) is Store.embedder
    assert embedder_of(T.search) is None


def test_the_llm_writes_from_the_selected_on_topic_sentences():
    from tests.briefing.test_llm_writer import Scripted

    llm = Scripted(*(["تعتمد الجماعات على الشركات الواجهة [1]."] * 6))
    b = _build(llm=llm)
    prompts = [m[1][1] for m in llm.sent]
    assert prompts and not any(T.OFF_TOPIC[:30] in p for p in prompts)
    section_prompts = [p for p in prompts if "Aspect: الشركات الواجهة" in p]
    assert section_prompts and any(f in section_prompts[0] for f in T.FRONT + (T.UNDATED[1],))
    assert not any(h[5:40] in section_prompts[0] for h in T.HAWALA)  # only its own sentences
    n = len(b.sources)
    for s in list(b.summary) + [s for sec in b.sections for s in sec.sentences]:
        assert s.citations and all(1 <= m <= n for m in s.citations)
