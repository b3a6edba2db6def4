"""Embedding adapter: the one module that imports sentence_transformers, torch and onnxruntime.

Queries and documents are embedded with different prompts (e5: "query: " / "passage: ").
The model loads on the first embed, so building a pipeline or counting tokens stays cheap;
token counting uses the `tokenizers` library on tokenizer.json and never needs torch.

Backends (Settings.embedding_backend): "torch" runs the sentence-transformers folder;
"onnx" / "onnx-int8" run the ONNX files that model preparation writes next to it (fused fp32,
or int8 dynamic-quantized MatMuls) with onnxruntime on CPU: same tokenizer, mean pooling and
normalization, no torch at run time. "auto", for the default model on a CPU-only machine, runs
the backend the index was built with, and fp32 ONNX for a new index (int8 embeds twice as fast
but answered worse on ARCD; the README has both); torch otherwise (any other model, or a GPU).
int8 vectors differ slightly from fp32 ones (cosine ~0.996), so that backend gets its own
model_id in the index manifest: one index never mixes them, and queries must be embedded by the
backend that embedded the documents.
Settings.embedding_url instead sends the texts to an OpenAI-compatible embedding server
(rag.index.embedding_server); get_embedder is the one factory that picks.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import DEFAULT_MODEL, Settings
from rag.errors import ConfigError, ModelUnavailableError
from rag.index.manifest import recorded
from rag.index.model_prep import ONNX_FILES, resolve_model
from rag.index.recent import QUERY_MEMORY, SENTENCE_MEMORY, RecentVectors

_FIX = ("prepare the default model with `rag prepare-model`, or set RAG_EMBEDDING_MODEL "
        "to a local sentence-transformers folder")


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model; vectors are float32 and L2-normalized."""

    def __init__(self, settings: Settings):
        self._recorded = recorded(settings.index_dir).get("embedding_model", "")
        self.backend = resolve_backend(settings, self._recorded)
        # Stable name for the index manifest, not a path we resolved. fp32 ONNX gives torch's
        # vectors (cosine > 0.9999), so only int8 is told apart.
        self.model_id = settings.embedding_model + (INT8_SUFFIX if self.backend == "onnx-int8" else "")
        self.query_prompt = settings.query_prompt
        self.document_prompt = settings.document_prompt
        self._settings = settings
        self._source: str | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._dimension: int | None = None
        self._queries = RecentVectors(QUERY_MEMORY)
        self._sentences = RecentVectors(SENTENCE_MEMORY)

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
            if self.backend == "torch":
                self._model = _load(self.source, _pick_device(self._settings.device))
            else:
                self._tokenizer = self._tokenizer or _fast_tokenizer(self.source)  # the prepared folder's
                self._model = OnnxEncoder(Path(self.source), ONNX_FILES[self.backend], self._tokenizer)
        return self._model

    @property
    def mismatch_hint(self) -> str:
        """The fix the Store names when the index holds this model's other vectors (int8 / fp32)."""
        if self._recorded and self._recorded != self.model_id and cosine_scale(self._recorded) == cosine_scale(self.model_id):
            return ("unset RAG_EMBEDDING_BACKEND (or set it to auto): auto embeds the way this index was built "
                    f"({'onnx-int8' if self._recorded.endswith(INT8_SUFFIX) else 'onnx'})")
        return ""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend != "torch":
            return self.model.encode(list(texts), self.document_prompt, self._settings.embed_batch_size)
        vecs = self.model.encode_document(list(texts), prompt=self.document_prompt, **self._encode_kwargs())
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Remembers recent queries: retrieval and the answerer's rerank embed the same question,
        and other users' questions come in between."""
        return self._queries.one(text, self._embed_query)

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """embed_documents for the answerer's sentences, remembering recent ones: the same passages
        come back for a follow-up or another question about the same article. Ingest calls
        embed_documents, which keeps nothing."""
        return self._sentences.many(texts, self.embed_documents)

    def _embed_query(self, text: str) -> np.ndarray:
        if self.backend != "torch":
            return self.model.encode([text], self.query_prompt, 1)[0]
        return np.asarray(self.model.encode_query([text], prompt=self.query_prompt, **self._encode_kwargs())[0],
                          dtype=np.float32)

    @property
    def tokenizer(self) -> Any:
        """The model's untruncated tokenizer (tokenizer.json, else the loaded model's), loaded
        once: the ONNX encoder shares it (a second load of the 17 MB file took 0.8 s)."""
        if self._tokenizer is None:
            self._tokenizer = _fast_tokenizer(self.source) or _ModelTokenizer(self)
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        """Model tokens in text, without special tokens or prompt (the chunker's unit)."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def is_whole_word(self, word: str) -> bool:
        """Whether the model's vocabulary holds `word` as one piece ("▁العالم"): a piece that long
        is a word frequent in the model's training text, so a real word, not a typing slip."""
        lookup = getattr(self.tokenizer, "token_to_id", None)
        return lookup is not None and lookup("\u2581" + word) is not None

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

    def encode(self, text: str, add_special_tokens: bool = False) -> _ModelTokenizer._Ids:
        tok = self._embedder.model.tokenizer
        return self._Ids(tok(text, add_special_tokens=add_special_tokens, truncation=False)["input_ids"])


BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
INT8_SUFFIX = "+onnx-int8"  # the manifest's model name for int8 vectors


def resolve_backend(settings: Settings, recorded_model: str | None = None) -> str:
    """The backend to run. auto, for the default model: int8 when `recorded_model` (what the
    index records) is int8 vectors, so an index built with RAG_EMBEDDING_BACKEND=onnx-int8 opens
    without the setting; else fp32 ONNX on CPU (torch's vectors, 1.36x its speed) and torch on a
    GPU or for any other model. Explicit values are honoured; the ONNX files exist only for the
    default model."""
    backend = settings.embedding_backend.strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"setting 'embedding_backend': {settings.embedding_backend!r} is not one of {BACKENDS}")
    if backend == "auto":
        if settings.embedding_model == DEFAULT_MODEL and recorded_model == DEFAULT_MODEL + INT8_SUFFIX:
            return "onnx-int8"  # on a GPU machine too: only this backend embeds queries like its documents
        if settings.embedding_model != DEFAULT_MODEL or not _cpu_only(settings.device):
            return "torch"
        return "onnx"
    if backend != "torch" and settings.embedding_model != DEFAULT_MODEL:
        raise ConfigError(f"embedding_backend={backend!r} is prepared for the default model ({DEFAULT_MODEL}) only; "
                          "use embedding_backend=torch (or auto) for other models")
    return backend


def cosine_scale(model_id: str) -> str:
    """The model whose cosine scale `model_id`'s vectors share: int8 vectors keep fp32's
    (cosine ~0.995 to them), so thresholds fitted on one serve the other."""
    return model_id[:-len(INT8_SUFFIX)] if model_id.endswith(INT8_SUFFIX) else model_id


def _cpu_only(device: str) -> bool:
    """True when torch would run on CPU. Cheap when there is no GPU device node (no torch import)."""
    if device != "auto":
        return device == "cpu"
    if sys.platform.startswith("linux") and not any(Path("/dev").glob("nvidia*")) and not Path("/dev/kfd").exists():
        return True
    return _pick_device("auto") == "cpu"


class OnnxEncoder:
    """onnxruntime session over the prepared ONNX file, with the folder's tokenizer, mean pooling
    and L2 normalization: what the sentence-transformers folder computes, without torch."""

    def __init__(self, folder: Path, file_name: str, tokenizer: Any = None):
        try:
            import onnxruntime  # noqa: F401  (a clear message before any work)
        except ImportError as e:
            raise ModelUnavailableError("the onnx embedding backends need onnxruntime: pip install onnxruntime==1.32.0 "
                                        "(or set RAG_EMBEDDING_BACKEND=torch)") from e
        path = folder / file_name
        if not path.is_file():
            raise ModelUnavailableError(f"{path} is missing; {_FIX}")
        self.session = cpu_session(path, _FIX)
        # Dynamic int8 quantizes activations with one scale per run, so in a batch a text's
        # vector would move with its batchmates (cosine 0.997) and an answer with what the
        # recent-vector memory held; one text per run keeps a vector a function of its text,
        # and on 2 idle cores ran faster than batches of 32 (34-36 passages/s against 26-28).
        self.per_text = file_name == ONNX_FILES["onnx-int8"]
        self.inputs = {i.name for i in self.session.get_inputs()}
        # Untruncated (the embedder's, which also counts tokens and looks words up); encode truncates.
        self.tokenizer = tokenizer or _fast_tokenizer(str(folder))
        if self.tokenizer is None:
            raise ModelUnavailableError(f"{folder / 'tokenizer.json'} is missing; {_FIX}")
        self.max_length = _max_seq_length(folder)
        self.pad_id = self.tokenizer.token_to_id("<pad>") or 0

    def encode(self, texts: Sequence[str], prompt: str = "", batch_size: int = 32) -> np.ndarray:
        m = self.max_length  # what the tokenizer's own truncation keeps: the first m - 1 ids and </s>
        ids = [x if len(x) <= m else x[:m - 1] + x[-1:]
               for x in (e.ids for e in self.tokenizer.encode_batch([prompt + t for t in texts]))]
        out = np.zeros((len(ids), 0), dtype=np.float32)
        for rows in length_batches([len(x) for x in ids], 1 if self.per_text else batch_size):
            vecs = self._run([ids[i] for i in rows])
            if out.shape[1] == 0:
                out = np.zeros((len(ids), vecs.shape[1]), dtype=np.float32)
            out[rows] = vecs
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in batch)
        input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, x in enumerate(batch):
            input_ids[i, :len(x)] = x
            mask[i, :len(x)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self.session.run(None, feed)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def length_batches(lengths: Sequence[int], batch_size: int, min_share: float = 0.8) -> list[list[int]]:
    """Indices in batches of similar length, longest first: a batch ends at batch_size or when the
    next text is shorter than min_share of the batch's longest. Every text of a batch is padded to
    its longest, and on CPU padding costs as much as text: the answerer's six head sentences
    (20 to 100 tokens) padded in one batch ran 1.6x the tokens they hold."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    for i in order:
        if out and len(out[-1]) < batch_size and lengths[i] >= min_share * lengths[out[-1][0]]:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def cpu_session(path: Path, fix: str, what: str = ""):
    """An ONNX Runtime CPU session over `path`, every core we may use (ORT's default counts
    physical cores); a file it cannot load is a ModelUnavailableError naming `fix`."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = _cpus()
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # library edge: corrupt or foreign file
        raise ModelUnavailableError(f"cannot load {what}{path} ({e}); {fix}") from e


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1  # honours taskset/cgroup cpusets
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _max_seq_length(folder: Path) -> int:
    try:
        return int(json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 512


def get_embedder(settings: Settings):
    """The embedder the settings ask for: an embedding server when embedding_url is set, else
    the model in-process (SentenceTransformerEmbedder)."""
    if settings.embedding_url.strip():
        from rag.index.embedding_server import ServerEmbedder

        return ServerEmbedder(settings)
    return SentenceTransformerEmbedder(settings)


def langchain_embeddings(embedder: Any):
    """Our embedder (prompts included) as a LangChain Embeddings (rag.index.langchain_adapter).
    LangChain is imported only here: the extractive path never needs it, and it cost ~0.5 s of
    every cold start."""
    from rag.index.langchain_adapter import LangChainEmbeddings

    return LangChainEmbeddings(embedder)


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def _load(source: str, device: str, kind: str = "SentenceTransformer") -> Any:
    """Local folders load with local_files_only (no hub contact); names try the cache first,
    then the hub, for users who have one."""
    import sentence_transformers

    cls = getattr(sentence_transformers, kind)
    local = Path(source).exists()
    attempts = [True] if local else [True, False]
    error: Exception | None = None
    for offline in attempts:
        try:
            model = cls(source, device=device, local_files_only=offline)
            break
        except Exception as e:  # library edge: hub, IO and format errors all mean "unavailable"
            error = e
    else:
        where = "folder" if local else "model"
        what = "embedding" if kind == "SentenceTransformer" else "reranker"
        fix = _FIX if kind == "SentenceTransformer" else (
            "set RAG_RERANKER_MODEL to a local cross-encoder folder, or unset it to rank without a reranker")
        raise ModelUnavailableError(f"cannot load {what} {where} {source!r} ({error}); {fix}") from error
    if hasattr(model, "eval"):
        model.eval()
    return model


class CrossEncoderReranker:
    """Optional reranker (settings.reranker_model): a sentence-transformers CrossEncoder, e.g. a
    multilingual one the user has locally. None ships offline, so nothing depends on it."""

    def __init__(self, settings: Settings):
        self.name = settings.reranker_model
        self._model = _load(self.name, _pick_device(settings.device), kind="CrossEncoder")

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return [float(x) for x in self._model.predict([(query, t) for t in texts])]


def load_reranker(settings: Settings) -> CrossEncoderReranker:
    return CrossEncoderReranker(settings)


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
