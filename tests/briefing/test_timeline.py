"""The timeline: events dated by the date found in their own text, trimmed to its clause."""
from __future__ import annotations

import pytest

from rag.briefing.select import Cand
from rag.briefing.timeline import CLAUSE_WORDS, timeline_of
from rag.text.dates import find_dates
from rag.types import Chunk
from tests.briefing.archive import ARTICLES


def test_timeline_sorted_dated_and_drawn_from_text(briefing):
    dates = [e.date for e in briefing.timeline]
    assert dates and dates == sorted(dates)
    article_dates = {d for _, d, *_ in ARTICLES}
    assert any(d not in article_dates for d in dates)  # a date found in the text itself


def test_timeline_events_carry_a_date_found_in_their_text(briefing):
    in_text = [e for e in briefing.timeline if e.date in {d.iso for d in find_dates(e.text)}]
    assert len(in_text) >= 3
    assert in_text == list(briefing.timeline)  # never an article's publication date
    for e in in_text:  # trimmed to the clause around the date, not the whole sentence
        assert len(e.text.split()) <= 30
    assert any("13 أكتوبر 2015" in e.text and e.date == "2015-10-13" for e in briefing.timeline)


@pytest.mark.parametrize("text,iso", [
    ("تصاعد النهب عام 2014 بعد الحرب", "2014"),
    ("ضبطت الجمارك في 13 أكتوبر 1958 شحنة", "1958-10-13"),
    ("استعادت الوزارة في آذار 2021 قطعا", "2021-03"),
    ("في ١٣ تشرين الأول ٢٠١٩ خرجت", "2019-10-13"),
    ("صدر القرار 2018-03-05 رسميا", "2018-03-05"),
    ("بتاريخ 05/03/2018 أعلن", "2018-03-05"),
])
def test_find_dates(text, iso):
    assert [d.iso for d in find_dates(text)] == [iso]


def test_find_dates_ignores_plain_numbers():
    assert find_dates("شارك 2000 شخص في المسيرة و300 متطوع") == []


def _cand(text: str, doc: str = "d", date: str = "2020-05-01") -> Cand:
    return Cand(text, (Chunk(f"{doc}-0", doc, text, 0, 0, len(text), date=date),))


def test_long_sentence_cut_to_a_window_around_its_date():
    words = " ".join(f"كلمة{i}" for i in range(40))
    c = _cand(f"{words} وفي 13 أكتوبر 2015 ضبطت الجمارك شحنة كبيرة في الميناء")
    (ev,) = timeline_of([c], {"d": 1}, find_dates)
    assert (ev.date, ev.citations) == ("2015-10-13", (1,))
    assert "13 أكتوبر 2015" in ev.text and ev.text.startswith("… ")
    assert len(ev.text.split()) <= CLAUSE_WORDS + 1  # the words and the ellipsis


def test_a_finder_without_spans_keeps_the_whole_sentence():
    c = _cand("أعلنت الوزارة خطة جديدة لحماية المواقع الأثرية")
    (ev,) = timeline_of([c], {"d": 1}, lambda text: ["2019-02-03"])
    assert (ev.date, ev.text) == ("2019-02-03", c.text)


def test_a_sentence_without_a_date_gives_no_event_whatever_its_article_date():
    c = _cand("أعلنت الوزارة خطة جديدة لحماية المواقع الأثرية", date="2018-07-09")
    assert timeline_of([c], {"d": 1}, lambda text: []) == ()


def test_the_same_event_told_twice_is_one_event():
    a = _cand("وضبطت الجمارك في 13 أكتوبر 2015 شحنة تماثيل مهربة في الميناء", doc="d")
    b = _cand("ضبطت الجمارك في 13 أكتوبر 2015 شحنة تماثيل مهربة في ميناء", doc="e")
    (ev,) = timeline_of([a, b], {"d": 1, "e": 2}, find_dates)
    assert ev.citations == (1,)
