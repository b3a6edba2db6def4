"""A small OpenAI-compatible embedding server on loopback (POST /v1/embeddings), so tests and
benches exercise the real HTTP client of rag.index.embedding_server.

It embeds with any `encode(texts) -> array` (the test suite's hashing embedder, or the real
offline model through the in-process embedder with its prompts off: the client adds them), and
can be told to fail, to answer slowly, or to return vectors unnormalized and out of order, as
real servers may. It records every request and the most requests it ever had in flight.

Standalone, it serves the real offline model for the benches:
  python -m tests.embedding_server --port 8089 [--model-dir DIR] [--data-dir D (serve D's int8 or fp32 vectors)]
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

Encode = Callable[[list[str]], np.ndarray]


class EmbeddingServer:
    """`with EmbeddingServer(encode, model="m") as srv: srv.url` (the base URL, without /v1)."""

    def __init__(self, encode: Encode, model: str = "fake-served", *, delay_s: float = 0.0, scale: float = 3.0,
                 host: str = "127.0.0.1", port: int = 0):
        self.encode = encode
        self.model = model
        self.delay_s = delay_s
        self.scale = scale  # servers need not normalize: the client must
        self.requests: list[list[str]] = []
        self.failures: list[tuple[int, dict]] = []  # (status, headers) answered to the next requests
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, n: int, status: int = 503, **headers: str) -> None:
        self.failures.extend([(status, headers)] * n)

    def __enter__(self) -> EmbeddingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: dict) -> tuple[int, dict, dict]:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        with self._lock:
            self.requests.append(texts)
            if self.failures:
                status, headers = self.failures.pop(0)
                return status, {"error": {"message": f"scripted failure {status}"}}, headers
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            vecs = np.asarray(self.encode(texts), dtype=np.float32) * self.scale
        finally:
            with self._lock:
                self.in_flight -= 1
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)]
        return 200, {"object": "list", "data": data[::-1], "model": self.model,  # out of order, on purpose
                     "usage": {"prompt_tokens": 0, "total_tokens": 0}}, {}

    def _handler(self):
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.rstrip("/") != "/v1/embeddings":
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(400, {"error": {"message": "body is not JSON"}}, {})
                    return
                self._send(*srv._answer(body))

            def _send(self, status: int, payload: dict, headers: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def real_encoder(settings) -> tuple[Encode, str]:
    """The real offline model, in-process, with its prompts off (the client sends them), and the
    name to serve it under: its model_id, which tells int8 vectors from fp32 ones."""
    from rag.index.embeddings import get_embedder

    emb = get_embedder(settings.replace(embedding_url="", query_prompt="", document_prompt=""))
    emb.embed_documents(["تحميل"])  # load now, not on the first request
    return (lambda texts: emb.embed_documents(texts)), emb.model_id


def hashing_encoder(dimension: int = 64) -> Encode:
    from tests.fakes import FakeEmbedder

    fake = FakeEmbedder(dimension)
    return lambda texts: fake.embed_documents(texts)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--model-dir", help="where the offline model is prepared (default: RAG_MODEL_DIR)")
    ap.add_argument("--fake", action="store_true", help="serve the hashing embedder instead of the real model")
    ap.add_argument("--data-dir", help="the index it serves for: the backend auto picks follows that index's vectors")
    args = ap.parse_args(argv)
    from rag.config import load_settings

    settings = load_settings(**({"model_dir": args.model_dir} if args.model_dir else {}),
                             **({"data_dir": args.data_dir} if args.data_dir else {}))
    encode, name = (hashing_encoder(), "fake-hash-64") if args.fake else real_encoder(settings)
    srv = EmbeddingServer(encode, name, scale=1.0, host=args.host, port=args.port)
    print(f"serving embeddings at {srv.url}/v1/embeddings", flush=True)
    try:
        srv._server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
