"""Chain logic with a scripted chat model: refusal before generation, verification, follow-ups."""
from __future__ import annotations

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from rag.answering.assistant import Assistant
from rag.answering.condense import condense_extractive, is_follow_up
from rag.types import Answer, Filters, Hit
from tests.answering.test_extractive import ISIS, LEAGUE, POET, make_hits

QUESTION = "متى تأسست جامعة الدول العربية؟"


class Recorder:
    """A search callable that records its queries and returns fixed hits."""

    def __init__(self, hits: list[Hit]):
        self.hits, self.queries = hits, []

    def __call__(self, query: str, filters: Filters, k: int) -> list[Hit]:
        self.queries.append((query, filters, k))
        return self.hits[:k]


def scripted(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


def test_extractive_ask_answers_with_citations(settings):
    search = Recorder(make_hits(LEAGUE, POET))
    a = Assistant(settings, search).ask(QUESTION, filters=Filters(since="2000-01-01"), k=2)
    assert a.mode == "extractive" and not a.refused and "1945" in a.text
    assert a.question == QUESTION and a.standalone_question == QUESTION
    assert search.queries == [(QUESTION, Filters(since="2000-01-01"), 2)]


def test_extractive_stream_yields_its_lines_then_the_answer(settings):
    """As composed: the short answer, then each quoted sentence with its marker; not words."""
    out = list(Assistant(settings, Recorder(make_hits(LEAGUE))).stream(QUESTION))
    final, pieces = out[-1], out[:-1]
    assert isinstance(final, Answer) and not final.refused
    assert "".join(pieces) == final.text and pieces == final.text.splitlines(keepends=True)
    assert len(pieces) >= 2 and pieces[0].startswith("الجواب:") and "1945" in pieces[0]
    assert all("[1]" in p for p in pieces)


def test_llm_answer_is_verified_and_renumbered(settings):
    llm = scripted("تأسست جامعة الدول العربية عام 1945 [2]. وهي في القاهرة [7].")
    a = Assistant(settings, Recorder(make_hits(POET, LEAGUE)), llm=llm).ask(QUESTION)
    assert a.mode == "llm" and not a.refused
    assert a.text == "تأسست جامعة الدول العربية عام 1945 [1]."
    assert a.citations[0].chunk_id == "c1" and a.flagged == ("وهي في القاهرة.",)


def test_llm_answer_without_valid_citation_is_refused(settings):
    llm = scripted("تأسست الجامعة عام 1945 [5].")
    a = Assistant(settings, Recorder(make_hits(LEAGUE)), llm=llm).ask(QUESTION)
    assert a.refused and a.mode == "llm" and a.nearest and a.flagged


def test_nothing_relevant_is_refused_before_calling_the_llm(settings):
    hits = [Hit(h.chunk, h.score, 0.84, i, None) for i, h in enumerate(make_hits(POET, ISIS))]
    llm = scripted()  # any call would raise StopIteration
    a = Assistant(settings, Recorder(hits), llm=llm).ask("ما هي عاصمة أستراليا وكم يبلغ عدد سكانها؟")
    assert a.refused and [h.chunk.id for h in a.nearest] == ["c0", "c1"]


def test_follow_up_carries_the_previous_subject_in_extractive_mode(settings):
    history = [("user", "ما هي أيديولوجية داعش؟"), ("assistant", "جماعة مسلحة [1].")]
    search = Recorder(make_hits(ISIS))
    a = Assistant(settings, search).ask("وماذا عن مصادر تمويلهم؟", history=history)
    query = search.queries[0][0]
    assert "داعش" in query and "تمويلهم" in query and "ماذا" not in query
    assert a.standalone_question == query and not a.refused
    assert "النفط" in a.text


def test_condense_leaves_standalone_questions_alone():
    history = [("user", "ما هي أيديولوجية داعش؟")]
    assert condense_extractive(QUESTION, history) == QUESTION
    assert condense_extractive("وماذا عن مصادر تمويلهم؟", []) == "وماذا عن مصادر تمويلهم؟"
    assert is_follow_up("ومن قادتهم؟") and not is_follow_up(QUESTION)


def test_follow_up_is_rewritten_by_the_llm_in_llm_mode(settings):
    llm = scripted("ما هي مصادر تمويل داعش؟", "يعتمد داعش على بيع النفط المهرب [1].")
    search = Recorder(make_hits(ISIS))
    a = Assistant(settings, search, llm=llm).ask(
        "وماذا عن مصادر تمويلهم؟", history=[("user", "ما هي أيديولوجية داعش؟")])
    assert search.queries[0][0] == "ما هي مصادر تمويل داعش؟"
    assert a.standalone_question == "ما هي مصادر تمويل داعش؟" and a.citations


def test_embedder_reaches_the_extractive_answerer_for_english_questions(settings):
    from tests.answering.test_extractive import ConceptEmbedder

    emb = ConceptEmbedder()
    hits = make_hits(LEAGUE, POET)
    a = Assistant(settings, Recorder(hits), embedder=emb).ask("How many member states does the Arab League have?")
    assert not a.refused and emb.calls == 2 and "22 دولة" in a.text
    Assistant(settings, Recorder(hits), embedder=emb).ask(QUESTION)
    assert emb.calls == 4  # Arabic: one query + one batch of head sentences, for the refusal rule and the rerank
