"""Our embedder as a LangChain Embeddings, for LangChain components such as langchain_chroma, so
Chroma never falls back to its own English-only default embedder."""
from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings


class LangChainEmbeddings(Embeddings):
    def __init__(self, embedder: Any):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()
