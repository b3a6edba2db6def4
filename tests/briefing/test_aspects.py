"""Aspects discovered from passages: names are phrases of their own, section headings preferred."""
from __future__ import annotations

from dataclasses import replace

from rag.briefing.aspects import _GENERIC, _NAMING_STOP, discover_aspects
from rag.text.arabic import analyze, normalize, stem
from rag.types import Hit
from tests.briefing.archive import CHUNKS, TOPIC


def test_aspect_names_are_phrases_not_bare_topic_words(briefing):
    topic_terms = set(analyze(TOPIC))
    for sec in briefing.sections:
        assert len(sec.heading.split()) >= 2, sec.heading
        assert set(analyze(sec.heading)) - topic_terms, sec.heading


def test_aspects_take_section_headings_when_clusters_follow_them():
    heads = {"a2": "طرق التهريب عبر الموانئ", "a5": "التشريعات واسترداد القطع"}
    hits = [Hit(replace(c, section=heads[c.doc_id]), 1.0) for c in CHUNKS if c.doc_id in heads]
    names = [a.name for a in discover_aspects(TOPIC, hits, 4)]
    assert sorted(names) == sorted(heads.values())


def test_naming_word_lists_load_normalised_from_the_lexicon():
    assert normalize("أكدت") in _NAMING_STOP and normalize("في") in _NAMING_STOP  # stop words too
    assert stem(normalize("الدراسة")) in _GENERIC and "report" in _GENERIC


def test_a_name_is_a_noun_phrase_not_a_fragment_of_a_sentence():
    from rag.briefing.aspects import _edges, _noun_phrase, _surface

    assert not _edges("بعد التحريم المصري".split()) and not _edges("رغم تغلغلها".split())
    assert not _edges("ففي أحد السجون".split()) and _edges("واردات الصلب".split())
    assert _noun_phrase("وزير الخارجية الإيراني".split())  # bare -> definite: an annexation
    assert not _noun_phrase("السجون بعاملين".split()) and not _noun_phrase("الإيراني محمد جواد".split())
    # a clitic is dropped where it leads a name, kept inside one
    assert _surface("والألومنيوم") == "الألومنيوم" and _surface("والألومنيوم", lead=False) == "والألومنيوم"
