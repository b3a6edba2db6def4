import pytest

from rag.text.dates import find_dates, parse_arabic_date


@pytest.mark.parametrize("text, iso", [
    ("الخميس 19/يوليه/2018 - 09:32 م", "2018-07-19T21:32"),  # Egyptian month, day name, PM
    ("الثلاثاء 12/أبريل/2016 - 11:15 ص", "2016-04-12T11:15"),
    ("الاثنين 01/يناير/2018 - 12:05 ص", "2018-01-01T00:05"),  # 12 AM is midnight
    ("13 أكتوبر 1958", "1958-10-13"),
    ("5 ابريل 2020", "2020-04-05"),
    ("3 يونيه 2017", "2017-06-03"),
    ("3 كانون الثاني 2020", "2020-01-03"),  # Levantine
    ("الخميس 14 شباط 2019 - 08:40 م", "2019-02-14T20:40"),
    ("1 تشرين الأول 2015", "2015-10-01"),
    ("20 آذار 2003", "2003-03-20"),
    ("9 آب 2014", "2014-08-09"),
    ("15 كانون الأول (ديسمبر) 2019", "2019-12-15"),
    ("الأحد ٥ تموز ٢٠٢٠ الساعة ١٠:١٥ ص", "2020-07-05T10:15"),  # Arabic-Indic digits
    ("١٩ يوليو ٢٠١٨", "2018-07-19"),
    ("19/07/2018", "2018-07-19"),  # numeric d/m/y
    ("5-6-2019 14:30", "2019-06-05T14:30"),
    ("2018/7/19", "2018-07-19"),
    ("Sun, 18 Feb 2018 21:35:43 +0400", "2018-02-18T21:35"),  # RFC 2822, time as written
    ("2013-05-13T13:55:44+04:00", "2013-05-13T13:55"),  # ISO
    ("2018-07-19", "2018-07-19"),
    ("يوليو 2018", "2018-07"),
    ("2018", "2018"),
    ("March 3, 2020", "2020-03-03"),  # long tail via dateparser
    ("محمود رشدي", ""),
    ("", ""),
    ("32/13/2018", ""),
])
def test_parse_arabic_date(text, iso):
    assert parse_arabic_date(text) == iso


def test_find_dates_spans_and_precision():
    text = "ولد في 13 أكتوبر 1958، وفي عام 2018 انتقل، واندلعت الأحداث في مارس 2011 ثم 5/6/2019."
    found = find_dates(text)
    assert [iso for iso, _, _ in found] == ["1958-10-13", "2018", "2011-03", "2019-06-05"]
    assert [text[s:e] for _, s, e in found] == ["13 أكتوبر 1958", "عام 2018", "مارس 2011", "5/6/2019"]


def test_find_dates_ignores_bare_numbers_and_hijri_years():
    assert find_dates("قُتل 2018 شخصًا وأصيب 1500 في عام 1439 هـ") == []
    text = "خلال العام ٢٠٢٠ والسنة 1999"
    assert [(iso, text[s:e]) for iso, s, e in find_dates(text)] == [
        ("2020", "العام ٢٠٢٠"), ("1999", "والسنة 1999")]


def test_one_finder_serves_metadata_and_the_briefing_timeline():
    """The briefing's forms (year cues such as منذ / في, "من ... عام", English months) and
    ingest's (day names, times, month pairs) are one set of patterns."""
    text = "منذ 2011 تغير الكثير، وفي 13 من أكتوبر عام 1958 وقع الحدث، ثم in October 1999 and since 2004."
    found = find_dates(text)
    assert [f.iso for f in found] == ["2011", "1958-10-13", "1999-10", "2004"]
    assert [text[f.start:f.end] for f in found][:2] == ["منذ 2011", "13 من أكتوبر عام 1958"]
    assert find_dates("Demarch 2018 and 2018 people") == []  # a month needs a word boundary; a bare number is no year
    assert [f.iso for f in find_dates("الثلاثاء 5 مارس 2019 - 10:15 م")] == ["2019-03-05T22:15"]
