"""The hand-written dev sets stay well formed; the span lookups need ../shared and skip without it."""
import pytest

from evals import check_devset as cd

FILES = [cd.NEWS, cd.RESEARCH]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_format(path):
    assert path.exists()
    assert cd.format_problems(path) == []


def test_news_set_shape():
    records = cd.read_records(cd.NEWS)
    unanswerable = [r for r in records if r["kind"] == "unanswerable"]
    assert len(records) >= 220
    assert len(unanswerable) >= max(55, len(records) / 4)
    assert len({r["context_id"] for r in records if r["answers"]}) >= 80
    assert sum(1 for r in records if "follows" in r) >= 30
    assert sum(1 for r in records if r.get("lang") == "en" and r["answers"]) >= 30


def test_research_set_shape():
    records = cd.read_records(cd.RESEARCH)
    assert 30 <= len(records) <= 40
    assert sum(1 for r in records if r["kind"] == "unanswerable") >= 10


def test_format_check_catches_mistakes(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "question": "متى؟", "answers": ["2016"], "context_id": "d", "kind": "date"}\n'
        '{"id": "a", "question": "ومتى؟", "answers": ["2017"], "context_id": "d", "kind": "when", "follows": "z"}\n'
        '{"id": "c", "question": "Who?", "answers": ["x"], "context_id": null, "kind": "unanswerable", "lang": "en"}\n',
        encoding="utf-8")
    problems = "\n".join(cd.format_problems(bad))
    for expected in ("duplicate id", "unknown kind", "not an earlier id", "standalone rewrite",
                     "answers [] and context_id null", "absent_terms"):
        assert expected in problems


def test_light_normalize():
    assert cd.light_normalize("إِنَّ  الـمُجنِّد") == cd.light_normalize("ان المجند")
    assert cd.light_normalize("أحمد") == "احمد"


shared = pytest.mark.skipif(not (cd.NEWS_DIR.is_dir() and cd.SEED.is_file()),
                            reason=f"{cd.SHARED} is absent: the articles the spans are looked up in live there")


@shared
def test_news_spans_occur_in_their_articles():
    assert cd.article_problems(cd.NEWS, cd.news_documents()) == []


@shared
def test_research_spans_occur_in_their_documents():
    assert cd.article_problems(cd.RESEARCH, cd.research_documents()) == []
