"""Record readers (JSON, JSON Lines, gzipped): field mapping, own ids, bad lines reported."""
import gzip
import hashlib
import json

from ingest.clean import clean_document
from rag.types import FileFailure, SourceDoc
from tests.ingest.readers.support import BODY, TITLE, docs, load


def test_json_single_record_and_list(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"id": "r1", "title": TITLE, "text": BODY}, ensure_ascii=False), encoding="utf-8")
    (doc,) = docs(one)
    assert (doc.doc_id, doc.key, doc.title, doc.text) == ("r1", f"{one.resolve()}#r1", TITLE, BODY)
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"text": BODY}, {"doc_id": "d2", "body": BODY}]), encoding="utf-8")
    first, second = docs(many)
    assert first.doc_id == hashlib.sha1(f"{many.resolve()}#1".encode()).hexdigest()[:16]
    assert second.doc_id == "d2"


def test_gold_contexts_keep_their_context_id(tmp_path):
    path = tmp_path / "contexts.jsonl"
    path.write_text(json.dumps({"context_id": "arcd-c00001", "title": TITLE, "text": BODY},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    (doc,) = docs(path)
    assert doc.doc_id == "arcd-c00001"
    assert clean_document(doc).doc_id == "arcd-c00001" and clean_document(doc).text == BODY


def test_news_jsonl_gz_record_fields(tmp_path):
    rec = {"docno": "AL-x-1", "url": "http://example.org/a", "src": "alarabia", "cat": "x", "title": TITLE,
           "time": "Sun, 18 Feb 2018 21:35:43 +0400", "author": "القاهرة - مراسل", "abstract": "...",
           "text": BODY}
    path = tmp_path / "news.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")))
    (doc,) = docs(path)
    assert (doc.doc_id, doc.title, doc.date, doc.author, doc.source, doc.url) == (
        "AL-x-1", TITLE, "2018-02-18T21:35", "القاهرة - مراسل", "alarabia", "http://example.org/a")


def test_jsonl_bad_lines_are_reported_and_good_ones_load(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "ok1", "text": BODY}, ensure_ascii=False),
        '{"id": "broken", "text": ',
        json.dumps({"id": "notext", "title": TITLE}, ensure_ascii=False),
        "",
        json.dumps({"id": "ok2", "text": BODY}, ensure_ascii=False),
    ]), encoding="utf-8")
    out = load(path)
    assert [d.doc_id for d in out if isinstance(d, SourceDoc)] == ["ok1", "ok2"]
    bad = [f for f in out if isinstance(f, FileFailure)]
    assert [(f.path, f.line) for f in bad] == [(str(path), 2), (str(path), 3)]
    assert "not valid" in bad[0].reason and "text" in bad[1].reason
