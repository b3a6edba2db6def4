"""Manifest sidecars: metadata for the files they name, never documents themselves."""
import json

import pytest

from ingest.clean import clean_document
from ingest.readers import discover
from tests.ingest.readers.support import ANT, ARTICLE, BODY, TITLE, docs, load


def test_manifest_sidecar_gives_metadata_and_is_not_a_document(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "manifest.jsonl").write_text(json.dumps({
        "file": "articles/a.txt", "title": TITLE, "date": "2013-05-13T13:55:44+04:00",
        "source": "alarabia", "url": "http://example.org/a"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert discover([tmp_path]) == [tmp_path / "articles" / "a.txt"]
    assert load(tmp_path / "manifest.jsonl") == []
    (doc,) = docs(tmp_path / "articles" / "a.txt")
    assert (doc.title, doc.date, doc.source, doc.url) == (TITLE, "2013-05-13T13:55", "alarabia", "http://example.org/a")
    clean = clean_document(doc)
    assert clean.title == TITLE and clean.text == BODY


@pytest.mark.skipif(not ANT.is_dir(), reason="../shared/data/news/ant5000 is not present")
def test_real_news_folder_with_its_manifest():
    first = discover([ANT])[0]
    (doc,) = docs(first)
    assert doc.title and doc.date[:4].isdigit() and doc.source and doc.url
    assert clean_document(doc).text.split("\n\n")[0] != doc.title
