"""Topic -> aspects -> retrieval per aspect -> a briefing in which every sentence cites its source.

This module orchestrates and assembles; each job lives beside it: which passages may be used
(rag.briefing.relevance), aspects discovered from them (rag.briefing.aspects), which sentences
are quoted (rag.briefing.select), the timeline (rag.briefing.timeline), and, with an LLM, the
planned sub-questions and cited sentences (rag.briefing.llm_writer).
Relevance comes first: every sentence of the retrieved passages is scored against the topic and
against each aspect (e5 cosine plus lexical coverage, thresholds fitted on the briefing dev set
and loaded from rag/briefing/thresholds.json); only on-topic sentences are used, each goes to the
aspect it fits best or to none, and an aspect with too little support is dropped (listed as an
open question when it was asked for). Without an LLM (the default) the text is extractive: the
executive summary takes central on-topic sentences from different sources, and each section the
most representative of its own. With an LLM, the LLM plans the aspects and rewrites each
section from the same selected sentences, its [n] markers checked by the same rule as chat. Sources are numbered per article, 1..N in order of first use:
a handout lists an article once, not once per passage.
The retriever is passed in as `search(query, filters, k)` so this module stays independent of
how retrieval is built.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.briefing.aspects import Aspect, discover_aspects
from rag.briefing.figures import figures_of
from rag.briefing.llm_writer import plan_questions, write_cited
from rag.briefing.placement import choose_names
from rag.briefing.relevance import Relevance, SentenceJudge, Thresholds, allowed
from rag.briefing.select import PER_DOC, Cand, Selector, candidates, clean_text, cover
from rag.briefing.timeline import timeline_of
from rag.config import Settings
from rag.text.arabic import analyze, is_arabic
from rag.text.dates import find_dates as _find_dates
from rag.text.dates import iso_date
from rag.types import Briefing, BriefSection, BriefSentence, Chunk, Citation, Filters, Hit

Search = Callable[[str, Filters, int], list[Hit]]
Progress = Callable[[float, str], None]

MAX_ASPECTS = 4
PER_SECTION = 4  # sentences a section aims for
THIN_PER_SECTION = 2  # ... when the archive barely covers the topic
THIN_SUMMARY = 2
LLM_SUMMARY_INPUT = 10
# The last section: on-topic sentences that fit none of the headings (rather than forcing them
# under one they are not about), and where an article no heading fits is still cited.
OTHER_HEADING = {"ar": "ومما ورد أيضًا", "en": "Also reported"}
OTHER_MAX = 2  # sentences it takes besides one for each article no heading cites


@dataclass
class Plan:
    """What the relevance and selection stages decided, before numbering."""

    sections: list[tuple[str, list[Cand]]] = field(default_factory=list)
    other: list[Cand] = field(default_factory=list)  # on topic, under no heading (OTHER_HEADING)
    summary: list[Cand] = field(default_factory=list)
    on_topic: list[Cand] = field(default_factory=list)  # every on-topic sentence, best first
    open_questions: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    thin: bool = False
    n_on_topic_docs: int = 0
    headings: list[str] = field(default_factory=list)  # every aspect judged against, as named
    considered: int = 0  # documents the topic's search returned within the filters
    scores: dict[str, float] = field(default_factory=dict)  # chunk id -> retrieval score


def embedder_of(search: Any) -> Any:
    """The embedder behind a retriever's bound `search` (HybridRetriever.store.embedder), so the
    CLI and the app, which pass `retriever.search`, get the e5 judgement without more wiring."""
    owner = getattr(search, "__self__", None)
    return getattr(getattr(owner, "store", None), "embedder", None)


def build_briefing(topic: str, search: Search, settings: Settings, filters: Filters = Filters(),
                   llm: Any = None, progress: Progress | None = None,
                   find_dates: Callable[[str], Iterable[Any]] = _find_dates, *,
                   embedder: Any = None, aspects: Sequence[str] = (),
                   thresholds: Thresholds | None = None) -> Briefing:
    """Build a cited briefing on `topic` from what `search` finds within `filters`.

    `aspects`: headings asked for (an LLM plans them when none are given); those the archive does
    not support become open questions. `embedder` (default: the one behind `search`, if any) and
    `thresholds` (default: rag/briefing/thresholds.json for the embedder's model) judge sentences.
    `find_dates(text)` may return ISO strings or objects with an `.iso` attribute.
    """
    topic = " ".join(topic.split())
    say = progress or (lambda _f, _m: None)
    arabic = is_arabic(topic)
    plan = plan_briefing(topic, search, settings, filters, llm, say, embedder=embedder,
                         aspects=aspects, thresholds=thresholds)
    if llm is not None and plan.sections:
        _rewrite_with_llm(plan, llm, topic, arabic, say)
    say(0.9, "timeline" if not arabic else "الخط الزمني")
    b = _assemble(topic, arabic, filters, plan, find_dates, plan.scores, plan.considered)
    say(1.0, "done" if not arabic else "تم")
    return b


def plan_briefing(topic: str, search: Search, settings: Settings, filters: Filters = Filters(),
                  llm: Any = None, progress: Progress | None = None, *, embedder: Any = None,
                  aspects: Sequence[str] = (), thresholds: Thresholds | None = None) -> Plan:
    """What a briefing on `topic` will say, before numbering and any LLM rewriting: the selected
    summary and sections, and every on-topic sentence with its scores against the aspects
    (Cand.aspect_raw, in the order of Plan.headings), for evals that fit the placement."""
    topic = " ".join(topic.split())
    if not topic:
        raise ValueError("a briefing needs a topic")
    say = progress or (lambda _f, _m: None)
    arabic = is_arabic(topic)
    say(0.05, "retrieving" if not arabic else "استرجاع المقالات")
    hits = allowed(search(topic, filters, max(settings.fetch_k, 20)), filters)
    considered = len({h.chunk.doc_id for h in hits})
    judge = Relevance(topic, hits)
    pool = judge.keep(hits)
    scores = {h.chunk.id: h.score for h in pool}
    sj = SentenceJudge(topic, embedder if embedder is not None else embedder_of(search), thresholds)
    asked = [" ".join(str(a).split()) for a in aspects if str(a).strip()]
    if llm is not None and not asked and pool:
        say(0.1, "planning" if not arabic else "تخطيط الجوانب")
        asked = plan_questions(llm, topic, arabic)
    plan = Plan()
    if pool:
        plan = _plan(topic, pool, judge, sj, asked, search, settings, filters, say, scores)
    elif asked:
        plan.open_questions = list(asked)
    plan.considered, plan.scores = considered, scores
    return plan


def _plan(topic, pool, judge, sj, asked, search, settings, filters, say, scores) -> Plan:
    """Aspects (the ones asked for, else discovered ones), every sentence judged against the
    topic and the aspects, unsupported aspects dropped, and the summary and sections selected.
    When none of the aspects asked for is supported, the discovered ones are tried."""
    found = [a for a in discover_aspects(topic, pool, MAX_ASPECTS) if a.name]
    if asked:
        plan = _judge_and_select(topic, pool, judge, sj,
                                 [Aspect(q, [], frozenset(analyze(q))) for q in asked],
                                 set(asked), search, settings, filters, say, scores)
        if plan.sections or not found:
            return plan
        again = _judge_and_select(topic, pool, judge, sj, found, set(), search, settings,
                                  filters, say, scores)
        again.open_questions = plan.open_questions
        again.dropped = plan.dropped + again.dropped
        return again
    return _judge_and_select(topic, pool, judge, sj, found, set(), search, settings, filters,
                             say, scores)


def _judge_and_select(topic, pool, judge, sj, aspects, requested, search, settings, filters,
                      say, scores) -> Plan:
    arabic = is_arabic(topic)
    by_id = {h.chunk.id: h for h in pool}
    for i, a in enumerate(aspects):
        say(0.15 + 0.5 * i / max(len(aspects), 1), a.name or topic)
        for h in judge.admit(allowed(search(a.query(topic), filters, settings.k * 2), filters)):
            if h.chunk.id not in by_id:
                by_id[h.chunk.id] = h
                scores.setdefault(h.chunk.id, h.score)
    cands, seen = [], set()
    for c in candidates(list(by_id.values()), judge.rel):
        key = " ".join(c.text.split())
        if key not in seen:
            seen.add(key)
            cands.append(c)
    plan = Plan(headings=[a.name for a in aspects])
    if not cands:
        plan.open_questions = [a.name for a in aspects if a.name in requested]
        return plan
    say(0.7, "judging sentences" if not arabic else "تقييم الجمل")
    texts = [c.text for c in cands]
    vecs = sj.vectors(texts)
    t_scores = sj.topic_scores(texts, vecs, [c.chunks[0].title or c.text for c in cands],
                               [f"{c.chunks[0].title}\n{c.chunks[0].text}" for c in cands])
    member_of = [{h.chunk.id for h in a.hits} for a in aspects]
    members = [[i for i, c in enumerate(cands) if c.chunks[0].id in ids] for ids in member_of]
    if sj.embedder is not None and vecs is not None and not requested:
        # discovered aspects named from what their own on-topic sentences share
        on_rows = {i for i, t in enumerate(t_scores) if sj.on_topic(t)}
        aspects = renamed(aspects, [[i for i in m if i in on_rows] for m in members], vecs,
                          sj.embedder.embed_query, [c.doc for c in cands])
    a_scores = sj.aspect_scores(texts, vecs, [a.name for a in aspects], [a.terms for a in aspects],
                                members)
    about = {c.doc for c, t in zip(cands, t_scores) if sj.on_topic(t)}
    per_aspect: list[list[Cand]] = [[] for _ in aspects]
    on: list[Cand] = []
    topic_cos = sj.topic_cosines(vecs)
    for i, (c, t, row) in enumerate(zip(cands, t_scores, a_scores)):
        c.aspect_raw = tuple(float(x) for x in row)
        c.topic_cos = float(topic_cos[i]) if topic_cos is not None else 0.0
        best = sj.place(row, asked=bool(requested))
        fits = best is not None
        # lexically, a sentence of an on-topic article that fits an aspect is on topic too
        ok = sj.on_topic(t) or (not sj.t.dense and fits and c.doc in about)
        if not ok:
            continue
        c.topic_score = t
        on.append(c)
        if fits:
            c.aspect = best
            per_aspect[best].append(c)
    on.sort(key=lambda c: -c.topic_score)
    plan.on_topic = on
    plan.headings = [a.name for a in aspects]
    docs = {c.doc for c in on}
    plan.n_on_topic_docs = len(docs)
    plan.thin = 0 < len(docs) < sj.t.thin
    keep = []
    for j, a in enumerate(aspects):
        if len(per_aspect[j]) >= sj.t.min_support and a.name:
            keep.append(j)
        else:
            plan.dropped.append(a.name)
            if a.name in requested:
                plan.open_questions.append(a.name)
    if not on:
        return plan
    kept = [per_aspect[j] for j in keep]
    for i, cs in enumerate(kept):
        for c in cs:
            c.aspect = i
    # on the topic but under none of the headings: quoted, if at all, under OTHER_HEADING
    placed = {id(c) for cs in kept for c in cs}
    rest = [c for c in on if id(c) not in placed]
    for c in rest:
        c.aspect = len(kept)
    sel = Selector(on, topic, max(PER_DOC, math.ceil(10 / max(len(docs), 1))))
    n_summary = THIN_SUMMARY if plan.thin else None
    summary = sel.summary(kept or [on], n_summary)
    per_section = THIN_PER_SECTION if plan.thin else PER_SECTION
    for cs in kept:
        sel.score(cs)
    chosen = [sel.pick(cs, per_section, score=False) for cs in kept]
    if not plan.thin:
        cover(sel, kept, chosen, {c.doc for cs in kept for c in cs} - {c.doc for c in summary})
    plan.summary = summary
    plan.sections = [(aspects[j].name, sorted(ch, key=_reading_order))
                     for j, ch in zip(keep, chosen) if ch]
    plan.other = sorted(_other(sel, rest, None if plan.thin else docs), key=_reading_order)
    return plan


def _other(sel: Selector, rest: list[Cand], docs: set[str] | None) -> list[Cand]:
    """The closing section: the OTHER_MAX sentences under no heading most about the topic by
    their own words (their cosine to the topic, not the topic score, which also counts their
    article's title: with no heading to stand under, a sentence must carry the topic itself;
    and centrality among them means nothing, they share no aspect), then the best of each
    on-topic article in `docs` not cited yet."""
    out: list[Cand] = []
    ranked = sorted(rest, key=lambda c: (-c.topic_cos, -c.topic_score))
    for c in ranked:
        if len(out) == OTHER_MAX:
            break
        if sel.usable(c) and sel.per_doc[c.doc] < sel.cap:
            out.append(c)
            sel.take(c)
    cited = {d for d, n in sel.per_doc.items() if n} | set(sel.summary_docs)
    for doc in sorted((docs or set()) - cited):
        c = next((c for c in ranked if c.doc == doc and sel.usable(c)), None)
        if c is not None:
            out.append(c)
            sel.take(c)
    return out


def renamed(aspects: list[Aspect], members: list[list[int]], vecs, embed_query,
            docs: list[str] | None = None) -> list[Aspect]:
    """Discovered aspects renamed from their content (rag.briefing.placement.choose_names)."""
    options = [[a.name, *a.alternatives] for a in aspects]
    picks = choose_names(options, members, vecs, embed_query, [a.headings for a in aspects], docs)
    return [replace(a, name=opts[k], terms=a.terms | frozenset(analyze(opts[k])))
            for a, opts, k in zip(aspects, options, picks)]


def _reading_order(c: Cand) -> tuple:
    return (iso_date(c.chunks[0].date) or "9999", c.doc, c.offset)


def _rewrite_with_llm(plan: Plan, llm, topic: str, arabic: bool, say) -> None:
    """Each section rewritten by the LLM from its selected on-topic sentences (given as the
    numbered passages, so every marker resolves to one of them); a section the LLM answers with
    nothing verifiable keeps its extracted sentences. The summary likewise."""
    def rewrite(label: str, cands: list[Cand], n: str) -> list[Cand]:
        passages = [replace(c.chunks[0], text=c.text) for c in cands]
        kept, _dropped = write_cited(llm, topic, label, passages, arabic, n)
        return [Cand(clean_text(t), tuple(dict.fromkeys(cands[j].chunks[0] for j in idx
                                                          if 0 <= j < len(cands))))
                for t, idx in kept if idx]

    sections = []
    for i, (heading, cands) in enumerate(plan.sections):
        say(0.75 + 0.1 * i / len(plan.sections), heading)
        sections.append((heading, rewrite(heading, cands, "2-4") or cands))
    plan.sections = sections
    pool = list(plan.summary) + [c for _, cs in sections for c in cs]
    src = list({(c.text, c.doc): c for c in pool if len(c.chunks) == 1}.values())[:LLM_SUMMARY_INPUT]
    if src:
        label = "ملخص تنفيذي" if arabic else "executive summary"
        plan.summary = rewrite(label, src, "3-4") or plan.summary


def _assemble(topic, arabic, filters, plan: Plan, find_dates, scores, considered) -> Briefing:
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
        return BriefSentence(clean_text(c.text), tuple(dict.fromkeys(numbers[story(ch)] for ch in c.chunks)),
                             tuple(ch.id for ch in c.chunks))

    summary_s = tuple(cite(c) for c in plan.summary)
    sections_s = tuple(BriefSection(h, tuple(cite(c) for c in cs)) for h, cs in plan.sections)
    if plan.other:
        sections_s += (BriefSection(OTHER_HEADING["ar" if arabic else "en"],
                                    tuple(cite(c) for c in plan.other), aspect=False),)
    used = list(plan.summary) + [c for _, cs in plan.sections for c in cs] + list(plan.other)
    # timeline and figures: on-topic sentences of the cited articles, the quoted ones first
    quoted = {" ".join(c.text.split()) for c in used}
    rest = [c for c in plan.on_topic if c.doc in by_doc and " ".join(c.text.split()) not in quoted
            and all(ch.doc_id in by_doc for ch in c.chunks)]
    timeline = timeline_of(used + rest, by_doc, find_dates)
    figures = figures_of(((clean_text(c.text), tuple(dict.fromkeys(by_doc[ch.doc_id] for ch in c.chunks)))
                          for c in used + rest), find_dates)
    sources = tuple(
        Citation(n=n, chunk_id=first[d].id, doc_id=first[d].doc_id, title=clean_text(first[d].title),
                 date=first[d].date, author=first[d].author, source=first[d].source,
                 text=first[d].text, score=float(scores.get(first[d].id, 0.0)),
                 quote=" … ".join(clean_text(q) for q in quotes[d]),
                 cluster_id=first[d].cluster_id, also_in=first[d].also_in)
        for d, n in sorted(numbers.items(), key=lambda x: x[1]))
    dates = sorted(x for x in (iso_date(s.date) for s in sources) if x)
    note = ""
    if plan.thin:
        note = (f"يغطي الأرشيف هذا الموضوع تغطية محدودة: {plan.n_on_topic_docs} مقال فقط يتناوله."
                if arabic else f"The archive barely covers this topic: only {plan.n_on_topic_docs} "
                               "article(s) address it.")
    return Briefing(
        topic=topic, title=(f"إحاطة: {topic}" if arabic else f"Briefing: {topic}"),
        since=filters.since or (dates[0] if dates else ""),
        until=filters.until or (dates[-1] if dates else ""),
        n_articles=len(sources), source_names=tuple(sorted({s.source for s in sources if s.source})),
        summary=summary_s, sections=sections_s, timeline=timeline, sources=sources,
        language="ar" if arabic else "en", n_considered=considered,
        n_undated=sum(1 for s in sources if not iso_date(s.date)),
        n_unsourced=sum(1 for s in sources if not s.source.strip()),
        figures=figures, open_questions=tuple(plan.open_questions), coverage_note=note,
        dropped_aspects=tuple(plan.dropped))
