"""Word lists are data files: each says what it is for, and a broken one is named, not guessed."""
import pytest

from rag.errors import ConfigError
from rag.text import lexicon


def test_every_packaged_list_has_a_purpose_line_and_entries():
    names = lexicon.available()
    assert len(names) >= 10
    for name in names:
        assert len(lexicon.header(name)) > 15, name  # a sentence, not a label
        assert lexicon.lines(name), name


@pytest.mark.parametrize("content, problem", [
    ("وزير وزارة\n", "first line"),
    ("# \n", "first line"),
    ("# a list with a purpose but no words\n# only comments\n\n", "no entries"),
])
def test_a_malformed_list_is_reported_with_its_path(tmp_path, monkeypatch, content, problem):
    monkeypatch.setattr(lexicon, "HERE", tmp_path)
    lexicon._body.cache_clear()
    (tmp_path / "broken.txt").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem) as e:
        lexicon.words("broken")
    assert str(tmp_path / "broken.txt") in str(e.value)
    with pytest.raises(ConfigError, match="missing"):
        lexicon.words("absent")
    lexicon._body.cache_clear()


def test_words_and_lines_read_the_same_file_two_ways(tmp_path, monkeypatch):
    monkeypatch.setattr(lexicon, "HERE", tmp_path)
    lexicon._body.cache_clear()
    (tmp_path / "phrases.txt").write_text("# phrases for a test\nجميع الحقوق محفوظة\n# a comment\nطباعة\n",
                                          encoding="utf-8")
    assert lexicon.lines("phrases") == ("جميع الحقوق محفوظة", "طباعة")
    assert lexicon.words("phrases") == ("جميع", "الحقوق", "محفوظة", "طباعة")
    lexicon._body.cache_clear()
