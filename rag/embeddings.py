"""Sentence-transformers adapter: the one module that imports sentence_transformers and torch.

Queries and documents are embedded with different prompts (e5: "query: " / "passage: ").
The model loads on the first embed, so building a pipeline or counting tokens stays cheap;
token counting uses the `tokenizers` library on tokenizer.json and never needs torch.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import Settings
from rag.errors import ModelUnavailableError
from rag.model_prep import resolve_model

_FIX = ("prepare the default model with `rag prepare-model`, or set RAG_EMBEDDING_MODEL "
        "to a local sentence-transformers folder")


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model; vectors are float32 and L2-normalized."""

    def __init__(self, settings: Settings):
        self.model_id = settings.embedding_model  # stable name for the index manifest, not a path we resolved
        self.query_prompt = settings.query_prompt
        self.document_prompt = settings.document_prompt
        self._settings = settings
        self._source: str | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._dimension: int | None = None

    @property
    def source(self) -> str:
        """Folder or hub name actually loaded (prepares the default model on first use)."""
        if self._source is None:
            self._source = resolve_model(self._settings)
        return self._source

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = _folder_dimension(Path(self.source)) or int(self.model.get_embedding_dimension())
        return self._dimension

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = _load(self.source, _pick_device(self._settings.device))
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self.model.encode_document(list(texts), prompt=self.document_prompt, **self._encode_kwargs())
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self.model.encode_query([text], prompt=self.query_prompt, **self._encode_kwargs())
        return np.asarray(vec[0], dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Model tokens in text, without special tokens or prompt (the chunker's unit)."""
        if self._tokenizer is None:
            self._tokenizer = _fast_tokenizer(self.source) or _ModelTokenizer(self)
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _encode_kwargs(self) -> dict:
        return {"batch_size": self._settings.embed_batch_size, "normalize_embeddings": True,
                "convert_to_numpy": True, "show_progress_bar": False}


class _ModelTokenizer:
    """Fallback for hub models without a cached tokenizer.json: the loaded model's tokenizer."""

    class _Ids:
        def __init__(self, ids: list[int]):
            self.ids = ids

    def __init__(self, embedder: SentenceTransformerEmbedder):
        self._embedder = embedder

    def encode(self, text: str, add_special_tokens: bool = False) -> "_ModelTokenizer._Ids":
        tok = self._embedder.model.tokenizer
        return self._Ids(tok(text, add_special_tokens=add_special_tokens, truncation=False)["input_ids"])


def get_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(settings)


class LangChainEmbeddings(Embeddings):
    """Hands our embedder (prompts included) to LangChain components such as langchain_chroma,
    so Chroma never falls back to its own English-only default embedder."""

    def __init__(self, embedder: Any):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


def langchain_embeddings(embedder: Any) -> Embeddings:
    return LangChainEmbeddings(embedder)


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def _load(source: str, device: str) -> Any:
    """Local folders load with local_files_only (no hub contact); names try the cache first,
    then the hub, for users who have one."""
    from sentence_transformers import SentenceTransformer

    local = Path(source).exists()
    attempts = [True] if local else [True, False]
    error: Exception | None = None
    for offline in attempts:
        try:
            model = SentenceTransformer(source, device=device, local_files_only=offline)
            break
        except Exception as e:  # library edge: hub, IO and format errors all mean "unavailable"
            error = e
    else:
        where = "folder" if local else "model"
        raise ModelUnavailableError(f"cannot load embedding {where} {source!r} ({error}); {_FIX}") from error
    model.eval()
    return model


def _fast_tokenizer(source: str) -> Any:
    """tokenizers.Tokenizer from the folder's (or hub cache's) tokenizer.json, untruncated."""
    from tokenizers import Tokenizer

    path = Path(source) / "tokenizer.json"
    if not path.is_file() and not Path(source).exists():
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "tokenizer.json")
        path = Path(cached) if isinstance(cached, str) else path
    if not path.is_file():
        return None
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


def _folder_dimension(folder: Path) -> int | None:
    """Read the output size from a local folder without loading weights (mean/CLS pooling, no Dense)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        if any("Dense" in m.get("type", "") for m in modules):
            return None
        pooling = next(m for m in modules if m.get("type", "").endswith("Pooling"))
        cfg = json.loads((folder / pooling["path"] / "config.json").read_text(encoding="utf-8"))
        return int(cfg.get("embedding_dimension") or cfg["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None
