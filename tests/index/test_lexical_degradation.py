"""A broken lexical index degrades search to dense-only, but says so: a logged warning, a count
in Store.stats() and in `rag status`."""
import json
import logging
import sqlite3

import pytest

from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from tests.fakes import FakeEmbedder
from tests.index.docs import doc, write

DOCS = [doc("a", "تمويل الجماعات المتطرفة عبر الجمعيات الخيرية", "2019-01-01"),
        doc("b", "التجنيد عبر الإنترنت ووسائل التواصل الاجتماعي", "2019-02-01"),
        doc("c", "أمن الحدود ومراقبة المعابر", "2019-03-01")]
QUERY = "تمويل الجماعات المتطرفة"


@pytest.fixture
def store(settings):
    s = Store(settings, FakeEmbedder())
    write(s, DOCS)
    return s


def _drop_fts(store, table="chunks_fts"):
    with sqlite3.connect(store.dir / "archive.sqlite") as raw:
        raw.execute(f"DROP TABLE {table}")


def test_a_healthy_index_reports_no_lexical_errors(store):
    assert store.lexical_search(QUERY, 5)
    stats = store.stats()
    assert stats["lexical_errors"] == 0 and stats["lexical_last_error"] == ""


def test_a_missing_fts_table_is_logged_counted_and_search_stays_dense(store, settings, caplog):
    _drop_fts(store)
    with caplog.at_level(logging.WARNING, logger="rag.index.lexical"):
        assert store.lexical_search(QUERY, 5) == []
    assert any(r.levelno == logging.WARNING and "chunks_fts" in r.getMessage() for r in caplog.records)
    stats = store.stats()
    assert stats["lexical_errors"] >= 1 and "chunks_fts" in stats["lexical_last_error"]
    hits = HybridRetriever(settings, store).search(QUERY, k=3)
    assert hits and all(h.dense_rank is not None and h.lexical_rank is None for h in hits)
    assert hits[0].chunk.doc_id == "a"


def test_cooccurrence_failure_is_logged_and_counted(store, caplog):
    _drop_fts(store)
    with caplog.at_level(logging.WARNING, logger="rag.index.lexical"):
        assert store.cooccurrence(["تمويل"], ["جماع"]) == 0
    assert any("co-occurrence" in r.getMessage() for r in caplog.records)
    assert store.stats()["lexical_errors"] == 1


def test_status_probes_the_lexical_index(store):
    _drop_fts(store, "roots_fts")
    stats = store.stats()  # no search yet: the probe finds it
    assert stats["lexical_errors"] == 1 and "roots_fts" in stats["lexical_last_error"]


def test_rag_status_shows_lexical_errors(store, settings, monkeypatch, capsys):
    import ui.cli as cli
    from rag.services import Archive

    monkeypatch.setattr(cli, "_archive", lambda _settings: Archive(settings, store, None))
    assert cli.main(["status", "--json"]) == 0
    healthy = json.loads(capsys.readouterr().out)
    assert healthy["lexical_errors"] == 0 and healthy["chunks"] == 3
    _drop_fts(store)
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "lexical_errors: 1" in out and "lexical_last_error: lexical index chunks_fts" in out


def test_verbose_flag():
    from ui.cli import _parser

    assert _parser().parse_args(["-v", "status"]).verbose
    assert _parser().parse_args(["--verbose", "status"]).verbose
    assert not _parser().parse_args(["status"]).verbose
