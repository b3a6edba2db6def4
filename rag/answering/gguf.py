"""A LangChain chat model over a local GGUF file (llama_cpp), for the `gguf` extra."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult


class GGUFChatModel(BaseChatModel):
    """A LangChain chat model over a llama_cpp.Llama (or anything with create_chat_completion)."""

    llama: Any
    temperature: float = 0.1
    max_tokens: int = 512

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-gguf"

    def _payload(self, messages: list[BaseMessage]) -> list[dict]:
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        return [{"role": roles.get(m.type, "user"), "content": m.text} for m in messages]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        out = self.llama.create_chat_completion(
            messages=self._payload(messages), temperature=self.temperature,
            max_tokens=self.max_tokens, stop=stop,
        )
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for part in self.llama.create_chat_completion(
            messages=self._payload(messages), temperature=self.temperature,
            max_tokens=self.max_tokens, stop=stop, stream=True,
        ):
            delta = part["choices"][0].get("delta", {}).get("content") or ""
            if delta:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk
