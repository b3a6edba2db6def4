"""The composition root: the one place that wires Store, HybridRetriever and Assistant.

The CLI, the app, the evals and the benches ask for objects here instead of building them, so a
new stage (a reranker, a calibration) is wired once. Construction reads only Settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.config import Settings
from rag.errors import NoIndexError


@dataclass(frozen=True)
class Archive:
    """An opened index and the retriever over it."""

    settings: Settings
    store: Any  # rag.index.store.Store
    retriever: Any  # rag.retrieval.hybrid.HybridRetriever

    @property
    def embedder(self):
        return self.store.embedder


def open_index(settings: Settings, *, writing: bool = False, embedder=None, rebuild: bool = False,
               require: bool = False):
    """The Store for settings.index_dir, its manifest checked against how settings would build it.

    writing=True records the manifest of a new index; reading an index built differently (another
    model, prompts, analyzer) raises IndexMismatchError naming the fix. require=True refuses an
    empty data dir with the command that fills it.
    """
    from rag.index.store import Store

    if embedder is None:
        from rag.index.embeddings import get_embedder

        embedder = get_embedder(settings)
    store = Store(settings, embedder, rebuild=rebuild)
    if not store.manifest():
        if require:
            raise NoIndexError(f"no index in {settings.index_dir} yet: run `rag ingest PATH...` first "
                               "(or `rag demo` for the demo archive)")
        if not writing:
            return store
    store.check_manifest(store.expected_manifest(), writing=writing)
    return store


def open_archive(settings: Settings, *, embedder=None, store=None, require: bool = True) -> Archive:
    """The index (opened for reading unless `store` is given) and its hybrid retriever."""
    from rag.retrieval.hybrid import HybridRetriever

    store = store if store is not None else open_index(settings, embedder=embedder, require=require)
    return Archive(store.settings, store, HybridRetriever(store.settings, store))


def make_assistant(settings: Settings, archive: Archive | None = None, *, llm: Any = None,
                   retrieval: str = "hybrid"):
    """The chat Assistant over `archive` (opened from settings when None).

    llm: a chat model; None takes the one the settings configure (none: extractive answers).
    retrieval: "hybrid" (the product), or "dense" / "lexical" for evals.
    """
    from rag.answering.assistant import Assistant

    archive = archive if archive is not None else open_archive(settings)
    retriever = archive.retriever
    if retrieval == "hybrid":
        search = retriever.search
    else:
        def search(q, f, k):
            return retriever.search(q, f, k, mode=retrieval)
    reader = retriever.reader if retrieval == "hybrid" else None
    return Assistant(settings, search, llm=llm, embedder=archive.embedder, repair=retriever.repair, reader=reader)
