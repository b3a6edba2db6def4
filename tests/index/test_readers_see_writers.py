"""One writer, several readers on one host: a reader's dense side sees what another process wrote."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.index.docs import doc, store_of

ROOT = str(Path(__file__).resolve().parents[2])

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from rag.config import load_settings
    from rag.index.store import Store
    from tests.fakes import FakeEmbedder
    from tests.index.docs import doc, write
    root = Path(sys.argv[1])
    s = Store(load_settings(env={}, data_dir=root / "data", model_dir=root / "models"), FakeEmbedder())
    write(s, [doc(f"new{i}", f"خبر جديد رقم {i} عن معرض الكتاب في المدينة") for i in range(20)])
""")


def test_a_running_reader_finds_documents_another_process_ingested(tmp_path):
    reader = store_of(tmp_path, [doc(f"old{i}", f"خبر قديم رقم {i} عن الطقس") for i in range(20)])
    vector = reader.embedder.embed_query("خبر جديد رقم 3 عن معرض الكتاب في المدينة")
    assert not any(h.chunk_id for h in reader.dense_search(vector, 40) if h.chunk_id.startswith("new"))
    subprocess.run([sys.executable, "-c", WRITER, str(tmp_path)], check=True, cwd=ROOT)
    found = {reader.chunks([h.chunk_id])[h.chunk_id].doc_id for h in reader.dense_search(vector, 40)}
    assert {f"new{i}" for i in range(20)} <= found


def test_the_readers_own_writes_do_not_reload_it(tmp_path, monkeypatch):
    from tests.index.docs import write

    store = store_of(tmp_path, [doc("a", "نص أول عن الطقس")])
    monkeypatch.setattr(store._dense, "reopen", lambda: (_ for _ in ()).throw(AssertionError("reloaded")))
    write(store, [doc("b", "نص ثان عن الطقس")])
    store.remove_docs(["a"])
    assert [h.chunk_id for h in store.dense_search(store.embedder.embed_query("الطقس"), 5)]
