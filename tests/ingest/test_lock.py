"""One writer per index: a second ingest is refused naming the holder; a killed holder frees it."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ingest.lock import IngestLockedError, ingest_lock
from rag.index.store import Store
from rag.types import IngestReport
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, make_archive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hold_lock(index_dir):
    """A separate process holding the lock until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from ingest.lock import ingest_lock
        with ingest_lock({str(index_dir)!r}):
            print("held", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_writer_is_refused_naming_the_holder_and_a_killed_holder_leaves_no_stale_lock(
        settings, tmp_path):
    arch = make_archive(tmp_path / "arch", n=2)
    ingest(settings, [arch])  # readers need an index to read
    child = hold_lock(settings.index_dir)
    try:
        with pytest.raises(IngestLockedError) as e:
            ingest(settings, [arch])
        msg = str(e.value)
        assert f"process {child.pid} (ingesting since " in msg and str(settings.index_dir) in msg
        assert "wait for it to finish" in msg
        assert Store(settings, FakeEmbedder()).stats()["documents"] == 2  # readers are unaffected
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert ingest(settings, [arch]).unchanged == 2


def test_a_writer_can_wait_for_the_lock(settings, tmp_path):
    arch = make_archive(tmp_path / "arch", n=1)
    held = threading.Event()

    def holder():
        with ingest_lock(settings.index_dir):
            held.set()
            time.sleep(0.6)

    t = threading.Thread(target=holder)
    t.start()
    held.wait()
    try:
        assert ingest(settings, [arch], lock_wait_s=10).added == 1
    finally:
        t.join()


def test_the_cli_exits_2_while_another_ingest_runs(settings, tmp_path, capsys):
    from ui import cli

    child = hold_lock(settings.index_dir)
    try:
        code = cli.main(["--data-dir", str(settings.data_dir), "ingest", str(make_archive(tmp_path / "a", 1))])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert code == 2 and f"process {child.pid}" in capsys.readouterr().err


def test_the_cli_can_wait_for_the_other_ingest(settings, tmp_path, monkeypatch):
    from ui import cli

    seen = {}
    monkeypatch.setattr("ingest.pipeline.run_ingest", lambda *a, **kw: seen.update(kw) or IngestReport())
    assert cli.main(["--data-dir", str(settings.data_dir), "ingest", "--wait", "30", str(tmp_path)]) == 0
    assert seen["lock_wait_s"] == 30.0 and seen["follow_symlinks"] is False
