"""HTML reader: the page's main text, its metadata and headings."""
from tests.ingest.readers.support import DEMO, docs


def test_html_main_text_metadata_and_sections():
    (doc,) = docs(DEMO / "06_border_security.html")
    assert doc.title == "أمن الحدود الصحراوية.. تقنيات جديدة وتحديات قديمة"
    assert doc.author == "ليلى منصور" and doc.date == "2021-10-17"
    assert [h for _, h in doc.sections] == ["الجدار الإلكتروني", "المجتمعات الحدودية", "التعاون الإقليمي"]
    assert "الرئيسية" not in doc.text and "جميع الحقوق" not in doc.text and "الأكثر قراءة" not in doc.text
    assert "\n\n" in doc.text and "مشروع «الحارس»" in doc.text
