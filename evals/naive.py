"""The naive LangChain pipeline as a retrieval baseline for the eval tables: what a team gets
from a tutorial with the same model. RecursiveCharacterTextSplitter(1000, 100) over the raw
texts, e5-small without its "query: " / "passage: " prompts (HuggingFaceEmbeddings' default),
langchain_chroma's similarity search; no Arabic analysis, no lexical side, no fusion.

The model runs through our adapter (ONNX Runtime: the same vectors as torch within 1e-4), so
the comparison is of pipelines, not of backends. Vectors are cached by text under
DATA_DIR/naive-index/, so the 5,000 distractor articles are embedded once for every set.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.gold import load_contexts, load_questions, split_of
from evals.metrics import QuestionResult, aggregate
from rag.config import Settings

CHUNK_SIZE, CHUNK_OVERLAP = 1000, 100


class _CachedEmbeddings:
    """LangChain Embeddings over our prompt-less embedder, remembering document vectors by text."""

    def __init__(self, embedder, cache: Path):
        self.embedder, self.cache = embedder, cache
        self._vectors: dict[str, np.ndarray] = {}
        if cache.is_file():
            data = np.load(cache)
            self._vectors = dict(zip(data["keys"].tolist(), data["vectors"]))
        self._dirty = False

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if self._key(t) not in self._vectors))
        if missing:
            for t, v in zip(missing, self.embedder.embed_documents(missing)):
                self._vectors[self._key(t)] = v.astype(np.float32)
            self._dirty = True
        return [self._vectors[self._key(t)].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()

    def save(self) -> None:
        if self._dirty:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self._vectors)
            np.savez(self.cache, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
            self._dirty = False


def _documents(contexts: Path, distractors: Sequence[Path]):
    from langchain_core.documents import Document

    docs = [Document(page_content=c.text, metadata={"doc_id": c.context_id}) for c in load_contexts(contexts)]
    for folder in distractors:
        for p in sorted(Path(folder).rglob("*.txt")):
            # a folder article's gold id is its file name after the ordinal ("00001_BB-..." -> "BB-..."), as in rag eval
            docs.append(Document(page_content=p.read_text(encoding="utf-8"), metadata={"doc_id": p.stem.split("_", 1)[-1]}))
    return docs


def prompt_less_embedder(settings: Settings):
    """e5 without its "query: " / "passage: " prompts, as HuggingFaceEmbeddings loads it."""
    from rag.index.embeddings import get_embedder

    return get_embedder(settings.replace(query_prompt="", document_prompt=""))


def naive_run(settings: Settings, questions: Path, contexts: Path, distractors: Sequence[Path] = (),
              *, k: int = 10, split: str | None = None, limit: int | None = None, embedder=None) -> dict:
    """The retrieval summary (evals.metrics.aggregate) of the naive pipeline on a gold set;
    `embedder` replaces the prompt-less default model (tests)."""
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embedder = embedder or prompt_less_embedder(settings)
    cache = Path(settings.data_dir) / "naive-index" / f"{embedder.model_id.replace('/', '_')}.npz"
    embeddings = _CachedEmbeddings(embedder, cache)
    chunks = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_documents(
        _documents(contexts, distractors))
    store = Chroma(collection_name=f"naive-{hashlib.sha1(str(contexts).encode()).hexdigest()[:8]}",
                   embedding_function=embeddings)  # in memory: only the vectors are worth keeping
    for start in range(0, len(chunks), 2000):
        store.add_documents(chunks[start:start + 2000])
    embeddings.save()
    asked = [q for q in load_questions(questions) if split is None or split_of(q.id) == split][:limit]
    results = []
    for q in asked:
        hits = store.similarity_search(q.question, k=k)
        results.append(QuestionResult(id=q.id, question=q.question, answers=q.answers, context_id=q.context_id,
                                      expects_refusal=q.expects_refusal,
                                      retrieved_doc_ids=tuple(h.metadata["doc_id"] for h in hits)))
    store.delete_collection()
    return aggregate(results)
