"""Chat model factory: none, an OpenAI-compatible server, or a local GGUF file.

The default answer path needs no LLM (no packaged model answers Arabic reliably on a CPU), so
`get_chat_model` returns None unless one is configured. Any OpenAI-compatible server works
(vLLM, Ollama, llama.cpp server, a hosted API); llama-cpp-python is an optional extra.
Provider errors are translated once, here, into LLMError messages that name the fix.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.errors import ConfigError, LLMError, MissingExtraError

if TYPE_CHECKING:  # LangChain loads only when an LLM is configured (~0.5 s of a cold start)
    from langchain_core.language_models import BaseChatModel


def llm_configured(settings) -> bool:
    """Whether answers should come from an LLM under these settings."""
    if settings.answer_mode == "extractive":
        return False
    return bool(settings.llm_base_url or settings.gguf_path)


def get_chat_model(settings) -> BaseChatModel | None:
    """The configured chat model, or None for extractive answers."""
    if settings.answer_mode not in ("auto", "extractive", "llm"):
        raise ConfigError(f"answer_mode must be auto, extractive or llm, not {settings.answer_mode!r}")
    if not llm_configured(settings):
        if settings.answer_mode == "llm":
            raise ConfigError(
                "answer_mode=llm needs an LLM: set RAG_LLM_BASE_URL (an OpenAI-compatible server, "
                "e.g. http://127.0.0.1:8000/v1) and RAG_LLM_MODEL, or RAG_GGUF_PATH"
            )
        return None
    if settings.llm_base_url:
        return _server_model(settings)
    return _gguf_model(settings)


def _server_model(settings) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise MissingExtraError("Answers from an LLM server", "llm") from e
    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key or "not-needed",
        temperature=settings.llm_temperature,
        streaming=True,
        max_retries=1,
        timeout=120,
    )


def _gguf_model(settings) -> BaseChatModel:
    try:
        import llama_cpp
    except ImportError as e:
        raise MissingExtraError("Local GGUF models", "gguf") from e
    try:
        llama = llama_cpp.Llama(model_path=str(settings.gguf_path), n_ctx=4096, verbose=False)
    except (ValueError, OSError) as e:
        raise LLMError(f"cannot load GGUF model {settings.gguf_path}: {e}; check RAG_GGUF_PATH") from e
    from rag.answering.gguf import GGUFChatModel

    return GGUFChatModel(llama=llama, temperature=settings.llm_temperature)


@contextmanager
def llm_errors(settings) -> Iterator[None]:
    """Translate provider errors raised inside the block into LLMError naming the fix."""
    try:
        import openai
    except ImportError:  # no server client installed: nothing of its kind to translate
        yield
        return
    url = settings.llm_base_url or settings.gguf_path
    try:
        yield
    except openai.APITimeoutError as e:
        raise LLMError(f"the LLM server at {url} did not answer in time; check it is not overloaded") from e
    except openai.APIConnectionError as e:
        raise LLMError(
            f"cannot reach the LLM server at {url}: start it (vLLM, Ollama, llama.cpp server) or "
            "fix RAG_LLM_BASE_URL (it usually ends in /v1)"
        ) from e
    except openai.AuthenticationError as e:
        raise LLMError(f"the LLM server at {url} rejected the API key: set RAG_LLM_API_KEY") from e
    except openai.NotFoundError as e:
        raise LLMError(
            f"the LLM server at {url} does not know model {settings.llm_model!r} (or the URL lacks "
            "/v1): set RAG_LLM_MODEL to a model it serves"
        ) from e
    except openai.APIStatusError as e:
        raise LLMError(f"the LLM server at {url} failed with HTTP {e.status_code}: {e.message}") from e
