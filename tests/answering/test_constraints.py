"""Question constraints the passages must meet: the year a question names, the type it asks for."""
from __future__ import annotations

from rag.answering.constraints import type_unmet, year_unmet, years
from rag.answering.refusal import refusal_features, should_refuse
from tests.answering.test_extractive import make_hits

# Our own passages: a 2018 news archive on a football tournament.
CUP = ("افتتحت بطولة الكأس القارية في موسكو عام 2018 بمشاركة 32 منتخبا. "
       "وفاز منتخب الشمال بالمباراة النهائية بعد ركلات الترجيح.")
BUDGET = "أعلنت الحكومة ميزانيتها الجديدة وقالت إنها تركز على التعليم والصحة."


def test_years_are_four_digit_gregorian_years_in_either_digit_set():
    assert years("من فاز بنهائي البطولة في ديسمبر ٢٠٢٢؟") == {"2022"}
    assert years("موسم 2022-2023") == {"2022", "2023"}
    assert years("بلغ العدد 12018 شخصا وسعره 2018.5") == set()


def test_a_year_no_passage_names_is_unmet_one_they_name_is_met():
    hits = make_hits(CUP, BUDGET)
    assert year_unmet("من فاز بنهائي الكأس القارية عام 2022؟", hits) == 1.0
    assert year_unmet("من فاز بنهائي الكأس القارية عام 2018؟", hits) == 0.0
    assert year_unmet("من فاز بنهائي الكأس القارية؟", hits) == 0.0  # no year asked


def test_a_passage_dated_in_the_asked_year_meets_it():
    hits = make_hits(BUDGET)  # dated 2020-01-01 by make_hits, the text names no year
    assert year_unmet("ماذا أعلنت الحكومة في ميزانية 2020؟", hits) == 0.0
    assert year_unmet("ماذا أعلنت الحكومة في ميزانية 2021؟", hits) == 1.0


def test_when_and_how_many_need_a_value_of_their_type_in_the_best_sentences():
    assert type_unmet("date", ["وفاز منتخب الشمال بالمباراة النهائية بعد ركلات الترجيح."]) == 1.0
    assert type_unmet("date", ["افتتحت البطولة في موسكو عام 2018."]) == 0.0
    assert type_unmet("number", ["شارك في البطولة اثنان وثلاثون منتخبا"]) == 0.0  # number words count
    assert type_unmet("number", ["افتتحت البطولة في موسكو بحضور الجمهور."]) == 1.0
    assert type_unmet("name", ["أي جملة"]) == 0.0  # no shape to demand


def test_the_refusal_features_carry_both_constraints():
    hits = make_hits(CUP, BUDGET)
    missed = refusal_features("كم منتخبا شارك في الكأس القارية عام 2022؟", hits)
    met = refusal_features("كم منتخبا شارك في الكأس القارية عام 2018؟", hits)
    assert missed["year_unmet"] == 1.0 and met["year_unmet"] == 0.0
    assert met["type_unmet"] == 0.0


def test_a_question_sharing_no_content_word_with_any_passage_is_refused_whatever_the_cosine():
    from tests.answering.test_extractive import FixedCosineEmbedder

    disclaimer = make_hits("جميع المقالات المنشورة تمثل رأي كتابها فقط.", BUDGET)
    assert should_refuse("اكتب قصيدة عن البحر والقمر", disclaimer, embedder=FixedCosineEmbedder(0.97))
    assert not should_refuse("ماذا أعلنت الحكومة في ميزانيتها الجديدة؟", disclaimer,
                             embedder=FixedCosineEmbedder(0.97))


def test_the_share_of_question_words_no_passage_holds():
    hits = make_hits(CUP, BUDGET)
    assert refusal_features("كم منتخبا شارك في الكأس القارية؟", hits)["absent_share"] == 0.0
    missing = refusal_features("ما اسم الكلب الذي رافق منتخب الشمال في الكأس القارية؟", hits)["absent_share"]
    assert 0.0 < missing < 1.0


def test_the_focus_skips_the_words_that_frame_the_slot_and_must_be_in_a_best_sentence():
    from rag.answering.constraints import focus, focus_coverage
    from rag.text.arabic import analyze

    terms = analyze("ما اسم الكلب الذي رافق منتخب الشمال؟")
    assert focus(terms) == analyze("الكلب رافق")
    assert focus_coverage(terms, [analyze("وفاز منتخب الشمال بالمباراة النهائية")]) == 0.0
    assert focus_coverage(terms, [analyze("وكان الكلب يرافق منتخب الشمال")]) > 0.0
    assert focus_coverage([], [analyze("أي جملة")]) == 1.0


def test_a_question_about_a_year_the_passages_never_reach_is_refused_whatever_the_cosine():
    from tests.answering.test_extractive import FixedCosineEmbedder

    hits = make_hits(CUP, BUDGET)
    sure = FixedCosineEmbedder(0.97)
    assert should_refuse("من فاز بنهائي الكأس القارية عام 2022؟", hits, embedder=sure)
    assert not should_refuse("من فاز بنهائي الكأس القارية عام 2018؟", hits, embedder=sure)


def test_the_readers_best_score_over_the_head_sentences_is_a_refusal_feature():
    from rag.answering.question import analyze_question

    class Reader:  # scores a sentence by whether it names the final
        def score(self, query, texts):
            return [3.0 if "النهائية" in t else -1.0 for t in texts]

    hits = make_hits(CUP, BUDGET)
    q = "من فاز بالمباراة النهائية في الكأس القارية؟"
    read = refusal_features(q, hits, analysis=analyze_question(q, hits, reader=Reader()))
    assert read["reader_top"] == 3.0
    assert refusal_features(q, hits)["reader_top"] == 0.0  # no reader: neutral


def test_the_refusal_rule_runs_no_reader_inference_when_its_rule_does_not_weigh_it():
    from rag.answering.question import analyze_question

    class Counting:
        calls = 0

        def score(self, query, texts):
            Counting.calls += 1
            return [0.0 for _ in texts]

    hits = make_hits(CUP, BUDGET)
    q = "من فاز بالمباراة النهائية في الكأس القارية؟"
    should_refuse(q, hits, analysis=analyze_question(q, hits, reader=Counting()))
    assert Counting.calls == 0  # the shipped rules do not weigh reader_top
