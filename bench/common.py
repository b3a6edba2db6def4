"""What the benchmarks share: percentiles, process memory, free loopback ports, and the servers a
bench starts and stops itself (the app as `rag serve` starts it, `chroma run`, the embedding
server of tests/embedding_server.py), always on 127.0.0.1 and always stopped on exit.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "news"
ANT5000 = SHARED / "ant5000"
BIG_JSONL = SHARED / "ant_multisource_all.jsonl.gz"
NEWS_QUESTIONS = ROOT / "evals" / "data" / "news.questions.jsonl"


def pct(xs: Iterable[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (and 0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout_s: float, what: str) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout_s:.0f} s")


def bench_env(**rag: str) -> dict[str, str]:
    """The environment for a child: this checkout first on the path, RAG_* settings as given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k in ("RAG_MODEL_DIR",)}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({k: v for k, v in rag.items() if v})
    return env


def rag_cmd(data_dir: Path, *args: str) -> list[str]:
    """`rag --data-dir D ...` as this checkout runs it."""
    return [sys.executable, "-m", "ui.cli", "--data-dir", str(data_dir), *args]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def chroma_server(path: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`chroma run --path PATH` on a free loopback port: (url, process)."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        raise RuntimeError("the `chroma` command (from the chromadb package) is not installed")
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, 60, "chroma run")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        _stop(proc)


@contextlib.contextmanager
def embedding_server(log: Path, data_dir: Path, fake: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """tests/embedding_server.py serving the real offline model on a free loopback port, with the
    vectors (int8 or fp32) of data_dir's index, or the default's for a new one."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.embedding_server", "--port", str(port),
                                 "--data-dir", str(data_dir), *(["--fake"] if fake else [])], cwd=ROOT, env=bench_env(),
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, 180, "the embedding server")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        _stop(proc)


@contextlib.contextmanager
def app_server(data_dir: Path, env: dict[str, str], log: Path, timeout_s: float = 300) -> Iterator[tuple[str, subprocess.Popen]]:
    """`rag serve` on a free loopback port over data_dir: (url, process)."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(rag_cmd(data_dir, "serve", "--host", "127.0.0.1", "--port", str(port)),
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, timeout_s, "rag serve")
        yield f"http://127.0.0.1:{port}/", proc
    finally:
        _stop(proc)


def ant5000_files(n: int, offset: int = 0) -> list[Path]:
    return sorted((ANT5000 / "articles").glob("*.txt"))[offset:offset + n]


def copy_articles(n: int, dst: Path, offset: int = 0) -> Path:
    """N ant5000 articles (and their manifest lines) copied to a temp folder, never into the repo."""
    dst.mkdir(parents=True, exist_ok=True)
    files = ant5000_files(n, offset)
    names = {p.name for p in files}
    for p in files:
        shutil.copy(p, dst / p.name)
    with open(ANT5000 / "manifest.jsonl", encoding="utf-8") as src, open(dst / "manifest.jsonl", "w",
                                                                         encoding="utf-8") as out:
        for line in src:
            rec = json.loads(line)
            if Path(rec["file"]).name in names:
                out.write(json.dumps({**rec, "file": Path(rec["file"]).name}, ensure_ascii=False) + "\n")
    return dst


def jsonl_slice(dst: Path, n: int, *, offset: int = 0, exclude_ids: set[str] = frozenset(),
                exclude_titles: set[str] = frozenset(), only_ids: set[str] | None = None) -> tuple[Path, int]:
    """Up to N records of the 31k JSONL (from `offset`, skipping the ids and titles given, or only
    those of only_ids) written to dst."""
    written = 0
    with gzip.open(BIG_JSONL, "rt", encoding="utf-8") as src, open(dst, "w", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i < offset or not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("docno") in exclude_ids or (rec.get("title") or "").strip() in exclude_titles:
                continue
            if only_ids is not None and rec.get("docno") not in only_ids:
                continue
            out.write(line if line.endswith("\n") else line + "\n")
            written += 1
            if written >= n:
                break
    return dst, written


def indexed(data_dir: Path) -> tuple[set[str], set[str]]:
    """(doc ids, titles) the index in data_dir holds, read from its SQLite side."""
    db = Path(data_dir) / "index" / "archive.sqlite"
    if not db.is_file():
        return set(), set()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT doc_id, title FROM docs").fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}, {(r[1] or "").strip() for r in rows}


def questions(path: Path = NEWS_QUESTIONS) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]
