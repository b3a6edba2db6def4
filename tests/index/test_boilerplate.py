"""Boilerplate across documents: a line that recurs in unrelated documents is never evidence."""
from __future__ import annotations

from rag.answering.extractive import extractive_answer
from rag.index import boilerplate
from rag.retrieval.hybrid import HybridRetriever
from tests.index.docs import doc, store_of

# Our own texts: a site's disclaimer under five unrelated articles, and a factual sentence
# repeated in three updates of one report (which share their other sentences too).
DISCLAIMER = "جميع المقالات المنشورة تمثل رأي كتابها فقط."
TOPICS = ["افتتحت البلدية حديقة عامة جديدة في وسط المدينة.",
          "ارتفعت أسعار القمح في الأسواق المحلية هذا الأسبوع.",
          "فاز الفريق المحلي بكأس الدوري بعد مباراة صعبة.",
          "أعلنت الجامعة عن برنامج منح دراسية للطلاب المتفوقين.",
          "شهد معرض الكتاب إقبالا كبيرا من الزوار والناشرين."]
FACT = "قالت الشرطة إن الحريق اندلع في المستودع الشمالي فجر الثلاثاء."
UPDATE = ["وأضافت أن فرق الإطفاء سيطرت على النيران بعد ساعتين.", "ولم تسجل أي إصابات بين العمال."]


def _archive(tmp_path):
    docs = [doc(f"op{i}", f"{t} {DISCLAIMER}") for i, t in enumerate(TOPICS)]
    docs += [doc(f"fire{i}", " ".join([FACT, *UPDATE, f"تحديث رقم {i} للخبر."])) for i in range(4)]
    return store_of(tmp_path, docs)


def test_a_line_recurring_in_unrelated_documents_is_boilerplate_a_repeated_fact_is_not(tmp_path):
    store = _archive(tmp_path)
    keys = boilerplate.keys_of([DISCLAIMER, FACT])
    bad = boilerplate.judge(store.db, keys, {})
    assert {keys_s for k, keys_s in keys.items() if k in bad} == {DISCLAIMER}


def test_retrieved_chunks_name_their_boilerplate_and_the_answer_never_quotes_it(tmp_path):
    store = _archive(tmp_path)
    hits = HybridRetriever(store.settings, store).search("رأي كتابها في المقالات المنشورة")
    assert hits and all(boilerplate.normal_form(DISCLAIMER) in h.chunk.boilerplate
                        for h in hits if h.chunk.doc_id.startswith("op"))
    answer = extractive_answer("ما رأي كتاب المقالات المنشورة؟", hits)
    assert "تمثل رأي كتابها" not in answer.text


def test_removing_documents_takes_their_sentences_out_of_the_count(tmp_path):
    store = _archive(tmp_path)
    store.remove_docs(["op0", "op1"])
    keys = boilerplate.keys_of([DISCLAIMER])
    assert not boilerplate.judge(store.db, keys, {})  # three documents left: below min_docs


def test_an_index_from_before_the_sentence_index_is_filled_once(tmp_path):
    store = _archive(tmp_path)
    store.db.execute("DELETE FROM doc_sentences")
    assert store.index_sentences() == 9
    assert store.index_sentences() == 0
    assert boilerplate.judge(store.db, boilerplate.keys_of([DISCLAIMER]), {})
