"""Deterministic stand-ins that implement the real interfaces (no model download, no torch)."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from rag.text.arabic import analyze


class FakeEmbedder:
    """Hashed bag of Arabic-analyzed terms: deterministic, fast, and similar texts stay similar."""

    model_id = "fake-hash-64"
    dimension = 64
    query_prompt = "query: "
    document_prompt = "passage: "

    def __init__(self, dimension: int = 64, model_id: str | None = None):
        self.dimension = dimension
        if model_id:
            self.model_id = model_id
        self.calls = 0  # number of texts embedded, so tests can assert "embedded nothing"

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for term in analyze(text) or ["<empty>"]:
            h = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
            v[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def count_tokens(self, text: str) -> int:
        # Roughly what a subword tokenizer gives for Arabic: ~1.6 tokens per word.
        return int(len(text.split()) * 1.6) + 1
