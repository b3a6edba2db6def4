"""Record ids are scoped to their file: another source can never replace a document, and a record
whose id another source's document has is kept under an id scoped to its own file (ingest.ids)."""
import json

from ingest.chunk import chunk_document
from ingest.pipeline import content_hash
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from rag.types import SourceDoc
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest

BODY = "تتناول هذه الدراسة موضوع تمويل الجماعات المتطرفة في المنطقة العربية وتعرض أرقاما محددة. " * 3
OTHER = "نص مختلف تماما عن الحدود والأمن والتهريب عبر الصحراء الكبرى في شمال أفريقيا. " * 3
THIRD = "مقالة ثالثة عن أسعار القمح والزراعة المروية في وادي النيل خلال العقد الماضي. " * 3


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def doc_row(settings, doc_id):
    return Store(settings, FakeEmbedder()).db.execute(
        "SELECT key, path, title FROM docs WHERE doc_id=?", (doc_id,)).fetchone()


def doc_hash(settings, doc_id):
    return Store(settings, FakeEmbedder()).db.execute(
        "SELECT content_hash FROM docs WHERE doc_id=?", (doc_id,)).fetchone()[0]


def titles_found(settings, query):
    store = Store(settings, FakeEmbedder())
    return {h.chunk.title for h in HybridRetriever(settings, store).search(query, k=10)}


def test_two_files_numbering_records_from_1_both_stay_searchable_and_the_original_unchanged(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "1", "title": "أصلي", "text": BODY},
                                                  {"id": "2", "title": "ثان", "text": BODY}])
    assert ingest(settings, [a.parent]).added == 2
    before = doc_row(settings, "1"), doc_hash(settings, "1")
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "b1", "title": "جديد", "text": THIRD},
                                                  {"id": "1", "title": "دخيل", "text": OTHER}])
    r = ingest(settings, [b.parent])
    assert (r.added, r.failed, r.failures) == (2, 0, [])
    [n] = r.notices
    assert (n.path, n.line, n.record_id, n.doc_id, n.kept) == (str(b.resolve()), 2, "1", "b.jsonl#1", str(a.resolve()))
    assert "b.jsonl:2" in str(n) and "'1'" in str(n) and "kept" in str(n)
    assert (doc_row(settings, "1"), doc_hash(settings, "1")) == before  # the original: id, file, content
    assert doc_row(settings, "b.jsonl#1") == (f"{b.resolve()}#1", str(b.resolve()), "دخيل")
    assert {"أصلي", "دخيل"} <= titles_found(settings, "تمويل الجماعات المتطرفة والتهريب عبر الصحراء")
    [scoped] = [d for d in Store(settings, FakeEmbedder()).documents() if d.doc_id == "b.jsonl#1"]
    assert scoped.record_id == "1"  # the id the record gave, for evals (gold_ids_of)


def test_reingesting_a_scoped_record_is_a_no_op_whatever_folder_is_named(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "1", "text": BODY}])
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "1", "text": OTHER}])
    ingest(settings, [a.parent, b.parent])
    ids = {d.doc_id for d in Store(settings, FakeEmbedder()).documents()}
    assert ids == {"1", "b.jsonl#1"}
    emb = FakeEmbedder()
    r = ingest(settings, [tmp_path / "B", tmp_path / "A"], emb)  # another order
    assert (r.unchanged, r.added, r.updated, emb.calls) == (2, 0, 0, 0)
    b.touch()  # re-read (mtime), same bytes
    write_jsonl(b, [{"id": "1", "text": OTHER}, {"id": "2", "text": OTHER + " ملحق"}])  # and grown
    r = ingest(settings, [tmp_path])  # the parent: the label would now read "B/b.jsonl"
    assert (r.added, r.updated, r.unchanged) == (1, 0, 2)
    assert [n.doc_id for n in r.notices] == ["b.jsonl#1"]  # still reported, same id
    assert {d.doc_id for d in Store(settings, FakeEmbedder()).documents()} == ids | {"2"}


def test_a_clash_within_one_run_names_the_line_and_keeps_both(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "text": BODY}])
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "b1", "text": OTHER}, {"id": "x1", "text": OTHER}])
    r = ingest(settings, [a.parent, b.parent])
    assert (r.added, r.failed, [(n.path, n.line) for n in r.notices]) == (3, 0, [(str(b.resolve()), 2)])
    assert doc_row(settings, "x1")[1] == str(a.resolve())
    assert doc_row(settings, "b.jsonl#x1")[1] == str(b.resolve())


def test_a_record_edited_in_its_own_file_replaces_its_earlier_version(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "title": "قديم", "text": BODY}])
    ingest(settings, [a.parent])
    write_jsonl(a, [{"id": "x1", "title": "محدّث", "text": BODY + " إضافة"}])
    r = ingest(settings, [a.parent])
    assert (r.updated, r.added, r.notices) == (1, 0, [])
    assert doc_row(settings, "x1")[2] == "محدّث"


def test_scoped_ids_of_two_same_named_files_differ(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "b.jsonl", [{"id": "1", "text": BODY}])
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "1", "text": OTHER}])
    c = write_jsonl(tmp_path / "C" / "b.jsonl", [{"id": "1", "text": OTHER + " ثالث"}])
    r = ingest(settings, [a.parent, b.parent, c.parent])
    assert (r.added, r.failed) == (3, 0)
    ids = [n.doc_id for n in r.notices]
    assert ids[0] == "b.jsonl#1" and ids[1].startswith("b.jsonl#1~") and len(set(ids)) == 2


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
    assert (r.failed, [(n.path, n.line, n.doc_id) for n in r.notices]) == (0, [(str(a.resolve()), 1, "a.jsonl#x1")])
    assert doc_row(settings, "x1")[1] == str(b.resolve())
    assert doc_row(settings, "a.jsonl#x1")[1] == str(a.resolve())


def test_the_cli_reports_a_clash_as_a_notice_by_file_and_line_and_exits_0(settings, tmp_path, monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.setattr("rag.index.embeddings.get_embedder", lambda s: FakeEmbedder())
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "1", "text": BODY}])
    b = write_jsonl(tmp_path / "B" / "b.jsonl", [{"id": "1", "text": OTHER}])
    data = ["--data-dir", str(settings.data_dir)]
    assert main([*data, "ingest", str(a.parent)]) == 0
    capsys.readouterr()
    assert main([*data, "ingest", str(b.parent)]) == 0
    err = capsys.readouterr().err
    assert f"notice {b.resolve()}:1: record id '1' is already used by a document from {a.resolve()}" in err
    assert "stored as 'b.jsonl#1'" in err and "skipped" not in err
    assert main([*data, "ingest", "--json", str(b.parent)]) == 0  # unchanged: nothing to report
    assert json.loads(capsys.readouterr().out)["notices"] == []
    b.write_text(b.read_text(encoding="utf-8") + json.dumps({"id": "2", "text": THIRD}) + "\n", encoding="utf-8")
    assert main([*data, "ingest", "--json", str(b.parent)]) == 0
    [n] = json.loads(capsys.readouterr().out)["notices"]
    assert (n["path"], n["line"], n["record_id"], n["doc_id"], n["kept"]) == (
        str(b.resolve()), 1, "1", "b.jsonl#1", str(a.resolve()))


def test_an_id_repeated_within_one_file_keeps_the_first_record_and_reports_the_other(settings, tmp_path):
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "x1", "title": "الأول", "text": BODY},
                                                  {"id": "x1", "title": "الأول", "text": BODY},  # the same again
                                                  {"id": "x1", "title": "آخر", "text": OTHER}])
    r = ingest(settings, [a.parent])
    assert (r.added, [(f.path, f.line) for f in r.failures]) == (1, [(str(a), 3)])
    assert "line 1" in r.failures[0].reason and "its own id" in r.failures[0].reason
    store = Store(settings, FakeEmbedder())
    assert doc_row(settings, "x1")[2] == "الأول"
    assert store.db.execute("SELECT count(*) FROM chunks WHERE doc_id='x1'").fetchone()[0] == 1  # not merged
