"""The question-answering chain: condense follow-up -> retrieve -> answer -> verify citations.

One LangChain runnable serves the three answer modes (extractive, OpenAI-compatible server,
local GGUF). Retrieval comes in as a plain callable so this module does not depend on how the
index is built. The refusal rule runs before any LLM call, so an archive without the answer
costs no generation; after generation an answer with no valid citation is refused too.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable, Iterator, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableLambda

from rag.answering.extractive import extractive_answer, refusal, should_refuse
from rag.answering.citations import verify
from rag.answering.condense import condense_extractive, condense_with_llm
from rag.answering.llm import get_chat_model, llm_errors
from rag.answering.prompts import answer_messages, is_refusal
from rag.types import Answer, Filters, Hit

Search = Callable[[str, Filters, int], list[Hit]]
History = Sequence[tuple[str, str]]


class Assistant:
    """Answers questions over the archive; `search(query, filters, k)` is the hybrid retriever.

    `embedder` (optional: anything with embed_query(str) and embed_documents(list[str]), such as
    the store's) lets the extractive answerer pick sentences for a Latin-script question over
    Arabic passages by cosine; Arabic questions stay on the lexical path and never use it.
    `repair` (optional: str -> str, such as HybridRetriever.repair) fixes misspelt words of the
    standalone question before retrieval and answering; the answer reports what was searched.
    """

    def __init__(self, settings, search: Search, llm: BaseChatModel | None = None, embedder=None,
                 repair: Callable[[str], str] | None = None):
        self.settings = settings
        self.search = search
        self.embedder = embedder
        self.repair = repair
        self.llm = llm if llm is not None else get_chat_model(settings)
        self.mode = "llm" if self.llm is not None else "extractive"
        self.prepare = RunnableLambda(self._condense) | RunnableLambda(self._retrieve)
        self.chain = self.prepare | RunnableLambda(self._answer)

    # -- public API ---------------------------------------------------------------------------
    def ask(self, question: str, history: History = (), filters: Filters = Filters(),
            k: int | None = None) -> Answer:
        """One verified answer (or a refusal showing the nearest passages)."""
        return self.chain.invoke(self._input(question, history, filters, k))

    def stream(self, question: str, history: History = (), filters: Filters = Filters(),
               k: int | None = None) -> Iterator[str | Answer]:
        """Text deltas as they are produced, then the final verified Answer.

        The final Answer's text is authoritative: verification may renumber or drop markers
        that were already streamed, so a UI should replace the streamed text with it.
        """
        state = self.prepare.invoke(self._input(question, history, filters, k))
        if self.llm is None or should_refuse(state["standalone"], state["hits"], self.settings, self.embedder):
            answer = self._answer(state)
            yield from _pieces(answer.text)
            yield answer
            return
        parts: list[str] = []
        with llm_errors(self.settings):
            for chunk in self.llm.stream(answer_messages(state["standalone"], state["hits"])):
                if chunk.text:
                    parts.append(chunk.text)
                    yield chunk.text
        yield self._finish(state, "".join(parts))

    # -- steps --------------------------------------------------------------------------------
    def _input(self, question, history, filters, k) -> dict:
        return {"question": question, "history": tuple(history), "filters": filters,
                "k": k or self.settings.k}

    def _condense(self, state: dict) -> dict:
        q, history = state["question"], state["history"]
        if self.llm is None:
            standalone = condense_extractive(q, history)
        else:
            with llm_errors(self.settings):
                standalone = condense_with_llm(q, history, lambda msgs: self.llm.invoke(msgs).text)
        if self.repair is not None:
            standalone = self.repair(standalone)
        return {**state, "standalone": standalone}

    def _retrieve(self, state: dict) -> dict:
        return {**state, "hits": list(self.search(state["standalone"], state["filters"], state["k"]))}

    def _answer(self, state: dict) -> Answer:
        q, hits = state["standalone"], state["hits"]
        if should_refuse(q, hits, self.settings, self.embedder):
            return self._own(state, refusal(q, hits, self.mode))
        if self.llm is None:
            return self._own(state, extractive_answer(q, hits, self.settings, self.embedder))
        with llm_errors(self.settings):
            text = self.llm.invoke(answer_messages(q, hits)).text
        return self._finish(state, text)

    def _finish(self, state: dict, text: str) -> Answer:
        """Verify a generated answer; a refusal sentence or no valid citation means refused."""
        q, hits = state["standalone"], state["hits"]
        if is_refusal(text):
            return self._own(state, refusal(q, hits, "llm"))
        verified, cites, flagged = verify(text, hits)
        if not cites:
            return self._own(state, dataclasses.replace(refusal(q, hits, "llm"), flagged=flagged))
        return self._own(state, Answer(question=q, text=verified, mode="llm", refused=False,
                                       citations=cites, flagged=flagged))

    @staticmethod
    def _own(state: dict, answer: Answer) -> Answer:
        """Report the user's question as asked, and the standalone one retrieval used."""
        return dataclasses.replace(answer, question=state["question"], standalone_question=state["standalone"])


def _pieces(text: str, size: int = 4) -> Iterator[str]:
    """A ready answer as a few deltas of about `size` words, so every mode streams alike."""
    words = re.findall(r"\S+\s*", text)
    for i in range(0, len(words), size):
        yield "".join(words[i:i + size])
