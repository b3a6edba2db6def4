"""Repairing question words the index has never seen, judged by the archive's own context."""
from __future__ import annotations

from rag.answering.assistant import Assistant
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from rag.text.arabic import analyze
from rag.text.spelling import candidates, repair_question
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, write_article
from ui.render import render_answer, searched_as


class DictVocabulary:
    """Passages as sets of index terms: the two lookups the repair makes, counted."""

    def __init__(self, *passages: str):
        self.passages = [set(analyze(p)) for p in passages]
        self.lookups = 0

    def term_frequencies(self, terms):
        self.lookups += 1
        out = {t: sum(t in p for p in self.passages) for t in terms}
        return {t: n for t, n in out.items() if n}

    def cooccurrence(self, terms, others):
        return sum(set(terms) <= p and bool(set(others) & p) for p in self.passages)

    def passage_count(self):
        return len(self.passages)


HEALTH = DictVocabulary(
    "توفي ثمانية ملايين شخص بمرض السرطان في عام 2007 حسب منظمة الصحة.",
    "أعلنت الشرطة اعتقال شخص في العاصمة.",
    "الاضطراب الوسواسي القهري مرض نفسي يصيب الملايين.",
    "ما قيل عن الإمام الشافعي في كتب التراجم كثير.",
)


def test_a_confusable_letter_is_repaired_to_the_word_the_context_supports():
    # "الصرطان": ص for س. "الشرطان" (police) is as close, but only السرطان shares a passage
    # with the question's other words.
    assert repair_question("كم شخص مات بالصرطان في 2007؟", HEALTH) == "كم شخص مات بالسرطان في 2007؟"
    assert repair_question("ما هو الاظطراب الوسواسي؟", HEALTH) == "ما هو الاضطراب الوسواسي؟"


def test_known_words_and_unsupported_names_stay_as_typed():
    vocab = DictVocabulary("توفي ثمانية ملايين شخص بمرض السرطان في عام 2007.")
    q = "كم شخص مات بالسرطان في 2007؟"
    assert repair_question(q, vocab) == q
    absent = "متى ولد ماركوني مخترع المذياع؟"  # no passage holds anything near "ماركوني"
    assert repair_question(absent, vocab) == absent


def test_a_real_word_the_archive_lacks_is_not_repaired_into_another_word():
    # A small sports archive has "العلام" (the flags) but not "العالم" (the world): the repair
    # would ask about another cup. The model's vocabulary knows "العالم" as a word.
    sport = DictVocabulary("رفعت الجماهير العلام في نهائي الكأس.", "تسلم القائد الكأس ورفع العلام.",
                           "فاز المنتخب بالمباراة.", "افتتح الملعب الجديد.")
    q = "متى تسلم القائد كأس العالم؟"
    assert repair_question(q, sport) == "متى تسلم القائد كأس العلام؟"  # the context alone supports it
    assert repair_question(q, sport, {"العالم", "كأس"}.__contains__) == q
    typo = "ما هو الاظطراب الوسواسي؟"  # a slip is still repaired when the vocabulary lacks it
    assert repair_question(typo, HEALTH, {"الوسواسي"}.__contains__) == "ما هو الاضطراب الوسواسي؟"


def test_fused_words_are_split():
    assert repair_question("ماقيل في الشافعي؟", HEALTH) == "ما قيل في الشافعي؟"
    assert "ما قيل" not in [c for tier in candidates("ماقيل") for c in tier]  # only at the start
    assert "عاشر سليمان" in candidates("عاشرسليمان")[0]


def test_diacritics_stay_inside_their_word():
    vocab = DictVocabulary("تعتبر مسقط عاصمة سلطنة عمان على الخليج.")
    q = "ماذا تُعتبر مسقط بالنسبة للخليج؟"
    assert repair_question(q, vocab) == q


def test_the_real_store_repairs_and_the_answer_says_what_was_searched(settings, tmp_path):
    folder = tmp_path / "arch"
    write_article(folder, "a.txt", "الاضطراب الوسواسي القهري",
                  "الاضطراب الوسواسي القهري مرض نفسي يصيب نحو اثنين في المئة من الناس. "
                  "يعالج الاضطراب الوسواسي بالعلاج السلوكي المعرفي وببعض الأدوية.")
    write_article(folder, "b.txt", "أمن الحدود", "تعزز الدول الرقابة على الحدود البرية لمنع التهريب.")
    ingest(settings, [folder])
    store = Store(settings, FakeEmbedder())
    assert store.term_frequencies(["اضطراب", "غير_موجود"]) == {"اضطراب": 1}
    assert store.cooccurrence(["اضطراب"], ["وسواس"]) == 1 and store.cooccurrence(["اضطراب"], ["حدود"]) == 0
    retriever = HybridRetriever(settings, store)
    asked = "كيف يعالج الاظطراب الوسواسي؟"
    assert retriever.repair(asked) == "كيف يعالج الاضطراب الوسواسي؟"
    answer = Assistant(settings, retriever.search, repair=retriever.repair).ask(asked)
    assert not answer.refused and "العلاج السلوكي" in answer.text
    assert answer.question == asked and answer.standalone_question == "كيف يعالج الاضطراب الوسواسي؟"
    assert searched_as(answer) == "بحثنا عن: «كيف يعالج الاضطراب الوسواسي؟»"
    assert "rag-searched" in render_answer(answer)
    plain = HybridRetriever(settings.replace(lexical_analyzer="plain"), store)
    store.reindex_lexical("plain")
    assert plain.repair(asked) == asked  # plain terms are not stems: no repair


def test_in_a_small_archive_a_common_neighbour_is_no_evidence():
    """The demo archive's case: "قيام" is absent, "قائمة" is there, and in 5 passages about one
    organisation the question's known words are everywhere, so sharing a passage proves nothing."""
    org = "التنظيم دولة"
    vocab = DictVocabulary(f"{org} قائمة المطلوبين.", f"{org} في العراق.", f"{org} والتمويل.",
                           f"{org} قائمة الأهداف.", "تقرير عن الحدود.")
    q = "متى أعلن التنظيم قيام دولته؟"
    assert repair_question(q, vocab) == q
    assert "قايم" in [c for tier in candidates("قيام") for c in tier]  # it is a candidate, rejected
    # A rare anchor that the repair shares a passage with is evidence, whatever the archive's size.
    rare = DictVocabulary("الاضطراب الوسواسي القهري مرض نفسي.", *[f"تقرير رقم {i} عن الحدود." for i in range(3)])
    assert repair_question("ما هو الاظطراب الوسواسي؟", rare) == "ما هو الاضطراب الوسواسي؟"


def test_no_repair_to_a_stem_under_three_letters():
    vocab = DictVocabulary("تحدث عنه الجميع في المدينة.", "اعلنت المدينة الحداد.")
    assert repair_question("متى اعلن الحداد في المدينة؟", vocab).startswith("متى اعلن")  # not "العن" -> "عن"
