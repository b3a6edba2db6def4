"""Arabic analysis shared by the index and the queries: what must meet, and what must not."""
from __future__ import annotations

from rag.text.arabic import analyze, is_arabic, normalize, roots, sentences, stem, tokenize


def test_normalize_folds_spelling_variants():
    assert normalize("أحمد") == normalize("احمد") == normalize("إحمد") == "احمد"
    assert normalize("مدرسة") == "مدرسه" and normalize("مستشفى") == "مستشفي"
    assert normalize("سُورِيَّة") == normalize("سورية")  # diacritics
    assert normalize("الجـــامعة") == normalize("الجامعة")  # tatweel
    assert normalize("عام ١٩٤٥") == "عام 1945" and normalize("۱۳۹۸") == "1398"
    assert normalize("\uFEE1\uFEE0\uFEDC") == "ملك"  # presentation forms from PDF extraction
    assert normalize("مسؤول") == "مسوول" and normalize("رئيس") == "رييس"


def test_light_stemming_lets_inflections_meet():
    assert analyze("والتنظيمات") == analyze("التنظيم") == ["تنظيم"]
    assert stem("سوريا") == stem("سورية".replace("ة", "ه")) == "سور"
    assert stem("دورته") == "دور"
    assert stem("من") == "من"  # too short to strip


def test_a_radical_waw_is_not_taken_for_the_conjunction():
    assert analyze("وزير الوزير ووزير والوزير") == ["وزير"] * 4
    assert analyze("وزارة الوزارة") == ["وزار"] * 2 and analyze("والده الوالد") == ["والد"] * 2
    assert analyze("وحكومة والحكومة وفاز والدين") == ["حكوم", "حكوم", "فاز", "دين"]  # the conjunction still goes


def test_stop_words_and_fused_question_words_are_dropped():
    assert analyze("ما هو الحزب الذي يرأسه أردوغان؟") == analyze("ماهو الحزب الذي يرأسه أردوغان؟")
    assert "ماهي" not in analyze("ماهي عاصمة لبنان") and analyze("ماهي عاصمة لبنان") == analyze("عاصمة لبنان")
    assert analyze("what is the capital") == ["capital"]
    # Detached clitics and date markers carry nothing ("متى و أين"، "- متى غادر؟ ال"، "656 هـ")
    assert analyze("- متى و أين غادر خاشقجي السعودية؟ ال") == analyze("متى وأين غادر خاشقجي السعودية")
    assert analyze("ولد سنة 656 هـ / 1258 م") == ["ولد", "سن", "656", "1258"]
    assert analyze("بماذا اشتهر المتنبي؟") == ["اشتهر", "متنب"]
    assert analyze("لمن ينسب الكتاب؟") == analyze("اذكر من ينسب الكتاب") == analyze("ينسب الكتاب")
    assert analyze("مادا حدث؟") == analyze("ماذا حدث؟") == ["حدث"]  # common misspellings of question words
    assert analyze("ما الاندية اللتى تلعب فيها؟ فماذا عن الحرب") == ["اند", "تلعب", "حرب"]  # misspelt التي, ف + question word
    assert analyze("هل أضيف لون إليها أم أنها بقيت هناك؟ إلام تعزى") == ["اضيف", "لون", "ام", "بقيت", "تعز"]  # pronoun-attached
    assert analyze("وكان الفهم") == ["فهم"] and analyze("وزن") == ["وزن"]  # a bare و must leave 3 letters


def test_roots_join_derivations_light_stemming_keeps_apart():
    assert analyze("تأسست") != analyze("التأسيس") != analyze("أسسها")
    assert roots("تأسست") == roots("التأسيس") == roots("أسسها") == ["اسس"]
    assert roots("المدرسة والمدارس يدرسون") == ["درس"] * 3
    assert roots("تأثيرات") == roots("تأثر") == roots("مؤثر") == ["اثر"]
    assert roots("مؤسس") == roots("تأسيس") and roots("رئيس") == roots("رأس") and roots("سؤال") == roots("يسأل")
    assert roots("ما هي عاصمة لبنان؟ Paris 2014") == [*roots("عاصمة لبنان"), "paris", "2014"]


def test_roots_of_weak_verbs_meet_across_tenses_and_persons():
    assert roots("تقع يقع وقعت") == ["وقع"] * 3 and roots("يصل وصلت") == ["وصل"] * 2  # assimilated
    assert roots("قال يقول تقولون") == ["قل"] * 3  # hollow
    assert roots("قيام يقوم") == ["قم"] * 2 and roots("زيارة يزور") == ["زر"] * 2
    assert roots("دعا يدعو") == ["دع"] * 2 and roots("بنى يبني") == ["بن"] * 2  # defective
    assert roots("ترك تبع تاريخ كاتب") == ["ترك", "تبع", "ارخ", "كتب"]  # strong roots untouched


def test_tokens_are_letters_and_digits_only():
    assert tokenize("«داعش»، (2014)؟") == ["داعش", "2014"]


def test_sentences_split_on_arabic_punctuation_and_lines():
    text = "أعلن التنظيم الخلافة؟ نعم؛ في 2014. ثم ماذا!\nسطر جديد"
    assert [text[a:b] for a, b in sentences(text)] == ["أعلن التنظيم الخلافة؟", "نعم؛", "في 2014.", "ثم ماذا!", "سطر جديد"]
    decimal = "رقم 3.5 مليون"
    assert [decimal[a:b] for a, b in sentences(decimal)] == [decimal]


def test_sentences_do_not_split_inside_brackets_or_quotes():
    text = "محمد علي (بالتركية: محمد على پاشا؛ وبالألبانية: Mehmet Ali). حكم مصر. قال «نعم. لا» ثم مضى."
    assert [text[a:b] for a, b in sentences(text)] == [
        "محمد علي (بالتركية: محمد على پاشا؛ وبالألبانية: Mehmet Ali).", "حكم مصر.", "قال «نعم. لا» ثم مضى."]
    unclosed = "رأي (غير مغلق. جملة ثانية.\nسطر"  # a stray bracket must not swallow the text
    assert [unclosed[a:b] for a, b in sentences(unclosed)] == ["رأي (غير مغلق.", "جملة ثانية.", "سطر"]


def test_is_arabic_by_majority_script():
    assert is_arabic("تقرير عن ISIS في العراق") and not is_arabic("A report on ISIS") and not is_arabic("2014")


def test_latin_script_questions_are_those_without_an_arabic_letter():
    from rag.text.arabic import latin_script

    assert latin_script("When was the Arab League founded?") and latin_script("Who leads ISIS؟")
    assert not latin_script("أين يقع Energiprojekt AB؟") and not latin_script("متى تأسست الجامعة؟")
    assert not latin_script("2018؟")
