"""Identity on evaluation data: roles from the auth entries, feedback only on answers the server
gave (to the same user), ratings under the login name, own vs everyone's ratings, and the login
rate limit (with an injected clock). The slow test drives the launched app with logins."""
from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from evals.ratings import Feedback, Rating, RatingStore
from rag.errors import ConfigError
from tests.ingest.test_pipeline import make_archive, write_article
from tests.ui.test_app import QUESTION, running_app
from ui import auth, login_limit
from ui import eval_tab as tab
from ui.feedback import FeedbackRefused, record_feedback


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def entry(user, password, role=None):
    return auth.auth_entry(user, password, role=role, iterations=1000)


def scores(rater, item):
    return Rating(rater, item, "q", "a", correct=4, faithful=4, citations_accurate=4, complete=4)


# -- roles ------------------------------------------------------------------------------------
def test_roles_come_from_entries_and_old_entries_are_editors():
    users = auth.parse_users([entry("old", "pw"), entry("rita", "pw", "reader"), entry("ada", "pw", "admin")])
    assert {n: u.role for n, u in users.items()} == {"old": "editor", "rita": "reader", "ada": "admin"}
    assert entry("rita", "pw", "reader").startswith("rita:reader:pbkdf2_sha256$")
    assert auth.make_auth([entry("rita", "pw", "reader")])("rita", "pw")  # the new form logs in
    with pytest.raises(ConfigError, match="role 'boss'"):
        auth.parse_users(["x:boss:" + auth.hash_password("pw", iterations=1000)])
    with pytest.raises(ConfigError):
        auth.auth_entry("x", "pw", role="boss")
    assert auth.role_of({}, "") == "admin"  # no login: the one local operator
    assert auth.role_of(users, "nobody") == "" and not auth.can("", "ask")
    assert [auth.can("reader", a) for a in ("ask", "rate", "upload", "remove", "see_all")] == [True, True, False, False, False]
    assert [auth.can("editor", a) for a in ("upload", "remove", "see_all")] == [True, True, False]
    assert auth.can("admin", "see_all") and "editor role" in auth.denied("reader", "upload")
    assert auth.denied("editor", "remove") == ""


def test_hash_password_prints_the_role(monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.setattr("getpass.getpass", lambda prompt="": "s3cret")
    assert main(["hash-password", "rita", "--role", "reader"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("rita:reader:pbkdf2_sha256$") and auth.parse_users([printed])["rita"].role == "reader"


# -- login rate limit -------------------------------------------------------------------------
def from_address(address, fn, *args):
    """Call fn as a request from `address` would (what the ClientAddress middleware sets)."""
    ctx = contextvars.copy_context()
    ctx.run(login_limit.CLIENT_ADDRESS.set, address)
    return ctx.run(fn, *args)


def test_the_sixth_wrong_login_in_a_minute_is_refused_even_with_the_right_password():
    clock = Clock()
    limiter = login_limit.LoginLimiter(5, 60, clock=clock)
    check = auth.make_auth([entry("amal", "right"), entry("omar", "0mar")], limiter)
    for _ in range(5):
        assert check("amal", "wrong") is False
        clock.t += 1
    with pytest.raises(login_limit.LoginRefused, match="Too many failed logins.*try again in 55 s"):
        check("amal", "right")
    assert check("omar", "0mar")  # per user: another name is not blocked
    clock.t += 30
    with pytest.raises(login_limit.LoginRefused):  # refused attempts are not counted, nor is the wait reset
        check("amal", "right")
    clock.t += 25  # the first failure is now 60 s old
    assert check("amal", "right") is True
    assert check("amal", "wrong") is False and check("amal", "right") is True  # a success clears the count


def test_failures_from_one_address_do_not_lock_the_user_out_from_another():
    clock = Clock()
    check = auth.make_auth([entry("amal", "right")], login_limit.LoginLimiter(5, 60, clock=clock))
    for _ in range(5):
        assert from_address("203.0.113.9", check, "amal", "guess") is False
    with pytest.raises(login_limit.LoginRefused, match="for this user from this address") as e:
        from_address("203.0.113.9", check, "amal", "right")
    assert "لهذا المستخدم من هذا العنوان" in str(e.value)
    assert from_address("198.51.100.7", check, "amal", "right") is True  # her own machine
    clock.t += 60
    assert from_address("203.0.113.9", check, "amal", "right") is True


def test_one_address_spraying_many_user_names_is_limited_across_names():
    clock = Clock()
    limits = login_limit.Limits(login_limit.LoginLimiter(5, 60, clock=clock), login_limit.LoginLimiter(3, 60, clock=clock))
    check = auth.make_auth([entry("amal", "right")], limits)
    for name in ("admin", "root", "test"):
        assert from_address("203.0.113.9", check, name, "123456") is False
    with pytest.raises(login_limit.LoginRefused, match="from this address") as e:
        from_address("203.0.113.9", check, "guest", "123456")
    assert "من هذا العنوان" in str(e.value)
    with pytest.raises(login_limit.LoginRefused):  # a valid account does not reopen the address
        from_address("203.0.113.9", check, "amal", "right")
    assert from_address("198.51.100.7", check, "amal", "right") is True


def test_the_middleware_hands_the_socket_peer_to_the_auth_callable():
    seen = []

    async def app(scope, receive, send):
        seen.append(login_limit.CLIENT_ADDRESS.get())

    mw = login_limit.ClientAddress(app)
    asyncio.run(mw({"type": "http", "client": ("127.0.0.2", 5555), "headers": [(b"x-forwarded-for", b"10.0.0.1")]},
                   None, None))
    asyncio.run(mw({"type": "http", "client": None, "headers": []}, None, None))
    assert seen == ["127.0.0.2", ""] and login_limit.CLIENT_ADDRESS.get() == ""


def test_the_app_answers_a_blocked_login_with_http_429(settings):
    from fastapi import HTTPException

    from ui.app import login_check

    clock = Clock()
    check = login_check(settings.replace(auth=(entry("amal", "right"),)),
                        login_limit.Limits(login_limit.LoginLimiter(2, 60, clock=clock)))
    assert inspect.iscoroutinefunction(check)  # Gradio awaits it: the hashing leaves its event loop
    assert not asyncio.run(check("amal", "x")) and not asyncio.run(check("amal", "y"))
    with pytest.raises(HTTPException) as e:
        asyncio.run(check("amal", "right"))
    assert e.value.status_code == 429 and "Too many failed logins" in e.value.detail
    assert login_check(settings) is None


@pytest.mark.slow
def test_the_launched_app_limits_logins_per_user_and_socket_address(settings, tmp_path):
    """A real server on 127.0.0.1, clients bound to 127.0.0.1, .2 and .3 (all loopback on Linux)."""
    import httpx

    secured = settings.replace(auth=(entry("amal", "right"),), login_address_max_failures=8)
    with running_app(secured) as (url, _):
        def post(local, user, password, **headers):
            with httpx.Client(transport=httpx.HTTPTransport(local_address=local)) as c:
                return c.post(url + "login", data={"username": user, "password": password}, headers=headers)

        for _ in range(5):
            assert post("127.0.0.1", "amal", "nope").status_code == 400
        blocked = post("127.0.0.1", "amal", "right")
        assert blocked.status_code == 429 and "for this user from this address" in blocked.json()["detail"]
        assert "أعد المحاولة" in blocked.json()["detail"]
        # A made-up X-Forwarded-For is not another address (no trusted proxies by default).
        assert post("127.0.0.1", "amal", "right", **{"X-Forwarded-For": "10.9.8.7"}).status_code == 429
        assert post("127.0.0.2", "amal", "right").status_code == 200  # another address logs in
        for i in range(8):  # spraying names from one address
            assert post("127.0.0.3", f"user{i}", "123456").status_code == 400
        sprayed = post("127.0.0.3", "someone", "123456")
        assert sprayed.status_code == 429 and "from this address" in sprayed.json()["detail"]
        assert post("127.0.0.2", "amal", "right").status_code == 200
    # Behind a reverse proxy the operator names it; then its X-Forwarded-For is the client.
    with running_app(secured.replace(trusted_proxies=("127.0.0.1",))) as (url, _):
        for _ in range(5):
            assert post("127.0.0.1", "amal", "nope", **{"X-Forwarded-For": "203.0.113.9"}).status_code == 400
        assert post("127.0.0.1", "amal", "right", **{"X-Forwarded-For": "203.0.113.9"}).status_code == 429
        assert post("127.0.0.1", "amal", "right", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 200


# -- feedback on issued answers ---------------------------------------------------------------
@pytest.fixture
def svc(settings, tmp_path):
    return SimpleNamespace(ratings=RatingStore(tmp_path / "r.sqlite"), settings=settings, mode="extractive")


def test_feedback_is_refused_unless_it_names_an_answer_given_to_the_caller(svc, settings):
    payload = {"question": "سؤال حقيقي؟", "answer": "جواب [1]", "citations": [{"n": 1, "title": "ت"}],
               "mode": "extractive"}
    aid = svc.ratings.issue_answer("alice", payload, {"since": "2018"})
    forged = {"question": "سؤال مختلق", "answer": "جواب مختلق", "citations": []}
    with pytest.raises(FeedbackRefused, match="answer_id"):
        record_feedback(svc, "alice", forged, -1)  # no id: an invented answer
    with pytest.raises(FeedbackRefused, match="no answer 'deadbeef'"):
        record_feedback(svc, "alice", "deadbeef", -1)
    with pytest.raises(FeedbackRefused, match="no answer"):
        record_feedback(svc, "bob", aid, -1)  # alice's answer
    # the client's copy of the text is ignored: the server's own question and answer are stored
    fid = record_feedback(svc, "alice", json.dumps({**forged, "answer_id": aid}), 1, " مفيد ")
    [fb] = svc.ratings.list_feedback()
    assert fb.id == fid and fb.user == "alice" and fb.answer_id == aid and fb.comment == "مفيد"
    assert fb.question == "سؤال حقيقي؟" and fb.answer == "جواب [1]" and fb.citations[0]["title"] == "ت"
    assert fb.settings["filters"] == {"since": "2018"} and fb.settings["k"] == settings.k
    assert svc.ratings.list_feedback(user="bob") == []


# -- ratings under the login name; who sees what ------------------------------------------------
def test_a_rating_cannot_be_saved_under_another_users_name(store):
    items = {"i1": tab.Item("i1", "q", "a", (), "i1")}
    with pytest.raises(ValueError, match="alice"):
        tab.save_rating(store, items, "bob", "i1", [4, 4, 4, 4], login="alice")
    assert store.list() == []
    tab.save_rating(store, items, "", "i1", [4, 4, 4, 4], login="alice")  # blank: the login name
    tab.save_rating(store, items, "alice", "i1", [5, 5, 5, 5], login="alice")
    assert [(r.rater, r.correct) for r in store.list()] == [("alice", 5)]
    tab.save_rating(store, items, "ضيف", "i1", [3, 3, 3, 3])  # no login: free text, as before
    assert {r.rater for r in store.list()} == {"alice", "ضيف"}


def test_an_admin_sees_everyones_ratings_and_feedback_a_reader_only_their_own(store, tmp_path):
    store.add(scores("alice", "i1"))
    store.add(scores("bob", "i1"))
    store.add_feedback(Feedback(thumbs=1, question="q1", answer="a", user="alice"))
    store.add_feedback(Feedback(thumbs=-1, question="q2", answer="a", user="bob"))
    assert {r.rater for r in tab.visible_ratings(store, "ada", "admin")} == {"alice", "bob"}
    assert [r.rater for r in tab.visible_ratings(store, "alice", "reader")] == ["alice"]
    assert [f.question for f in tab.visible_feedback(store, "alice", "editor")] == ["q1"]
    assert len(tab.visible_feedback(store, "ada", "admin")) == 2
    items = tab.rateable_items(None, store, "bob", "reader")
    assert [it.question for it in items.values()] == ["q2"]
    own = tab.export_ratings(store, tmp_path / "x", "alice", "reader").read_text(encoding="utf-8-sig")
    assert "alice" in own and "bob" not in own
    everyone = tab.export_ratings(store, tmp_path / "y", "ada", "admin").read_text(encoding="utf-8-sig")
    assert "alice" in everyone and "bob" in everyone


def test_the_page_hides_upload_and_removal_from_readers_and_fixes_the_rater(settings):
    from tests.fakes import FakeEmbedder
    from ui.app import build_app

    secured = settings.replace(auth=(entry("rita", "r1", "reader"), entry("ada", "a1", "admin")))
    app = build_app(secured, embedder=FakeEmbedder())
    fns = list(app.fns.values()) if isinstance(app.fns, dict) else list(app.fns)
    permissions = next(f.fn for f in fns if getattr(f.fn, "__name__", "") == "permissions")
    eval_load = [f.fn for f in fns if getattr(f.fn, "__name__", "") == "on_load"][-1]
    upload, remove, note = permissions(SimpleNamespace(username="rita"))
    assert upload["visible"] is False and remove["visible"] is False and "reader" in note["value"]
    assert permissions(SimpleNamespace(username="ada"))[0]["visible"] is True
    rater, agreement, *_ = eval_load(SimpleNamespace(username="rita"))
    assert rater["value"] == "rita" and rater["interactive"] is False and agreement["visible"] is False
    assert eval_load(SimpleNamespace(username="ada"))[1]["visible"] is True


def test_running_a_question_set_needs_the_editor_role_on_the_server(settings, tmp_path):
    import gradio as gr

    from tests.fakes import FakeEmbedder
    from ui.app import build_app

    secret = tmp_path / "server-only.questions.jsonl"
    secret.write_text(json.dumps({"id": "s1", "question": "ما الخبر؟", "answers": ["x"], "context_id": "c1"},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    contexts = tmp_path / "server-only.contexts.jsonl"
    contexts.write_text(json.dumps({"context_id": "c1", "title": "خبر", "text": "نص الخبر عن المياه في النيل."},
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    secured = settings.replace(auth=(entry("rita", "r1", "reader"), entry("ed", "e1", "editor")))
    fns = build_app(secured, embedder=FakeEmbedder()).fns
    fns = list(fns.values()) if isinstance(fns, dict) else list(fns)
    on_run = next(f.fn for f in fns if getattr(f.fn, "__name__", "") == "on_run")
    eval_load = [f.fn for f in fns if getattr(f.fn, "__name__", "") == "on_load"][-1]
    args = (str(secret), None, str(contexts), None, "lexical", "arabic", 5, 0, False)
    with pytest.raises(gr.Error, match="permission denied: to run a question set.*editor role"):
        on_run(*args, SimpleNamespace(username="rita"), progress=lambda *a, **k: None)
    run, summary, rows, *_ = on_run(*args, SimpleNamespace(username="ed"), progress=lambda *a, **k: None)
    assert run.summary["n_questions"] == 1 and rows[0][0] == "s1"
    box, note = eval_load(SimpleNamespace(username="rita"))[4:6]  # outputs: rater, agreement, judge x2, run box, note
    assert box["visible"] is False and note["visible"] is True and "editor" in note["value"]
    assert eval_load(SimpleNamespace(username="ed"))[4]["visible"] is True


def test_the_app_keeps_answers_as_long_as_the_setting_says(settings):
    from rag.config import load_settings
    from tests.fakes import FakeEmbedder
    from ui.app import Services

    assert settings.answer_retention_days == 30
    assert load_settings(env={"RAG_ANSWER_RETENTION_DAYS": "7"}).answer_retention_days == 7
    svc = Services.build(settings.replace(answer_retention_days=7), embedder=FakeEmbedder())
    assert svc.ratings.answer_retention_days == 7


# -- the launched app with logins ---------------------------------------------------------------
@pytest.mark.slow
def test_roles_feedback_and_visibility_through_the_api(settings, tmp_path):
    import httpx
    from gradio_client import Client, handle_file

    secured = settings.replace(auth=(entry("rita", "r1", "reader"), entry("ed", "e1", "editor"),
                                     entry("ada", "a1", "admin")))
    with running_app(secured, make_archive(tmp_path / "arch", n=3)) as (url, _):
        rita = Client(url, auth=("rita", "r1"), verbose=False)
        ed = Client(url, auth=("ed", "e1"), verbose=False)
        ada = Client(url, auth=("ada", "a1"), verbose=False)

        mine = rita.predict(QUESTION, api_name="/ask")
        theirs = ed.predict(QUESTION, api_name="/ask")
        assert mine["answer_id"] and mine["answer_id"] != theirs["answer_id"] and mine["citations"]
        forged = {"question": "سؤال مختلق", "answer": "جواب مختلق", "citations": [], "mode": "extractive"}
        with pytest.raises(Exception, match="answer_id"):
            rita.predict(json.dumps(forged, ensure_ascii=False), -1, "", api_name="/feedback")
        with pytest.raises(Exception, match="no answer"):
            rita.predict(theirs["answer_id"], -1, "", api_name="/feedback")
        fid = rita.predict(mine["answer_id"], 1, "جيد", api_name="/feedback")["id"]
        ed.predict(json.dumps(theirs, ensure_ascii=False), -1, "", api_name="/feedback")

        docs = rita.predict("", api_name="/documents")
        with pytest.raises(Exception, match="permission denied"):
            rita.predict(docs[0]["doc_id"], api_name="/remove_document")
        new = write_article(tmp_path / "up", "جديد.txt", "مقال مرفوع", "نص عن المياه في حوض النيل.")
        with pytest.raises(Exception, match="permission denied"):
            rita.predict([handle_file(str(new))], api_name="/upload")
        assert len(rita.predict("", api_name="/documents")) == 3  # nothing added, nothing removed
        assert ed.predict([handle_file(str(new))], api_name="/upload")["added"] == 1
        assert ed.predict(docs[0]["doc_id"], api_name="/remove_document") == {"removed": 1}

        store = RatingStore(Path(settings.data_dir) / "ratings.sqlite")
        store.add(scores("rita", f"feedback:{fid}"))
        store.add(scores("ed", f"feedback:{fid}"))
        seen = rita.predict(api_name="/ratings")
        assert seen["role"] == "reader" and [r["rater"] for r in seen["ratings"]] == ["rita"]
        assert [f["user"] for f in seen["feedback"]] == ["rita"] and seen["feedback"][0]["question"] == QUESTION
        everyone = ada.predict(api_name="/ratings")
        assert {r["rater"] for r in everyone["ratings"]} == {"rita", "ed"}
        assert {f["user"] for f in everyone["feedback"]} == {"rita", "ed"}

        for _ in range(5):
            assert httpx.post(url + "login", data={"username": "ada", "password": "nope"}).status_code == 400
        blocked = httpx.post(url + "login", data={"username": "ada", "password": "a1"})
        assert blocked.status_code == 429 and "Too many failed logins" in blocked.json()["detail"]


@pytest.fixture
def store(tmp_path):
    return RatingStore(tmp_path / "ratings.sqlite")
