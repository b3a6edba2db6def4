"""Topic -> aspects -> retrieval per aspect -> a briefing in which every sentence cites its source.

This module orchestrates and assembles; each job lives beside it: which passages may be used
(rag.briefing.relevance), aspects discovered from them (rag.briefing.aspects), which sentences
are quoted (rag.briefing.select), the timeline (rag.briefing.timeline), and, with an LLM, the
planned sub-questions and cited sentences (rag.briefing.llm_writer).
Without an LLM (the default) the text is extractive: the executive summary takes the most
central sentences across aspects, and each section the most representative remaining sentences,
spread over many articles. Sentences sharing no term with their aspect or the topic are left
out. With an LLM, the LLM plans sub-questions and writes sentences whose [n] markers are checked
by the same rule as chat answers. Sources are numbered per article, 1..N in order of first use:
a handout lists an article once, not once per passage.
The retriever is passed in as `search(query, filters, k)` so this module stays independent of
how retrieval is built.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from rag.briefing.aspects import Aspect, discover_aspects
from rag.briefing.llm_writer import plan_questions, write_cited
from rag.briefing.relevance import Relevance, allowed
from rag.briefing.select import PER_DOC, SUMMARY_MAX, Cand, Selector, candidates, cover, spread
from rag.briefing.timeline import timeline_of
from rag.config import Settings
from rag.text.arabic import is_arabic
from rag.text.dates import find_dates as _find_dates
from rag.text.dates import iso_date
from rag.types import BriefSection, BriefSentence, Briefing, Chunk, Citation, Filters, Hit

Search = Callable[[str, Filters, int], list[Hit]]
Progress = Callable[[float, str], None]

MAX_ASPECTS = 4
PER_SECTION = 4  # sentences a section aims for
LLM_PASSAGES = 6


def build_briefing(topic: str, search: Search, settings: Settings, filters: Filters = Filters(),
                   llm: Any = None, progress: Progress | None = None,
                   find_dates: Callable[[str], Iterable[Any]] = _find_dates) -> Briefing:
    """Build a cited briefing on `topic` from what `search` finds within `filters`.

    `find_dates(text)` may return ISO strings or objects with an `.iso` attribute.
    """
    topic = " ".join(topic.split())
    if not topic:
        raise ValueError("a briefing needs a topic")
    say = progress or (lambda _f, _m: None)
    arabic = is_arabic(topic)
    say(0.05, "retrieving" if not arabic else "استرجاع المقالات")
    hits = allowed(search(topic, filters, max(settings.fetch_k, 20)), filters)
    judge = Relevance(topic, hits)
    pool = judge.keep(hits)
    scores = {h.chunk.id: h.score for h in pool}
    if not pool:
        sections: list[tuple[str, list[Cand]]] = []
        summary: list[Cand] = []
    elif llm is None:
        sections, summary = _extractive(topic, pool, judge, search, settings, filters, say, scores)
    else:
        sections, summary = _with_llm(topic, pool, judge, search, settings, filters, llm, say,
                                      scores)
    say(0.9, "timeline" if not arabic else "الخط الزمني")
    b = _assemble(topic, arabic, filters, sections, summary, find_dates, scores)
    say(1.0, "done" if not arabic else "تم")
    return b


def _extractive(topic, pool, judge, search, settings, filters, say, scores):
    """Sections and summary quoted from the passages: one section per discovered aspect, each
    widened by its own search; the summary is chosen first so sections do not repeat it."""
    arabic = is_arabic(topic)
    aspects = discover_aspects(topic, pool, MAX_ASPECTS)
    owner = {h.chunk.id: i for i, a in enumerate(aspects) for h in a.hits}
    for i, a in enumerate(aspects):
        say(0.15 + 0.55 * i / len(aspects), a.name or topic)
        for h in judge.admit(allowed(search(a.query(topic), filters, settings.k * 2), filters)):
            if h.chunk.id not in owner:
                owner[h.chunk.id] = i  # each passage serves one section only
                a.hits.append(h)
                scores.setdefault(h.chunk.id, h.score)
    topic_terms = judge.terms if judge.lexical else frozenset()
    per_aspect = [candidates(a.hits, judge.rel, topic_terms, a.terms, i)
                  for i, a in enumerate(aspects)]
    docs = {h.chunk.doc_id for a in aspects for h in a.hits}
    sel = Selector([c for cs in per_aspect for c in cs], topic,
                    max(PER_DOC, math.ceil(10 / max(len(docs), 1))))
    summary = sel.summary(per_aspect)
    for cs in per_aspect:
        sel.score(cs)  # back to closeness within the section
    chosen = [sel.pick(cs, PER_SECTION, score=False) for cs in per_aspect]
    cover(sel, per_aspect, chosen, docs - {c.doc for c in summary})
    repeat = 1  # a section left empty may keep the one summary sentence it gave
    for i, ch in enumerate(chosen):
        own = [c for c in summary if c.aspect == i]
        if not ch and own and repeat:
            ch.append(own[0])
            repeat -= 1
    sections = [(_heading(a, i, arabic), sorted(ch, key=_reading_order))
                for i, (a, ch) in enumerate(zip(aspects, chosen)) if ch]
    return sections, summary


def _heading(a: Aspect, i: int, arabic: bool) -> str:
    return a.name or (f"جانب {i + 1}" if arabic else f"Aspect {i + 1}")


def _reading_order(c: Cand) -> tuple:
    return (iso_date(c.chunks[0].date) or "9999", c.doc, c.offset)


def _with_llm(topic, pool, judge, search, settings, filters, llm, say, scores):
    """Sections written by the LLM per planned sub-question, only from verified sentences; a
    sub-question the LLM answers with nothing verifiable falls back to extracted sentences."""
    arabic = is_arabic(topic)
    say(0.1, "planning" if not arabic else "تخطيط الجوانب")
    questions = plan_questions(llm, topic, arabic) or [
        a.query(topic) for a in discover_aspects(topic, pool, MAX_ASPECTS)]
    used: set[str] = set()
    sections: list[tuple[str, list[Cand]]] = []
    for i, q in enumerate(questions):
        say(0.15 + 0.6 * i / len(questions), q)
        hits = [h for h in judge.admit(allowed(search(q, filters, settings.fetch_k // 2 or 10),
                                                filters)) if h.chunk.id not in used]
        passages = spread(hits, LLM_PASSAGES, max(settings.per_doc_cap, 1))
        if not passages:
            continue
        for h in passages:
            scores.setdefault(h.chunk.id, h.score)
        kept, _dropped = write_cited(llm, topic, q, [h.chunk for h in passages], arabic)
        cands = [Cand(t, tuple(passages[j].chunk for j in idx)) for t, idx in kept]
        if not cands:  # the LLM gave nothing verifiable: fall back to extracted sentences
            ex = candidates(passages)
            cands = Selector(ex, topic).pick(ex, PER_SECTION) if ex else []
        if cands:
            used.update(c.id for cand in cands for c in cand.chunks)
            sections.append((q, cands))
    summary: list[Cand] = []
    cited = list({c.id: c for _, cs in sections for cand in cs for c in cand.chunks}.values())
    if cited:
        say(0.8, "summary" if not arabic else "الملخص")
        label = "ملخص تنفيذي" if arabic else "executive summary"
        kept, _ = write_cited(llm, topic, label, cited[:10], arabic, "3-4")
        summary = [Cand(t, tuple(cited[j] for j in idx)) for t, idx in kept]
    if not summary:
        summary = [cs[0] for _, cs in sections][:SUMMARY_MAX]
    return sections, summary


def _assemble(topic, arabic, filters, sections, summary, find_dates, scores) -> Briefing:
    """Number the sources per article in order of first use and build the handout."""
    numbers: dict[str, int] = {}
    first: dict[str, Chunk] = {}
    quotes: dict[str, list[str]] = {}

    by_doc: dict[str, int] = {}  # each cited document's source number (the timeline's key)

    def story(ch: Chunk) -> str:  # wire copies of one story (rag.index.cluster) share a number
        return ch.cluster_id or ch.doc_id

    def cite(c: Cand) -> BriefSentence:
        for ch in c.chunks:
            numbers.setdefault(story(ch), len(numbers) + 1)
            by_doc[ch.doc_id] = numbers[story(ch)]
            first.setdefault(story(ch), ch)
            if c.text not in quotes.setdefault(story(ch), []):
                quotes[story(ch)].append(c.text)
        return BriefSentence(c.text, tuple(dict.fromkeys(numbers[story(ch)] for ch in c.chunks)))

    summary_s = tuple(cite(c) for c in summary)
    sections_s = tuple(BriefSection(h, tuple(cite(c) for c in cs)) for h, cs in sections)
    all_cands = [c for _, cs in sections for c in cs] + list(summary)
    timeline = timeline_of(all_cands, by_doc, find_dates)
    sources = tuple(
        Citation(n=n, chunk_id=first[d].id, doc_id=first[d].doc_id, title=first[d].title, date=first[d].date,
                 author=first[d].author, source=first[d].source, text=first[d].text,
                 score=float(scores.get(first[d].id, 0.0)), quote=" … ".join(quotes[d]),
                 cluster_id=first[d].cluster_id, also_in=first[d].also_in)
        for d, n in sorted(numbers.items(), key=lambda x: x[1]))
    dates = sorted(x for x in (iso_date(s.date) for s in sources) if x)
    return Briefing(
        topic=topic, title=(f"إحاطة: {topic}" if arabic else f"Briefing: {topic}"),
        since=filters.since or (dates[0] if dates else ""),
        until=filters.until or (dates[-1] if dates else ""),
        n_articles=len(sources), source_names=tuple(sorted({s.source for s in sources if s.source})),
        summary=summary_s, sections=sections_s, timeline=timeline, sources=sources,
        language="ar" if arabic else "en")

