from ingest.chunk import chunk_document
from rag.types import SourceDoc
from tests.fakes import FakeEmbedder

COUNT = FakeEmbedder().count_tokens


def _doc(text, sections=()):
    return SourceDoc(doc_id="d1", key="k", path="p.txt", text=text, title="عنوان", sections=sections)


def test_short_paragraphs_pack_into_one_chunk_with_exact_span():
    text = "الفقرة الأولى عن التنظيم.\n\nالفقرة الثانية عن التمويل."
    chunks = chunk_document(_doc(text), COUNT, 100, 10)
    assert len(chunks) == 1
    c = chunks[0]
    assert text[c.start:c.end] == c.text == text


def test_long_paragraph_splits_at_arabic_sentence_marks_with_overlap():
    sents = [f"هذه جملة رقم {i} تتحدث عن الجماعات المتطرفة في المنطقة؟" for i in range(30)]
    text = " ".join(sents)
    chunks = chunk_document(_doc(text), COUNT, 60, 20)
    assert len(chunks) > 3
    for c in chunks:
        assert COUNT(c.text) <= 60
        assert c.text.endswith("؟")  # cut at sentence ends, never mid-sentence
        assert text[c.start:c.end] == c.text
    # Overlap: each chunk after the first starts before the previous one ended.
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))
    # Nothing lost: every sentence is inside some chunk.
    assert all(any(s in c.text for c in chunks) for s in sents)


def test_run_on_sentence_splits_on_arabic_comma_then_words():
    text = "، ".join(["كلمة أخرى في جملة طويلة جدا بلا نهاية"] * 40)
    chunks = chunk_document(_doc(text), COUNT, 30, 0)
    assert all(COUNT(c.text) <= 30 for c in chunks)
    assert "".join(c.text for c in chunks).replace("،", "").replace(" ", "") == text.replace("،", "").replace(" ", "")


def test_chunks_do_not_cross_sections_and_carry_heading():
    p1 = "مقدمة عن الخلافة الافتراضية."
    p2 = "الجهاد عبر الإنترنت يعتمد على الفضاء الإلكتروني."
    text = p1 + "\n\n" + p2
    chunks = chunk_document(_doc(text, sections=((len(p1) + 2, "الجهاد الافتراضي"),)), COUNT, 200, 20)
    assert [c.section for c in chunks] == ["", "الجهاد الافتراضي"]
    assert chunks[1].text == p2


def test_ids_are_content_hashes_stable_and_unique():
    text = "فقرة مكررة.\n\nفقرة مكررة.\n\nفقرة أخرى."
    a = chunk_document(_doc(text), COUNT, 5, 0)
    b = chunk_document(_doc(text), COUNT, 5, 0)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
