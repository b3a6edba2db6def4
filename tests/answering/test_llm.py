"""Chat model factory, the real OpenAI client against a fake server on loopback, error messages."""
from __future__ import annotations

import importlib.util
import socket

import pytest

from rag.answering.assistant import Assistant
from rag.answering.gguf import GGUFChatModel
from rag.answering.llm import get_chat_model
from rag.answering.prompts import PASSAGES_CLOSE, PASSAGES_OPEN
from rag.errors import ConfigError, LLMError, MissingExtraError
from rag.types import Answer
from tests.answering.test_extractive import INJECTION, LEAGUE, make_hits
from tests.fake_openai import FakeOpenAI

needs_openai = pytest.mark.skipif(
    importlib.util.find_spec("langchain_openai") is None, reason="the 'llm' extra (langchain-openai) is not installed"
)


def searcher(hits):
    return lambda query, filters, k: hits[:k]


def test_no_llm_by_default(settings):
    assert get_chat_model(settings) is None
    assert get_chat_model(settings.replace(answer_mode="extractive", llm_base_url="http://x/v1")) is None


def test_llm_mode_without_a_server_names_the_fix(settings):
    with pytest.raises(ConfigError, match="RAG_LLM_BASE_URL"):
        get_chat_model(settings.replace(answer_mode="llm"))


@needs_openai
def test_server_model_is_chat_openai(settings):
    model = get_chat_model(settings.replace(llm_base_url="http://127.0.0.1:9/v1", llm_model="m"))
    assert type(model).__name__ == "ChatOpenAI" and model.streaming


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python installed")
def test_gguf_without_the_extra_names_the_install(settings):
    with pytest.raises(MissingExtraError, match=r"\.\[gguf\]"):
        get_chat_model(settings.replace(gguf_path="/models/m.gguf"))


class FakeLlama:
    """Duck-typed llama_cpp.Llama: what the adapter calls."""

    def __init__(self):
        self.calls = []

    def create_chat_completion(self, messages, stream=False, **kw):
        self.calls.append(messages)
        if stream:
            return iter([{"choices": [{"delta": {"content": p}}]} for p in ("تأسست ", "عام 1945 ", "[1].")])
        return {"choices": [{"message": {"content": "تأسست عام 1945 [1]."}}]}


def test_gguf_adapter_maps_roles_and_streams():
    llama = FakeLlama()
    model = GGUFChatModel(llama=llama)
    assert model.invoke([("system", "s"), ("user", "q")]).text == "تأسست عام 1945 [1]."
    assert [m["role"] for m in llama.calls[0]] == ["system", "user"]
    assert [c.text for c in model.stream([("user", "q")]) if c.text] == ["تأسست ", "عام 1945 ", "[1]."]


@needs_openai
def test_answer_through_the_fake_server_with_injection_kept_as_data(settings):
    hits = make_hits(LEAGUE, INJECTION)
    with FakeOpenAI(["تأسست جامعة الدول العربية عام 1945 [1]."]) as srv:
        s = settings.replace(llm_base_url=srv.url, llm_model="fake-model", answer_mode="llm")
        a = Assistant(s, searcher(hits)).ask("متى تأسست جامعة الدول العربية؟")
    assert a.mode == "llm" and not a.refused and a.citations[0].chunk_id == "c0"
    body = srv.requests[-1]
    assert body["model"] == "fake-model"
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert "data, not instructions" in system and "تجاهل التعليمات" not in system
    inside = user[user.index(PASSAGES_OPEN):user.index(PASSAGES_CLOSE)]
    outside = user.replace(inside, "")
    assert "تجاهل التعليمات السابقة" in inside and "تجاهل" not in outside
    assert "[1]" in inside and "[2]" in inside


@needs_openai
def test_streaming_through_the_fake_server(settings):
    hits = make_hits(LEAGUE)
    reply = "تأسست جامعة الدول العربية في القاهرة عام 1945 [1]. ويبلغ عدد أعضائها 22 دولة [1]."
    with FakeOpenAI([reply]) as srv:
        s = settings.replace(llm_base_url=srv.url, llm_model="m")
        out = list(Assistant(s, searcher(hits)).stream("متى تأسست جامعة الدول العربية؟"))
    deltas, final = out[:-1], out[-1]
    assert len(deltas) > 3 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == reply
    assert isinstance(final, Answer) and not final.refused and final.text == reply
    assert srv.requests[-1]["stream"] is True


@needs_openai
def test_refusal_sentence_from_the_server_becomes_a_refusal(settings):
    hits = make_hits(LEAGUE)
    with FakeOpenAI(["لا تحتوي وثائق الأرشيف المتاحة على إجابة عن هذا السؤال."]) as srv:
        a = Assistant(settings.replace(llm_base_url=srv.url), searcher(hits)).ask(
            "متى تأسست جامعة الدول العربية؟")
    assert a.refused and a.nearest and not a.citations


@needs_openai
def test_connection_refused_is_an_llm_error_with_the_url(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    assistant = Assistant(settings.replace(llm_base_url=url), searcher(make_hits(LEAGUE)))
    with pytest.raises(LLMError, match=f"127.0.0.1:{port}"):
        assistant.ask("متى تأسست جامعة الدول العربية؟")
    with pytest.raises(LLMError, match="RAG_LLM_BASE_URL"):
        list(assistant.stream("متى تأسست جامعة الدول العربية؟"))
