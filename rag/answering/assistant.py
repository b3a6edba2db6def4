"""The question-answering chain: condense follow-up -> retrieve -> analyse -> refuse or answer -> verify.

One path serves the three answer modes (extractive, OpenAI-compatible server, local GGUF) and
both `ask` and `stream`: `_prepare` builds the turn (standalone question, hits, and the
question's analysis, made once and shared by the refusal rule and the answerer), `_decide`
refuses or answers without generation, and only the LLM's generation differs between the two
(streamed token by token, or in one call). Retrieval comes in as a plain callable so this module
does not depend on how the index is built. The refusal rule runs before any LLM call, so an
archive without the answer costs no generation; after generation an answer with no valid
citation is refused too. Each call keeps its state in its own Turn: one Assistant serves many
threads.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answering.citations import verify
from rag.answering.condense import condense_extractive, condense_with_llm
from rag.answering.extractive import extractive_answer, refusal
from rag.answering.llm import get_chat_model, llm_errors
from rag.answering.prompts import answer_messages, is_refusal
from rag.answering.question import QuestionAnalysis, analyze_question
from rag.answering.refusal import should_refuse
from rag.answering.weights import Models
from rag.types import Answer, Filters, Hit

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Search = Callable[[str, Filters, int], list[Hit]]
History = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Turn:
    """One question on its way through the chain."""

    question: str  # as the user asked it
    history: tuple[tuple[str, str], ...]
    filters: Filters
    k: int
    standalone: str  # condensed and repaired: what retrieval and the answerer use
    hits: tuple[Hit, ...]
    analysis: QuestionAnalysis


class Assistant:
    """Answers questions over the archive; `search(query, filters, k)` is the hybrid retriever.

    `embedder` (optional: anything with embed_query(str) and embed_documents(list[str]), such as
    the store's) lets the extractive answerer rerank sentences by cosine, the refusal rule weigh
    that cosine (for the model its weights were fitted for), and serves Latin-script questions
    over Arabic passages. `repair` (optional: str -> str, such as HybridRetriever.repair) fixes
    misspelt words of the standalone question before retrieval and answering; the answer reports
    what was searched. `models` (rag.answering.weights.load(dir)) replaces the packaged weights.
    `reader` (optional: score(query, texts), such as rag.index.reader.BuiltinReader) reorders the
    answerer's best candidate sentences as well.
    """

    def __init__(self, settings, search: Search, llm: BaseChatModel | None = None, embedder=None,
                 repair: Callable[[str], str] | None = None, models: Models | None = None, reader=None):
        self.settings = settings
        self.reader = reader
        self.search = search
        self.embedder = embedder
        self.repair = repair
        self.models = models
        self.llm = llm if llm is not None else get_chat_model(settings)
        self.mode = "llm" if self.llm is not None else "extractive"

    # -- public API ---------------------------------------------------------------------------
    def ask(self, question: str, history: History = (), filters: Filters = Filters(),
            k: int | None = None) -> Answer:
        """One verified answer (or a refusal showing the nearest passages)."""
        turn = self._prepare(question, history, filters, k)
        decided = self._decide(turn)
        if decided is not None:
            return decided
        with llm_errors(self.settings):
            text = self.llm.invoke(answer_messages(turn.standalone, list(turn.hits))).text
        return self._finish(turn, text)

    def stream(self, question: str, history: History = (), filters: Filters = Filters(),
               k: int | None = None) -> Iterator[str | Answer]:
        """Text deltas as they are produced, then the final verified Answer (the same as `ask`'s).

        The final Answer's text is authoritative: verification may renumber or drop markers
        that were already streamed, so a UI should replace the streamed text with it. An answer
        decided without generation (extractive, refusal) is composed whole, so it comes as its
        lines (the short answer, then each quoted sentence with its marker) the moment it is ready:
        no delay is added to look like typing.
        """
        turn = self._prepare(question, history, filters, k)
        decided = self._decide(turn)
        if decided is not None:
            yield from _lines(decided.text)
            yield decided
            return
        parts: list[str] = []
        with llm_errors(self.settings):
            for chunk in self.llm.stream(answer_messages(turn.standalone, list(turn.hits))):
                if chunk.text:
                    parts.append(chunk.text)
                    yield chunk.text
        yield self._finish(turn, "".join(parts))

    # -- steps --------------------------------------------------------------------------------
    def _prepare(self, question: str, history: History, filters: Filters, k: int | None) -> Turn:
        """Condense (and repair) the question, retrieve, and analyse the question over the hits."""
        history = tuple(history)
        k = k or self.settings.k
        if self.llm is None:
            standalone = condense_extractive(question, history)
        else:
            with llm_errors(self.settings):
                standalone = condense_with_llm(question, history, lambda msgs: self.llm.invoke(msgs).text)
        if self.repair is not None:
            standalone = self.repair(standalone)
        hits = tuple(self.search(standalone, filters, k))
        analysis = analyze_question(standalone, hits, self.embedder, self.models, reader=self.reader)
        return Turn(question, history, filters, k, standalone, hits, analysis)

    def _decide(self, turn: Turn) -> Answer | None:
        """The refusal or the extractive answer; None when the LLM is to generate the answer."""
        q, hits = turn.standalone, list(turn.hits)
        if should_refuse(q, hits, self.settings, analysis=turn.analysis):
            return self._own(turn, refusal(q, hits, self.mode))
        if self.llm is None:
            return self._own(turn, extractive_answer(q, hits, self.settings, analysis=turn.analysis))
        return None

    def _finish(self, turn: Turn, text: str) -> Answer:
        """Verify a generated answer; a refusal sentence or no valid citation means refused."""
        q, hits = turn.standalone, list(turn.hits)
        if is_refusal(text):
            return self._own(turn, refusal(q, hits, "llm"))
        verified, cites, flagged = verify(text, hits)
        if not cites:
            return self._own(turn, dataclasses.replace(refusal(q, hits, "llm"), flagged=flagged))
        return self._own(turn, Answer(question=q, text=verified, mode="llm", refused=False,
                                      citations=cites, flagged=flagged))

    @staticmethod
    def _own(turn: Turn, answer: Answer) -> Answer:
        """Report the user's question as asked, and the standalone one retrieval used."""
        return dataclasses.replace(answer, question=turn.question, standalone_question=turn.standalone)


def _lines(text: str) -> Iterator[str]:
    """A composed answer as the units it was composed of: one delta per line (the short answer,
    then each quoted sentence with its marker), newline kept, so the deltas join to `text`."""
    yield from (line for line in text.splitlines(keepends=True) if line)
