"""Record ids are scoped to their file: another source can never replace a document."""
import json

from ingest.chunk import chunk_document
from ingest.pipeline import content_hash
from rag.index.store import Store
from rag.types import SourceDoc
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest

BODY = "تتناول هذه الدراسة موضوع تمويل الجماعات المتطرفة في المنطقة العربية وتعرض أرقاما محددة. " * 3
OTHER = "نص مختلف تماما عن الحدود والأمن والتهريب عبر الصحراء الكبرى في شمال أفريقيا. " * 3


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def doc_row(settings, doc_id):
    return Store(settings, FakeEmbedder()).db.execute(
        "SELECT key, path, title FROM docs WHERE doc_id=?", (doc_id,)).fetchone()


def test_a_record_id_used_by_another_file_is_reported_by_line_and_the_original_kept(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "title": "أصلي", "text": BODY},
                                                  {"id": "x2", "title": "ثان", "text": BODY}])
    assert ingest(settings, [a.parent]).added == 2
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "b1", "title": "جديد", "text": OTHER},
                                                  {"id": "x1", "title": "دخيل", "text": OTHER}])
    r = ingest(settings, [b.parent])
    assert (r.added, r.failed) == (1, 1)
    f = r.failures[0]
    assert (f.path, f.line) == (str(b), 2) and "'x1'" in f.reason and str(a.resolve()) in f.reason
    assert "unique id" in f.reason
    assert doc_row(settings, "x1") == (f"{a.resolve()}#x1", str(a.resolve()), "أصلي")
    # The clash stays reported on every run until the ids are fixed.
    assert ingest(settings, [b.parent]).failed == 1
    assert ingest(settings, [a.parent]).unchanged == 2


def test_a_clash_within_one_run_names_the_line(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "text": BODY}])
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "b1", "text": OTHER}, {"id": "x1", "text": OTHER}])
    r = ingest(settings, [a.parent, b.parent])
    assert (r.added, [(f.path, f.line) for f in r.failures]) == (2, [(str(b), 2)])
    assert doc_row(settings, "x1")[1] == str(a.resolve())


def test_reingest_repairs_a_document_another_source_replaced(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "title": "أصلي", "text": BODY},
                                                  {"id": "x2", "text": BODY}])
    ingest(settings, [a.parent])
    # What the old code let a second folder do: the same id, another source, written over it.
    emb = FakeEmbedder()
    store = Store(settings, emb)
    intruder = SourceDoc(doc_id="x1", key="/elsewhere/b.jsonl#x1", path="/elsewhere/b.jsonl", text=OTHER,
                         title="دخيل")
    chunks = chunk_document(intruder, emb.count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)
    store.write_docs([(intruder, content_hash(intruder), chunks)], emb.embed_documents([c.text for c in chunks]))
    assert doc_row(settings, "x1")[2] == "دخيل"

    r = ingest(settings, [a.parent])  # size and mtime unchanged: only the recorded keys tell
    assert (r.updated, r.unchanged, r.failed) == (1, 1, 0)
    assert doc_row(settings, "x1") == (f"{a.resolve()}#x1", str(a.resolve()), "أصلي")
    sql_ids, dense_ids = store.all_chunk_ids()
    assert sql_ids == dense_ids
    assert ingest(settings, [a.parent]).unchanged == 2


def test_unchanged_reingest_stays_one_query_per_file_and_embeds_nothing(settings, tmp_path):
    folder = tmp_path / "many"
    for i in range(30):
        write_jsonl(folder / f"f{i}.jsonl", [{"id": f"r{i}", "text": BODY}])
    ingest(settings, [folder])
    emb = FakeEmbedder()
    r = ingest(settings, [folder], emb)
    assert (r.unchanged, r.added, emb.calls) == (30, 0, 0)


def test_a_file_does_not_take_back_an_id_its_new_holder_got_legitimately(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "text": BODY}, {"id": "x2", "text": BODY}])
    ingest(settings, [a.parent])
    Store(settings, FakeEmbedder()).remove_docs(["x1"])  # removed in the app
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "x1", "text": OTHER}])
    assert ingest(settings, [b.parent]).added == 1  # the id was free
    r = ingest(settings, [a.parent])
    assert [(f.path, f.line) for f in r.failures] == [(str(a), 1)]
    assert doc_row(settings, "x1")[1] == str(b.resolve())
