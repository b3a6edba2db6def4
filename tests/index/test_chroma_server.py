"""Chroma server mode: the test starts `chroma run` on a free loopback port and stops it."""
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.errors import StoreUnavailableError
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, make_archive


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_bin() -> str | None:
    return shutil.which("chroma") or (
        str(Path(sys.executable).parent / "chroma") if (Path(sys.executable).parent / "chroma").exists() else None)


@pytest.fixture
def chroma_server(tmp_path):
    exe = _chroma_bin()
    if not exe:
        pytest.skip("the `chroma` command (from the chromadb package) is not installed")
    port = _free_port()
    proc = subprocess.Popen([exe, "run", "--path", str(tmp_path / "chroma-srv"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 30 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_and_search_through_a_chroma_server(chroma_server, tmp_path):
    s = load_settings(env={}, data_dir=tmp_path / "data", chroma_url=chroma_server)
    assert Store(s, FakeEmbedder()).dense_search(FakeEmbedder().embed_query("سؤال"), 40) == []  # empty collection
    arch = make_archive(tmp_path / "arch", 4)
    r = ingest(s, [arch])
    assert r.added == 4
    store = Store(s, FakeEmbedder())
    assert store.stats()["chroma"] == chroma_server
    sql_ids, chroma_ids = store.all_chunk_ids()
    assert sql_ids == chroma_ids and sql_ids
    hits = HybridRetriever(s, store).search("أمن الحدود", k=2, mode="dense")
    assert len(store.dense_search(store.embedder.embed_query("أمن الحدود"), 500)) == len(sql_ids)  # k past the size
    assert hits and "أمن الحدود" in hits[0].chunk.title
    assert ingest(s, [arch]).chunks == 0  # incremental through the server too


def test_unreachable_server_gives_a_clear_error(tmp_path):
    s = load_settings(env={}, data_dir=tmp_path / "data", chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(StoreUnavailableError, match="chroma run"):
        Store(s, FakeEmbedder())
