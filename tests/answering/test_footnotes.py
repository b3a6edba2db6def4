"""A document's own bracketed footnotes are its text, never our citation markers."""
from rag.answering.citations import own_footnotes
from rag.answering.extractive import extractive_answer
from rag.answering.prompts import format_passages
from tests.answering.test_extractive import make_hits

FOUNDED = "تأسست جامعة الرصد عام 1987 في مدينة الرباط.[2][3] وتضم اليوم أربع كليات."
WHEAT = "ارتفعت أسعار القمح في الأسواق المحلية هذا الشهر بنسبة كبيرة."
FAIR = "افتتح معرض الكتاب أبوابه أمام الزوار بمشاركة مئتي دار نشر."
BASKET = "فاز فريق كرة السلة المحلي بالبطولة للمرة الثالثة على التوالي."


def test_a_quoted_sentence_with_its_own_footnotes_cites_only_its_passage():
    hits = make_hits(FOUNDED, WHEAT, FAIR, BASKET)
    a = extractive_answer("متى تأسست جامعة الرصد؟", hits)
    assert [c.chunk_id for c in a.citations] == ["c0"], a.text
    assert "⁽²⁾⁽³⁾" in a.text and "[2]" not in a.text and "[3]" not in a.text  # shown as footnotes


def test_footnotes_are_neutralised_in_what_the_llm_reads():
    prompt = format_passages(make_hits(FOUNDED, WHEAT))
    assert "[1]" in prompt and "[2]" in prompt  # our own passage numbers
    assert "الرباط.⁽²⁾⁽³⁾" in prompt and "الرباط.[2]" not in prompt
    assert own_footnotes("نص [١، ٢] آخر") == "نص ⁽¹⁾⁽²⁾ آخر"
