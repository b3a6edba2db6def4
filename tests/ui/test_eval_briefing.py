"""Briefing ratings in the Evaluation tab: its callbacks as plain functions (build or pick a
briefing, rate it under the login name, per-criterion means and agreement, export) and, slow,
through the launched app with logins (gradio_client): a rating is filed under the logged-in user."""
from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from evals.briefing_ratings import CRITERIA, BriefingRatingStore
from rag.config import Settings
from tests.briefing.archive import TOPIC, search
from tests.fakes import FakeEmbedder
from ui import eval_briefing as eb
from ui import eval_tab as tab


@pytest.fixture
def store(tmp_path):
    return BriefingRatingStore(tmp_path / "ratings.sqlite")


@pytest.fixture
def bid(store):
    return eb.build_for_rating(store, search, Settings(), TOPIC, user="ada")


def test_a_briefing_built_for_rating_is_kept_and_shown(store, bid):
    saved = store.briefing(bid)
    assert saved.topic == TOPIC and saved.user == "ada" and "إحاطة" in saved.markdown
    (label, value), = eb.briefing_choices(store)
    assert value == bid and TOPIC in label and "ada" in label
    assert "<iframe" in eb.briefing_view(store, bid) and "sandbox" in eb.briefing_view(store, bid)
    assert "اختر موجزًا" in eb.briefing_view(store, None)
    # built again from the same archive: the same briefing, the same id, one saved copy
    assert eb.build_for_rating(store, search, Settings(), TOPIC, user="bob") == bid
    assert len(store.briefings()) == 1
    with pytest.raises(ValueError, match="موضوع"):
        eb.build_for_rating(store, search, Settings(), "  ")


def test_ratings_go_under_the_login_name_and_not_another(store, bid):
    with pytest.raises(ValueError, match="logged in as 'alice'"):
        eb.save_briefing_rating(store, "bob", bid, [4] * 5, login="alice")
    msg = eb.save_briefing_rating(store, "", bid, [4, 3, 5, 2, 4], "جيد", login="alice")
    assert "alice" in msg and TOPIC in msg
    rows = store.ratings(briefing_id=bid)
    assert {r.rater for r in rows} == {"alice"} and {r.criterion: r.score for r in rows} == dict(
        zip(CRITERIA, [4, 3, 5, 2, 4]))
    assert all(r.comment == "جيد" for r in rows)
    eb.save_briefing_rating(store, "ضيف", bid, ["3"] * 5)  # no login: free text, as the answers
    with pytest.raises(ValueError, match="قيّم كل المعايير"):
        eb.save_briefing_rating(store, "x", bid, [3, None, 3, 3, 3])
    with pytest.raises(ValueError, match="اختر موجزًا"):
        eb.save_briefing_rating(store, "x", "brief:none", [3] * 5)
    with pytest.raises(ValueError, match="rater"):
        eb.save_briefing_rating(store, " ", bid, [3] * 5)


def test_the_table_and_exports_follow_who_may_see_what(store, bid, tmp_path):
    eb.save_briefing_rating(store, "", bid, [5, 4, 4, 3, 5], login="alice")
    eb.save_briefing_rating(store, "", bid, [4, 4, 3, 3, 5], login="bob")
    rows = {r[0]: r for r in eb.summary_rows(store, "ada", "admin")}
    assert list(rows) == [eb.CRITERION_LABELS[c] for c in CRITERIA] and len(eb.SUMMARY_HEADERS) == 7
    assert rows["على الموضوع"][1:5] == ["4.500", 2, 1, 2]
    own = {r[0]: r for r in eb.summary_rows(store, "alice", "reader")}
    assert own["على الموضوع"][1:5] == ["5.000", 1, 0, 0] and own["على الموضوع"][5] == "—"
    path = eb.export_briefing_ratings(store, "csv", tmp_path / "a", "alice", "reader")
    with open(path, encoding="utf-8-sig") as f:
        assert {r["rater"] for r in csv.DictReader(f)} == {"alice"}
    path = eb.export_briefing_ratings(store, "json", tmp_path / "b", "ada", "admin")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert {r["rater"] for r in doc["ratings"]} == {"alice", "bob"} and doc["summary"][0]["n_shared"] == 1
    with pytest.raises(ValueError):
        eb.export_briefing_ratings(store, "xlsx", tmp_path / "c")


def test_the_section_is_in_the_evaluation_tab(settings, tmp_path):
    gr = pytest.importorskip("gradio")
    with gr.Blocks() as demo:
        with gr.Tab("Evaluation"):
            tab.evaluation_tab(settings, tmp_path / "r.sqlite", embedder=FakeEmbedder(), search=search)
    config = demo.get_config_file()
    ids = {c["props"].get("elem_id") for c in config["components"]}
    assert {"rag-brate-topic", "rag-brate-make", "rag-brate-pick", "rag-brate-view", "rag-brate-save",
            "rag-brate-summary", *(f"rag-brate-{c}" for c in CRITERIA)} <= ids
    labels = {c["props"].get("label") for c in config["components"]}
    assert {"على الموضوع", "تحت العنوان الصحيح", "التغطية", "الاستشهادات قابلة للتحقق", "سهولة القراءة"} <= labels


# -- the launched app with logins ---------------------------------------------------------------
@pytest.mark.slow
def test_a_briefing_rating_is_stored_with_the_logged_in_user(settings, tmp_path):
    from gradio_client import Client

    from tests.ingest.test_pipeline import make_archive
    from tests.ui.test_app import running_app
    from tests.ui.test_security import entry

    secured = settings.replace(auth=(entry("rita", "r1", "reader"), entry("ed", "e1", "editor"),
                                     entry("ada", "a1", "admin")))
    with running_app(secured, make_archive(tmp_path / "arch", n=3)) as (url, _):
        rita = Client(url, auth=("rita", "r1"), verbose=False)
        ed = Client(url, auth=("ed", "e1"), verbose=False)
        ada = Client(url, auth=("ada", "a1"), verbose=False)
        rita.predict("تمويل الجماعات المتطرفة", "", "", [], api_name="/briefing")  # the Briefing tab keeps it
        (saved,) = rita.predict(api_name="/briefings")
        assert saved["topic"] == "تمويل الجماعات المتطرفة" and saved["user"] == "rita"
        got = rita.predict(saved["id"], 4, 3, 5, 2, 4, "المراجع تحتاج تدقيقًا", api_name="/rate_briefing")
        assert got == {"briefing_id": saved["id"], "rater": "rita", "stored": 5}
        with pytest.raises(Exception, match="logged in as 'rita'"):
            rita.predict(saved["id"], 1, 1, 1, 1, 1, "", "ada", api_name="/rate_briefing")
        with pytest.raises(Exception, match="1 to 5|من 1 إلى 5"):
            rita.predict(saved["id"], 9, 1, 1, 1, 1, api_name="/rate_briefing")
        ed.predict(saved["id"], 4, 4, 4, 3, 4, api_name="/rate_briefing")

        with sqlite3.connect(Path(settings.data_dir) / "ratings.sqlite") as con:
            rows = con.execute("SELECT rater, briefing_id, topic, criterion, score, comment, timestamp "
                               "FROM briefing_ratings ORDER BY rater, criterion").fetchall()
        assert {r[0] for r in rows} == {"rita", "ed"} and len(rows) == 10
        mine = {r[3]: r for r in rows if r[0] == "rita"}
        assert mine["on_topic"][1:6] == (saved["id"], "تمويل الجماعات المتطرفة", "on_topic", 4, "المراجع تحتاج تدقيقًا")
        assert mine["citations"][4] == 2 and all(r[6] for r in rows)

        seen = rita.predict(api_name="/briefing_ratings")
        assert seen["role"] == "reader" and {r["rater"] for r in seen["ratings"]} == {"rita"}
        everyone = ada.predict(api_name="/briefing_ratings")
        assert {r["rater"] for r in everyone["ratings"]} == {"rita", "ed"}
        on_topic = next(r for r in everyone["summary"] if r["criterion"] == "on_topic")
        assert (on_topic["mean"], on_topic["n_shared"], on_topic["n_raters"]) == (4.0, 1, 2)
