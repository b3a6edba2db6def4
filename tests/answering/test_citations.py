"""Citation verification: valid, invalid and missing markers, renumbering, Arabic-Indic digits.

The same rule checks briefings (tests/briefing/test_llm_writer.py pins it from that side)."""
from __future__ import annotations

from rag.answering.citations import check, marker_numbers, verify
from tests.answering.test_extractive import ISIS, LEAGUE, POET, make_hits

HITS = make_hits(LEAGUE, POET, ISIS)


def test_valid_markers_build_citations_from_the_hits():
    text, cites, flagged = verify("تأسست الجامعة عام 1945 [1].", HITS)
    assert text == "تأسست الجامعة عام 1945 [1]."
    assert flagged == ()
    c = cites[0]
    assert (c.n, c.chunk_id, c.doc_id, c.title, c.date, c.author, c.source) == (
        1, "c0", "d0", "وثيقة 0", "2020-01-01", "كاتب", "أرشيف")
    assert c.text == LEAGUE and "1945" in c.quote and c.score == HITS[0].score


def test_a_claim_with_any_invalid_marker_is_dropped_and_flagged_even_beside_a_valid_one():
    text, cites, flagged = verify("تأسست الجامعة عام 1945 [1][7]. لقب شوقي بأمير الشعراء [9].", HITS)
    assert (text, cites) == ("", ())  # [1] is valid, but [7] points to no passage shown
    assert flagged == ("تأسست الجامعة عام 1945.", "لقب شوقي بأمير الشعراء.")


def test_valid_claims_beside_a_dropped_one_are_kept_and_renumbered():
    text, cites, flagged = verify(
        "لقب شوقي بأمير الشعراء [2]. تأسست الجامعة عام 1945 [1, 7]. يعتمد داعش على النفط [3].", HITS)
    assert text == "لقب شوقي بأمير الشعراء [1]. يعتمد داعش على النفط [2]."
    assert [(c.n, c.chunk_id) for c in cites] == [(1, "c1"), (2, "c2")]
    assert flagged == ("تأسست الجامعة عام 1945.",)


def test_unmarked_claim_covered_only_by_a_dropped_claim_is_dropped_too():
    text, cites, flagged = verify("تأسست الجامعة في القاهرة. وكان ذلك عام 1945 [1][4].", HITS)
    assert (text, cites) == ("", ())
    assert flagged == ("تأسست الجامعة في القاهرة.", "وكان ذلك عام 1945.")


def test_check_reports_each_claim_with_the_passages_it_rests_on():
    claims = check("مقدمة:\nأ. ب [2, 1]. ج [1][5]. د", 3)
    assert [(c.bare, c.passages, c.kept, c.lead_in) for c in claims] == [
        ("مقدمة:", (), True, True),
        ("أ.", (2, 1), True, False),  # covered by the marked claim after it
        ("ب.", (2, 1), True, False),
        ("ج.", (), False, False),
        ("د", (), False, False),
    ]


def test_claim_without_marker_is_removed_and_flagged():
    text, cites, flagged = verify("تأسست الجامعة عام 1945 [1].\nوهي أقدم منظمة إقليمية في العالم.", HITS)
    assert text == "تأسست الجامعة عام 1945 [1]."
    assert flagged == ("وهي أقدم منظمة إقليمية في العالم.",)


def test_marker_at_end_of_line_covers_the_sentences_before_it():
    text, cites, _ = verify("تأسست الجامعة في القاهرة. وكان ذلك عام 1945 [1].", HITS)
    assert text == "تأسست الجامعة في القاهرة. وكان ذلك عام 1945 [1]."


def test_no_valid_marker_leaves_nothing():
    text, cites, flagged = verify("جواب بلا مصدر.", HITS)
    assert (text, cites) == ("", ()) and flagged


def test_renumbered_in_order_of_first_use():
    text, cites, _ = verify("يعتمد داعش على النفط [3]. لقب شوقي بأمير الشعراء [2, 3].", HITS)
    assert text == "يعتمد داعش على النفط [1]. لقب شوقي بأمير الشعراء [2][1]."
    assert [(c.n, c.chunk_id) for c in cites] == [(1, "c2"), (2, "c1")]


def test_arabic_indic_digits_and_arabic_comma():
    assert marker_numbers("أ [١] ب [٢، ٣] ج [1][2]") == [1, 2, 3, 1, 2]
    text, cites, _ = verify("لقب شوقي بأمير الشعراء [٢].", HITS)
    assert text == "لقب شوقي بأمير الشعراء [1]." and cites[0].chunk_id == "c1"


def test_quotes_given_by_the_answerer_are_kept():
    _, cites, _ = verify("شيء [1].", HITS, quotes={1: "يقع مقر الجامعة في مدينة القاهرة."})
    assert cites[0].quote == "يقع مقر الجامعة في مدينة القاهرة."
