"""Embeddings from an OpenAI-compatible server (Settings.embedding_url), for teams whose ingest
outgrows one machine: text-embeddings-inference, vLLM, Infinity and Ollama all serve
POST /v1/embeddings ({"input": [...], "model": ...} -> {"data": [{"index", "embedding"}], "model"}).

The client does what the in-process embedder does, so the two give the same vectors: the e5
prompts ("query: " / "passage: ") are prepended here (configure the server to add none), and
every vector is L2-normalized here whatever the server does. Documents go in batches of
embed_batch_size with up to embedding_concurrency batches in flight (one small thread pool per
embedder, shared by its callers, so the bound holds process-wide). A batch is retried with
exponential back-off on connection errors, timeouts, 5xx and 429 (honouring Retry-After);
other 4xx fail at once. A server that stays down raises EmbeddingServerError naming its URL.

The index records the model the server reports (its "model" field) as embedding_model, so an
index built in-process with the same model reads through the server and back, and a server that
serves another model is refused on open (and mid-ingest, should the server be swapped).
Chunking still counts tokens locally, with the tokenizer of Settings.embedding_model.
"""
from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import EmbeddingServerError, ModelUnavailableError
from rag.index.recent import QUERY_MEMORY, SENTENCE_MEMORY, RecentVectors

log = logging.getLogger(__name__)
PROBE_TEXT = "query: probe"
MAX_BACKOFF_S = 8.0


def endpoint(url: str) -> str:
    """The embeddings endpoint for a base URL given as host, .../v1 or .../v1/embeddings."""
    url = url.strip().rstrip("/")
    if "//" not in url:
        url = f"http://{url}"
    if url.endswith("/embeddings"):
        return url
    return f"{url}/embeddings" if url.endswith("/v1") else f"{url}/v1/embeddings"


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class EmbeddingClient:
    """One POST per batch, retried; returns (L2-normalized float32 vectors, the model reported)."""

    def __init__(self, url: str, model: str, api_key: str = "", *, timeout_s: float = 60.0, retries: int = 4,
                 backoff_s: float = 0.5, sleep: Callable[[float], None] = time.sleep):
        self.url = endpoint(url)
        self.model = model
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        body = json.dumps({"input": list(texts), "model": self.model, "encoding_format": "float"},
                          ensure_ascii=False).encode()
        last: _Retryable | None = None
        for attempt in range(self.retries + 1):
            try:
                return self._post(body, len(texts))
            except _Retryable as e:
                last = e
                if attempt == self.retries:
                    break
                delay = e.retry_after if e.retry_after is not None else self.backoff_s * 2 ** attempt
                delay = min(MAX_BACKOFF_S, delay) * (1 + 0.2 * random.random())  # jitter: callers spread out
                log.warning("embedding server %s: %s; retry %d/%d in %.1f s", self.url, e, attempt + 1,
                            self.retries, delay)
                self._sleep(delay)
        raise EmbeddingServerError(self.url, (
            f"the embedding server at {self.url} did not answer after {self.retries + 1} attempts ({last}). "
            "Start it (or fix RAG_EMBEDDING_URL), or unset RAG_EMBEDDING_URL to embed in-process."))

    def _post(self, body: bytes, n: int) -> tuple[np.ndarray, str]:
        req = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:  # before URLError: it is one
            detail = _detail(e)
            if e.code == 429 or e.code >= 500:
                raise _Retryable(f"HTTP {e.code} {detail}".strip(), _retry_after(e.headers)) from e
            fix = {401: " Set RAG_EMBEDDING_API_KEY.", 403: " Set RAG_EMBEDDING_API_KEY.",
                   404: " Check RAG_EMBEDDING_URL (it should serve /v1/embeddings) and RAG_EMBEDDING_MODEL_NAME."}
            raise EmbeddingServerError(self.url, f"the embedding server at {self.url} refused the request: "
                                                 f"HTTP {e.code} {detail}.{fix.get(e.code, '')}") from e
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # refused, reset, timeout
            raise _Retryable(str(getattr(e, "reason", None) or e) or type(e).__name__) from e
        return self._parse(raw, n)

    def _parse(self, raw: bytes, n: int) -> tuple[np.ndarray, str]:
        try:
            payload = json.loads(raw)
            rows = sorted(payload["data"], key=lambda d: d.get("index", 0))
            vecs = np.asarray([d["embedding"] for d in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise EmbeddingServerError(self.url, f"the embedding server at {self.url} answered something that is "
                                                 f"not an OpenAI embeddings response ({e}); check RAG_EMBEDDING_URL") from e
        if vecs.ndim != 2 or len(vecs) != n:
            raise EmbeddingServerError(self.url, f"the embedding server at {self.url} returned {len(vecs)} vectors "
                                                 f"for {n} inputs; check RAG_EMBEDDING_URL")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12), str(payload.get("model") or self.model)


def _detail(e: urllib.error.HTTPError) -> str:
    try:
        text = e.read(400).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    try:
        err = json.loads(text)
        msg = err.get("error") if isinstance(err, dict) else None
        text = (msg.get("message") if isinstance(msg, dict) else msg) or err.get("message") or text
    except (ValueError, AttributeError):
        pass
    return f"({str(text)[:300]})" if text else ""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class ServerEmbedder:
    """The embedder interface (model_id, dimension, prompts, embed_documents, embed_query,
    count_tokens) over an embedding server."""

    def __init__(self, settings: Settings, *, backoff_s: float = 0.5, sleep: Callable[[float], None] = time.sleep):
        self._settings = settings
        self.url = endpoint(settings.embedding_url)
        self.requested_model = settings.embedding_model_name or settings.embedding_model
        self.client = EmbeddingClient(settings.embedding_url, self.requested_model, settings.embedding_api_key,
                                      timeout_s=settings.embedding_timeout_s, retries=settings.embedding_retries,
                                      backoff_s=backoff_s, sleep=sleep)
        self.query_prompt = settings.query_prompt
        self.document_prompt = settings.document_prompt
        self.batch_size = max(1, settings.embed_batch_size)
        self.concurrency = max(1, settings.embedding_concurrency)
        self.backend = "server"
        self._served: tuple[str, int] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._queries = RecentVectors(QUERY_MEMORY)
        self._sentences = RecentVectors(SENTENCE_MEMORY)

    # -- what the index records --------------------------------------------------------------
    def _probe(self) -> tuple[str, int]:
        if self._served is None:
            vecs, model = self.client.embed([PROBE_TEXT])
            self._served = (model, int(vecs.shape[1]))
        return self._served

    @property
    def model_id(self) -> str:
        """The model the server says it serves (one probe request, remembered)."""
        return self._probe()[0]

    @property
    def dimension(self) -> int:
        return self._probe()[1]

    @property
    def mismatch_hint(self) -> str:
        return (f"the embedding server at {self.url} serves {self.model_id!r}: point RAG_EMBEDDING_URL at a "
                "server that serves the index's model (or unset it to embed in-process with that model)")

    # -- embedding ---------------------------------------------------------------------------
    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = [self.document_prompt + t for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [texts[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            return self._checked(*self.client.embed(batches[0]))
        futures = [self._executor().submit(self.client.embed, b) for b in batches]
        try:
            return np.concatenate([self._checked(*f.result()) for f in futures])
        finally:
            for f in futures:
                f.cancel()  # after a failure, drop the batches not yet sent

    def embed_query(self, text: str) -> np.ndarray:
        """Remembers recent queries, as the in-process embedder does."""
        return self._queries.one(text, lambda t: self._checked(*self.client.embed([self.query_prompt + t]))[0])

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """embed_documents remembering recent texts, as the in-process embedder does."""
        return self._sentences.many(texts, self.embed_documents)

    def _checked(self, vecs: np.ndarray, model: str) -> np.ndarray:
        if self._served is None:  # the first answer tells what is served; no probe needed
            self._served = (model, int(vecs.shape[1]))
        served, dim = self._served
        if model != served or vecs.shape[1] != dim:
            raise EmbeddingServerError(self.url, (
                f"the embedding server at {self.url} now serves {model!r} ({vecs.shape[1]} dimensions), not "
                f"{served!r} ({dim}) as when this process started; restore that model on the server or restart"))
        return vecs

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="rag-embed")
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    # -- chunking ----------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Model tokens in text (the chunker's unit), counted locally with the tokenizer of
        Settings.embedding_model: the default model's comes from its offline preparation."""
        if self._tokenizer is None:
            from rag.index.embeddings import _fast_tokenizer
            from rag.index.model_prep import resolve_model

            tok = _fast_tokenizer(resolve_model(self._settings))
            if tok is None:
                raise ModelUnavailableError(
                    f"chunking counts the served model's tokens, but no tokenizer.json was found for "
                    f"{self._settings.embedding_model!r}: set RAG_EMBEDDING_MODEL to a folder (or a cached hub "
                    "name) holding the served model's tokenizer, and RAG_EMBEDDING_MODEL_NAME to its name on the server")
            self._tokenizer = tok
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
