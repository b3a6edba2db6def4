"""The word lists ingest.clean loads from rag/text/lexicon: each entry does what its list says."""
import pytest

from ingest.clean import clean_document
from rag.text import lexicon
from rag.types import SourceDoc

PARA = "تواجه الدول تحديات متزايدة في ضبط حدودها الطويلة، وتعتمد على التقنيات الحديثة والتعاون الإقليمي."
LISTS = ["ad_filler", "ad_words", "byline_markers", "keyword_markers", "photo_captions",
         "publisher_markers", "ui_words"]


def cleaned(*lines: str) -> SourceDoc:
    text = "\n".join([PARA, *lines, PARA + " وفقرة ثانية."])
    return clean_document(SourceDoc(doc_id="d", key="k", path="k", text=text, title="عنوان المقال"))


@pytest.mark.parametrize("name", LISTS)
def test_each_list_says_what_it_is_for(name):
    assert lexicon.header(name) and lexicon.lines(name)


@pytest.mark.parametrize("line", lexicon.lines("ui_words") + lexicon.lines("photo_captions")
                         + tuple(f"{w} a b" for w in lexicon.words("ad_words")))
def test_noise_lines_are_dropped(line):
    assert line not in cleaned(line).text.split("\n\n")


@pytest.mark.parametrize("marker", lexicon.lines("publisher_markers"))
def test_publisher_markers_give_the_publisher(marker):
    assert cleaned(f"{marker} مركز الدراسات").publisher == "مركز الدراسات"


@pytest.mark.parametrize("marker", lexicon.words("byline_markers"))
def test_byline_markers_give_the_author(marker):
    doc = clean_document(SourceDoc(doc_id="d", key="k", path="k", title="عنوان المقال",
                                   text=f"عنوان المقال\n{marker} ليلى منصور\n{PARA}"))
    assert doc.author == "ليلى منصور"


@pytest.mark.parametrize("marker", lexicon.lines("keyword_markers"))
def test_keyword_markers_cut_the_block(marker):
    doc = clean_document(SourceDoc(doc_id="d", key="k", path="k", title="عنوان المقال",
                                   text=f"{PARA}\n{PARA} وفقرة ثانية.\n{marker}: أمن، حدود"))
    assert doc.keywords == ("أمن", "حدود") and marker not in doc.text
