"""Server memory while it ingests an upload (not a test).

  python bench/upload_memory.py [--mb 8] [--fake]

Starts `rag serve` on loopback in a fresh data dir, uploads a zip of small Arabic articles that
unpacks to --mb MB (and one a quarter of that size first, as the baseline measured in the same
run) through gradio_client, and samples the server's RSS every 0.2 s. Bounded memory means the
peak grows far less than the upload: the pipeline reads, chunks and embeds in batches.
--fake uses the test suite's hashing embedder (pipeline memory alone, seconds instead of minutes).
"""
from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BODY = ("تتناول هذه الدراسة موضوع {n} في المنطقة العربية، وتعرض أرقامًا وتواريخ محددة عن عام {y}، "
        "وتناقش أثر السياسات العامة على المجتمعات المحلية ودور المؤسسات في الاستجابة للتحديات. ")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_zip(mb: float) -> bytes:
    """Articles of ~6 KB each until the zip unpacks to `mb` MB."""
    buf, size, i = io.BytesIO(), 0, 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        while size < mb * (1 << 20):
            text = f"مقال رقم {i}\n\n" + "".join(BODY.format(n=f"المسألة {i}-{j}", y=1990 + j % 30) for j in range(30))
            data = text.encode()
            zf.writestr(f"batch/{i:05d}.txt", data)
            size += len(data)
            i += 1
    return buf.getvalue()


SERVER = """
import sys
from rag.config import load_settings
from ui.app import build_app, launch
settings = load_settings(data_dir=sys.argv[1], port=int(sys.argv[2]))
emb = None
if sys.argv[3] == "fake":
    from tests.fakes import FakeEmbedder
    emb = FakeEmbedder()
app = build_app(settings, embedder=emb)
launch(app, settings, quiet=True)
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=8.0)
    ap.add_argument("--fake", action="store_true")
    args = ap.parse_args()
    from gradio_client import Client, handle_file

    data = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAG_UPLOAD_MAX_MB": str(int(args.mb) + 50), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(data), str(port), "fake" if args.fake else "real"],
                            cwd=ROOT, env=env)
    try:
        client = None
        for _ in range(240):
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # not up yet
                time.sleep(0.5)
        if client is None:
            print("the server did not start")
            return 1
        print(f"server up: RSS {rss_mb(proc.pid):.0f} MB")
        for mb in (args.mb / 4, args.mb):
            path = data / f"upload-{mb:g}.zip"
            path.write_bytes(make_zip(mb))
            before, peak, stop = rss_mb(proc.pid), [0.0], threading.Event()

            def sample(peak=peak, stop=stop):
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_mb(proc.pid))
                    time.sleep(0.2)

            t = threading.Thread(target=sample)
            t.start()
            t0 = time.perf_counter()
            summary = client.predict([handle_file(str(path))], api_name="/upload")
            stop.set()
            t.join()
            print(f"upload unpacking to {mb:g} MB ({path.stat().st_size / 1e6:.1f} MB zipped): added "
                  f"{summary.get('added')}, {summary.get('chunks')} chunks in {time.perf_counter() - t0:.0f} s; "
                  f"RSS before {before:.0f} MB, peak {peak[0]:.0f} MB (+{peak[0] - before:.0f}), "
                  f"after {rss_mb(proc.pid):.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
