"""Encodings: every encoding the archive was saved in decodes to the same text; forms folded."""
import pytest

from tests.ingest.readers.support import ARTICLE, docs


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1256"])
def test_encodings_decode_to_the_same_text(tmp_path, encoding):
    path = tmp_path / f"article-{encoding}.txt"
    path.write_bytes(ARTICLE.encode(encoding))
    (doc,) = docs(path)
    assert doc.text.strip() == ARTICLE.strip()


def test_short_cp1256_is_read_as_arabic_not_latin(tmp_path):
    path = tmp_path / "short.txt"
    path.write_bytes("مرحبا بالعالم".encode("cp1256"))
    assert docs(path)[0].text == "مرحبا بالعالم"


def test_presentation_forms_are_folded(tmp_path):
    path = tmp_path / "forms.txt"
    path.write_text("\ufeb3\ufee0\ufe8e\ufee1 \ufefb \ufdf2\r\nسطر", encoding="utf-8")
    assert docs(path)[0].text == "سلام لا الله\nسطر"
