"""The real Gradio app on a free 127.0.0.1 port (real Store and Assistant, fake embedder), driven
by gradio_client; plus the upload and login rules it relies on, tested directly."""
from __future__ import annotations

import contextlib
import io
import json
import socket
import stat
import zipfile
from pathlib import Path

import pytest

from evals.ratings import RatingStore
from ingest.pipeline import run_ingest
from rag.errors import ConfigError
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import make_archive, write_article
from ui import auth, uploads

QUESTION = "ما هي دراسة عن تمويل الجماعات المتطرفة؟"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(settings, archive: Path | None = None):
    """Launch build_app on a free port; yields (url, app). The index is ingested first."""
    from ui.app import build_app, launch

    emb = FakeEmbedder()
    if archive is not None:
        run_ingest(settings, [archive], embedder=emb, show_progress=False)
    settings = settings.replace(port=free_port())
    app = build_app(settings, embedder=emb)
    _, url, _ = launch(app, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, app
    finally:
        app.close()


def zip_bytes(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


# -- fast: uploads and auth rules ------------------------------------------------------------------
def test_safe_name_strips_directories_and_odd_characters():
    assert uploads.safe_name("../../etc/passwd") == "passwd"
    assert uploads.safe_name("C:\\x\\evil.txt") == "evil.txt"
    assert uploads.safe_name(".hidden.txt") == "hidden.txt"
    assert uploads.safe_name("تقرير $(rm -rf)\n;.txt") == "تقرير _rm -rf_.txt"
    assert uploads.safe_name("") == "file"
    long = uploads.safe_name("ا" * 300 + ".jsonl.gz")
    assert len(long) == 120 and long.endswith(".jsonl.gz")


@pytest.mark.parametrize("entry", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "C:/evil.txt"])
def test_zip_slip_entries_are_skipped_and_the_good_ones_kept(settings, tmp_path, entry):
    z = tmp_path / "in.zip"
    z.write_bytes(zip_bytes({"ok.txt": "نص".encode(), entry: b"x"}))
    folder, files, skipped = uploads.stage(settings, [z])
    assert files == ["in.zip/ok.txt"] and "path traversal" in skipped[0]["reason"]
    assert skipped[0]["name"].startswith("in.zip/") and len(skipped) == 1
    assert not list(Path(settings.data_dir).rglob("evil.txt")) and not (tmp_path / "evil.txt").exists()
    assert folder.resolve().is_relative_to(Path(settings.data_dir).resolve())


def test_zip_symlink_and_bomb_are_rejected(settings, tmp_path):
    z = tmp_path / "link.zip"
    z.write_bytes(zip_bytes({"ok.txt": b"x"}, symlink="link.txt"))
    _, files, skipped = uploads.stage(settings, [z])
    assert files == ["link.zip/ok.txt"] and "symbolic link" in skipped[0]["reason"]
    assert skipped[0]["name"] == "link.zip/link.txt"
    z2 = tmp_path / "bomb.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.txt", b"0" * (25 << 20))  # ~25 KB compressed, 25 MB unpacked
    z2.write_bytes(buf.getvalue())
    small = settings.replace(upload_max_mb=1)  # archives may unpack to ZIP_EXPANSION x 1 MB
    assert z2.stat().st_size < (1 << 20)
    _, files, skipped = uploads.stage(small, [z2])
    assert files == [] and "more than 4 MB" in skipped[0]["reason"]


def test_stage_skips_unsupported_and_oversized_files(settings, tmp_path):
    (tmp_path / "a.exe").write_bytes(b"MZ")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * ((1 << 20) + 1))
    ok = tmp_path / "ok.md"
    ok.write_text("# عنوان\n\nنص", encoding="utf-8")
    _, files, skipped = uploads.stage(settings.replace(upload_max_mb=1), [tmp_path / "a.exe", big, ok])
    assert files == ["ok.md"]
    reasons = {s["name"]: s["reason"] for s in skipped}
    assert "unsupported" in reasons["a.exe"] and "1 MB" in reasons["big.txt"]


def test_a_reupload_is_unchanged_not_a_second_copy(settings, tmp_path):
    emb = FakeEmbedder()
    from rag.index.store import Store

    store = Store(settings, emb)
    doc = write_article(tmp_path / "up", "مقال.txt", "مقال عن المياه", "تتناول هذه المقالة أزمة المياه في حوض النيل.")
    first = uploads.ingest_uploads(settings, [doc], embedder=emb, store=store)
    assert first["added"] == 1 and first["unchanged"] == 0
    again = uploads.ingest_uploads(settings, [doc], embedder=emb, store=store)
    assert again["added"] == 0 and again["unchanged"] == 1 and again["same"][0]["title"] == "مقال عن المياه"
    assert len(store.documents()) == 1
    z = tmp_path / "batch.zip"  # the same bytes inside a zip, plus a bad entry and a new file
    z.write_bytes(zip_bytes({"docs/مقال.txt": doc.read_bytes(), "../evil.txt": b"x",
                             "docs/new.txt": doc.read_text(encoding="utf-8").replace("المياه", "الطاقة").encode()}))
    third = uploads.ingest_uploads(settings, [z], embedder=emb, store=store)
    assert third["added"] == 1 and third["unchanged"] == 1 and len(store.documents()) == 2
    assert [s["name"] for s in third["skipped"]] == ["batch.zip/evil.txt"]
    assert third["same"][0]["name"] == "batch.zip/docs/مقال.txt"


def test_an_uploaded_record_whose_id_is_taken_is_kept_under_a_scoped_id_with_a_notice(settings, tmp_path):
    from rag.index.store import Store
    from tests.ingest.test_doc_ids import BODY, OTHER, doc_hash, write_jsonl
    from ui import render

    emb = FakeEmbedder()
    store = Store(settings, emb)
    a = write_jsonl(tmp_path / "A" / "a.jsonl", [{"id": "1", "title": "أصلي", "text": BODY}])
    run_ingest(settings, [a.parent], embedder=emb, store=store, show_progress=False)  # the CLI's
    before = doc_hash(settings, "1")
    b = write_jsonl(tmp_path / "up" / "b.jsonl", [{"id": "1", "title": "مرفوع", "text": OTHER}])
    first = uploads.ingest_uploads(settings, [b], embedder=emb, store=store)
    assert (first["added"], first["failed"], first["skipped"]) == (1, 0, [])
    assert first["notices"] == [{"name": "b.jsonl:1", "record_id": "1", "doc_id": "b.jsonl#1", "kept": "A/a.jsonl"}]
    assert str(tmp_path) not in json.dumps(first, ensure_ascii=False)  # no server paths
    assert doc_hash(settings, "1") == before and {d.title for d in store.documents()} == {"أصلي", "مرفوع"}
    html = render.render_ingest_summary(first)
    assert "rag-notices" in html and "مستخدم لوثيقة من" in html and "b.jsonl#1" in html and "b.jsonl:1" in html
    again = uploads.ingest_uploads(settings, [b], embedder=emb, store=store)
    assert (again["added"], again["unchanged"], again["notices"]) == (0, 1, [])
    assert len(store.documents()) == 2
    c = write_jsonl(tmp_path / "up2" / "c.jsonl", [{"id": "1", "title": "ثالث", "text": OTHER + " ثالث"}])
    third = uploads.ingest_uploads(settings, [c], embedder=emb, store=store)
    assert [(n["name"], n["doc_id"]) for n in third["notices"]] == [("c.jsonl:1", "c.jsonl#1")]
    assert len(store.documents()) == 3


def test_password_hashes_verify_and_reject():
    entry = auth.auth_entry("amal", "كلمة-سر", iterations=1000)
    check = auth.make_auth([entry])
    assert check("amal", "كلمة-سر") and not check("amal", "wrong") and not check("nobody", "كلمة-سر")
    assert auth.make_auth([]) is None
    with pytest.raises(ConfigError):
        auth.make_auth(["amal:plaintext"])


# -- slow: the launched app ----------------------------------------------------------------------
@pytest.mark.slow
def test_ask_upload_documents_feedback_remove(settings, tmp_path):
    from gradio_client import Client, handle_file

    with running_app(settings, make_archive(tmp_path / "arch")) as (url, _):
        c = Client(url, verbose=False)
        names = set(c.view_api(print_info=False, return_format="dict")["named_endpoints"])
        assert {"/ask", "/upload", "/documents", "/remove_document", "/feedback", "/stats"} <= names

        r = c.predict(QUESTION, api_name="/ask")
        assert not r["refused"] and r["mode"] == "extractive" and r["citations"]
        assert r["citations"][0]["title"] == "دراسة عن تمويل الجماعات المتطرفة"
        assert "[1]" in r["answer"]
        follow = c.predict("وماذا عن عام 2012؟", json.dumps([["user", QUESTION], ["assistant", r["answer"]]]),
                           api_name="/ask")
        assert follow["question"] == "وماذا عن عام 2012؟" and follow["standalone_question"]

        fb = c.predict(json.dumps(r, ensure_ascii=False), -1, "ينقصه التاريخ", api_name="/feedback")
        stored = RatingStore(Path(settings.data_dir) / "ratings.sqlite").list_feedback()
        assert fb["id"] == stored[-1].id and stored[-1].thumbs == -1 and stored[-1].comment == "ينقصه التاريخ"
        assert stored[-1].question == QUESTION and stored[-1].mode == "extractive"
        assert stored[-1].citations[0]["title"] and stored[-1].settings["k"] == settings.k

        up = tmp_path / "up"
        txt = write_article(up, "جديد.txt", "مقال مرفوع عن المياه", "تتناول هذه المقالة أزمة المياه في حوض النيل.")
        z = up / "batch.zip"
        z.write_bytes(zip_bytes({
            "dir/one.txt": (up / "جديد.txt").read_text(encoding="utf-8").replace("المياه", "الطاقة").encode(),
            "notes.exe": b"MZ"}))
        summary = c.predict([handle_file(str(txt)), handle_file(str(z))], api_name="/upload")
        assert summary["added"] == 2, summary
        assert {s["name"] for s in summary["skipped"]} == {"batch.zip/notes.exe"}
        assert summary["folder"].startswith("uploads/") and not Path(summary["folder"]).is_absolute()
        assert (Path(settings.data_dir) / summary["folder"]).is_dir()
        titles = {d["title"] for d in summary["documents"]}
        assert titles == {"مقال مرفوع عن المياه", "مقال مرفوع عن الطاقة"}

        docs = c.predict("المياه", api_name="/documents")
        assert [d["title"] for d in docs] == ["مقال مرفوع عن المياه"] and docs[0]["chunks"] >= 1
        assert c.predict(api_name="/stats")["documents"] == 8
        assert c.predict(docs[0]["doc_id"], api_name="/remove_document") == {"removed": 1}
        assert c.predict("المياه", api_name="/documents") == []

        slip = up / "slip.zip"
        slip.write_bytes(zip_bytes({"../../escape.txt": b"x"}))
        bad = c.predict([handle_file(str(slip))], api_name="/upload")
        assert bad["added"] == 0 and "path traversal" in bad["skipped"][0]["reason"]
        assert not list(tmp_path.rglob("escape.txt"))


@pytest.mark.slow
def test_login_guards_pages_and_api(settings, tmp_path):
    import httpx
    from gradio_client import Client

    secured = settings.replace(auth=(auth.auth_entry("amal", "s3cret", iterations=1000),))
    with running_app(secured, make_archive(tmp_path / "arch", n=2)) as (url, _):
        with pytest.raises(Exception):  # noqa: B017 -- gradio_client raises several types for a refused login
            Client(url, verbose=False)
        for route in ("config", "gradio_api/info", "gradio_api/file=" + str(tmp_path / "arch" / "a00.txt")):
            resp = httpx.get(url + route)
            assert resp.status_code in (401, 403), route
        assert httpx.post(url + "gradio_api/call/ask", json={"data": ["x"]}).status_code in (401, 403)
        c = Client(url, auth=("amal", "s3cret"), verbose=False)
        assert c.predict(api_name="/stats")["documents"] == 2


def test_dates_are_checked_and_named():
    from ui.app import date_errors, make_filters, normal_date, question_error

    assert normal_date("٢٠١٨/٧/١") == "2018-07-01" and normal_date(" 2019 ") == "2019" and normal_date("") == ""
    [msg] = date_errors(since="أمس", until="2020")
    assert "«من تاريخ»" in msg and "«أمس»" in msg and "2018-07-01" in msg
    assert date_errors(until="2020-13-01") and date_errors(until="2021-02-30")
    with pytest.raises(ValueError, match="إلى تاريخ"):
        make_filters("", "yesterday")
    assert make_filters("2018", "2020-12-31").since == "2018"
    assert "2,000" in question_error("س" * 20_000) and question_error("") and not question_error("سؤال؟")
    [en] = date_errors(True, since="yesterday")
    assert "From date" in en and "2018-07-01" in en and "too long" in question_error("w " * 5000)


def test_conversation_store_is_per_user(tmp_path):
    from ui.history import ConversationStore

    store = ConversationStore(tmp_path / "c.sqlite")
    turn = {"question": "سؤال أول", "answer": {"answer": "جواب"}, "html": "<p>x</p>"}
    cid = store.save("user:amal", [turn])
    assert store.save("user:omar", [turn, turn], cid) != cid  # another's id starts a new one
    assert store.save("user:amal", [turn, turn], cid) == cid
    reopened = ConversationStore(tmp_path / "c.sqlite")
    [c] = reopened.list("user:amal")
    assert c["id"] == cid and c["turns"] == 2 and c["title"] == "سؤال أول"
    assert reopened.get("user:omar", cid) is None and reopened.delete("user:omar", cid) == 0
    assert reopened.delete("user:amal", cid) == 1 and reopened.list("user:amal") == []


@pytest.mark.slow
def test_conversation_history_per_user_survives_a_restart(settings, tmp_path):
    from gradio_client import Client

    secured = settings.replace(auth=(auth.auth_entry("amal", "s3cret", iterations=1000),
                                     auth.auth_entry("omar", "0mar", iterations=1000)))
    with running_app(secured, make_archive(tmp_path / "arch")) as (url, _):
        amal = Client(url, auth=("amal", "s3cret"), verbose=False)
        first = amal.predict(QUESTION, "", "", "", "", "", "new", api_name="/ask")
        cid = first["conversation_id"]
        again = amal.predict("وماذا عن عام 2012؟", "", "", "", "", "", cid, api_name="/ask")
        assert again["conversation_id"] == cid and again["standalone_question"]
        with pytest.raises(Exception, match="ليس تاريخًا"):
            amal.predict(QUESTION, "", "أمس", api_name="/ask")
    assert (Path(settings.data_dir) / "conversations.sqlite").is_file()
    with running_app(secured) as (url, _):  # a restart on the same data dir
        amal = Client(url, auth=("amal", "s3cret"), verbose=False)
        [c] = amal.predict(api_name="/conversations")
        assert c["id"] == cid and c["turns"] == 2 and c["title"] == QUESTION
        turns = amal.predict(cid, api_name="/conversation")
        assert [t["question"] for t in turns] == [QUESTION, "وماذا عن عام 2012؟"] and turns[0]["answer"]["citations"]
        omar = Client(url, auth=("omar", "0mar"), verbose=False)
        assert omar.predict(api_name="/conversations") == [] and omar.predict(cid, api_name="/conversation") == []
        assert omar.predict(cid, api_name="/delete_conversation") == {"deleted": 0}
        assert amal.predict(cid, api_name="/delete_conversation") == {"deleted": 1}
        assert amal.predict(api_name="/conversations") == []
