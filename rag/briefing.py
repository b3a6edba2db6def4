"""Topic -> aspects -> retrieval per aspect -> a briefing in which every sentence cites its source.

Without an LLM (the default) the text is extractive: aspects are discovered from the passages
(rag.aspects) and each section takes the most representative sentences by MMR, capped per
article and penalising articles already used, so the briefing spreads over many articles and
dates rather than quoting one. With an LLM, the LLM plans sub-questions and writes sentences
whose [n] markers are verified (rag.brief_llm). Sources are numbered per article, 1..N in order
of first use: a handout lists an article once, not once per passage.
The retriever is passed in as `search(query, filters, k)` so this module stays independent of
how retrieval is built.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from rag.arabic import analyze, is_arabic, normalize, sentences
from rag.aspects import Aspect, TfIdf, discover_aspects
from rag.brief_llm import plan_questions, write_cited
from rag.config import Settings
from rag.timeline import find_dates as _find_dates
from rag.timeline import iso_date
from rag.types import (BriefSection, BriefSentence, Briefing, Chunk, Citation, Filters, Hit,
                       TimelineEvent)

Search = Callable[[str, Filters, int], list[Hit]]
Progress = Callable[[float, str], None]

MAX_ASPECTS = 4
PER_SECTION = 4  # sentences a section aims for
PER_DOC = 3  # sentences one article may give the whole briefing (coverage pass aside)
SUMMARY = 4
TIMELINE_MAX = 15
LLM_PASSAGES = 6


@dataclass
class _Cand:
    """A sentence (or LLM-written claim) with the passages it rests on."""

    text: str
    chunks: tuple[Chunk, ...]
    offset: int = 0  # position in its article, for reading order
    rel: float = 0.0
    vec: Any = field(default=None, repr=False)

    @property
    def doc(self) -> str:
        return self.chunks[0].doc_id


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
    pool = _relevant(topic, _allowed(search(topic, filters, max(settings.fetch_k, 20)), filters))
    scores = {h.chunk.id: h.score for h in pool}
    if not pool:
        sections: list[tuple[str, list[_Cand]]] = []
        summary: list[_Cand] = []
    elif llm is None:
        sections, summary = _extractive(topic, pool, search, settings, filters, say, scores)
    else:
        sections, summary = _with_llm(topic, pool, search, settings, filters, llm, say, scores)
    say(0.9, "timeline" if not arabic else "الخط الزمني")
    b = _assemble(topic, arabic, filters, sections, summary, find_dates, scores)
    say(1.0, "done" if not arabic else "تم")
    return b


# -- retrieval helpers -------------------------------------------------------------------------

def _allowed(hits: Iterable[Hit], f: Filters) -> list[Hit]:
    """Re-apply the filters: a briefing must never cite outside the period or sources asked for."""
    out, seen = [], set()
    for h in hits:
        c = h.chunk
        d = iso_date(c.date)
        if c.id in seen:
            continue
        if (f.since or f.until) and not d:
            continue
        if f.since and d[:len(f.since)] < f.since[:len(d)]:
            continue
        if f.until and d[:len(f.until)] > f.until[:len(d)]:
            continue
        if f.sources and c.source not in f.sources:
            continue
        if f.authors and c.author not in f.authors:
            continue
        if f.doc_ids and c.doc_id not in f.doc_ids:
            continue
        seen.add(c.id)
        out.append(h)
    return out


def _on_topic(terms: set[str], h: Hit) -> bool:
    return bool(terms & set(analyze(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}")))


def _relevant(topic: str, hits: list[Hit]) -> list[Hit]:
    """Keep passages sharing a term with the topic; all of them if none does (e.g. cross-lingual)."""
    terms = set(analyze(topic))
    kept = [h for h in hits if _on_topic(terms, h)]
    return kept or hits


def _candidates(hits: Iterable[Hit]) -> list[_Cand]:
    out = []
    for h in hits:
        c = h.chunk
        for s, e in sentences(c.text):
            text = c.text[s:e].strip()
            n_words = len(text.split())
            if len(analyze(text)) < 4 or n_words > 70 or normalize(text) == normalize(c.title):
                continue
            out.append(_Cand(text, (c,), offset=c.start + s))
    return out


# -- extractive path ---------------------------------------------------------------------------

class _Selector:
    """MMR over sentences with per-article caps; its state spans the whole briefing."""

    def __init__(self, cands: list[_Cand], topic: str):
        tf = TfIdf([c.text for c in cands] + [topic])
        for c, v in zip(cands, tf.transform([c.text for c in cands])):
            c.vec = v
        self.q = tf.transform([topic])[0]
        self.chosen: list[np.ndarray] = []
        self.per_doc: Counter = Counter()
        self.seen: set[str] = set()

    def score(self, cands: list[_Cand]) -> None:
        """Relevance = closeness to the section's centroid and to the topic; leads get a nudge."""
        if not cands:
            return
        centroid = np.sum([c.vec for c in cands], axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1)
        for c in cands:
            lead = 0.05 if c.chunks[0].ordinal == 0 and c.offset == c.chunks[0].start else 0.0
            c.rel = 0.5 * float(c.vec @ centroid) + 0.5 * float(c.vec @ self.q) + lead

    def usable(self, c: _Cand) -> bool:
        return normalize(c.text) not in self.seen and self._sim(c) <= 0.85

    def _sim(self, c: _Cand) -> float:
        return max((float(c.vec @ v) for v in self.chosen), default=0.0)

    def take(self, c: _Cand) -> None:
        self.chosen.append(c.vec)
        self.per_doc[c.doc] += 1
        self.seen.add(normalize(c.text))

    def pick(self, cands: list[_Cand], n: int) -> list[_Cand]:
        self.score(cands)
        docs = {c.doc for c in cands}
        section_cap = 1 if len(docs) >= n else 2
        here: Counter = Counter()
        picked: list[_Cand] = []
        while len(picked) < n:
            best, best_s = None, -1e9
            for c in cands:
                if c in picked or here[c.doc] >= section_cap or self.per_doc[c.doc] >= PER_DOC:
                    continue
                if not self.usable(c):
                    continue
                s = c.rel - 0.4 * self._sim(c) - 0.1 * self.per_doc[c.doc]
                if s > best_s:
                    best, best_s = c, s
            if best is None:
                break
            picked.append(best)
            here[best.doc] += 1
            self.take(best)
        return picked


def _extractive(topic, pool, search, settings, filters, say, scores):
    arabic = is_arabic(topic)
    aspects = discover_aspects(topic, pool, MAX_ASPECTS)
    owner = {h.chunk.id: i for i, a in enumerate(aspects) for h in a.hits}
    terms = set(analyze(topic))
    lexical = any(_on_topic(terms, h) for h in pool)
    for i, a in enumerate(aspects):
        say(0.15 + 0.55 * i / len(aspects), a.name or topic)
        for h in _allowed(search(a.query(topic), filters, settings.k * 2), filters):
            if h.chunk.id not in owner and (not lexical or _on_topic(terms, h)):
                owner[h.chunk.id] = i  # each passage serves one section only
                a.hits.append(h)
                scores.setdefault(h.chunk.id, h.score)
    per_aspect = [_candidates(a.hits) for a in aspects]
    sel = _Selector([c for cs in per_aspect for c in cs], topic)
    chosen = [sel.pick(cs, PER_SECTION) for cs in per_aspect]
    _cover(sel, per_aspect, chosen, {h.chunk.doc_id for a in aspects for h in a.hits})
    sections = [(_heading(a, i, arabic), sorted(ch, key=_reading_order))
                for i, (a, ch) in enumerate(zip(aspects, chosen)) if ch]
    return sections, _summary([ch for _, ch in sections])


def _cover(sel: _Selector, per_aspect: list[list[_Cand]], chosen: list[list[_Cand]],
           docs: set[str]) -> None:
    """Give every on-topic article not yet cited its best sentence, in the section it fits."""
    cited = {c.doc for ch in chosen for c in ch}
    for doc in sorted(docs - cited):
        options = [(c.rel, i, c) for i, cs in enumerate(per_aspect) for c in cs
                   if c.doc == doc and normalize(c.text) not in sel.seen]
        if options:
            _, i, c = max(options, key=lambda o: o[0])
            chosen[i].append(c)
            sel.take(c)


def _heading(a: Aspect, i: int, arabic: bool) -> str:
    return a.name or (f"جانب {i + 1}" if arabic else f"Aspect {i + 1}")


def _reading_order(c: _Cand) -> tuple:
    return (iso_date(c.chunks[0].date) or "9999", c.doc, c.offset)


def _summary(sections: list[list[_Cand]]) -> list[_Cand]:
    """The most central sentence of each section, then the next most central, up to SUMMARY."""
    leads = [max(ch, key=lambda c: c.rel) for ch in sections if ch]
    rest = sorted((c for ch in sections for c in ch if c not in leads), key=lambda c: -c.rel)
    picked = sorted(leads, key=lambda c: -c.rel)[:SUMMARY]
    return picked + rest[: max(0, min(3, SUMMARY) - len(picked))]


# -- LLM path ----------------------------------------------------------------------------------

def _spread(hits: list[Hit], n: int, per_doc: int) -> list[Hit]:
    out, count = [], Counter()
    for h in hits:
        if count[h.chunk.doc_id] < per_doc:
            out.append(h)
            count[h.chunk.doc_id] += 1
        if len(out) == n:
            break
    return out


def _with_llm(topic, pool, search, settings, filters, llm, say, scores):
    arabic = is_arabic(topic)
    say(0.1, "planning" if not arabic else "تخطيط الجوانب")
    questions = plan_questions(llm, topic, arabic) or [
        a.query(topic) for a in discover_aspects(topic, pool, MAX_ASPECTS)]
    terms = set(analyze(topic))
    lexical = any(_on_topic(terms, h) for h in pool)
    used: set[str] = set()
    sections: list[tuple[str, list[_Cand]]] = []
    for i, q in enumerate(questions):
        say(0.15 + 0.6 * i / len(questions), q)
        hits = [h for h in _allowed(search(q, filters, settings.fetch_k // 2 or 10), filters)
                if h.chunk.id not in used and (not lexical or _on_topic(terms, h))]
        passages = _spread(hits, LLM_PASSAGES, max(settings.per_doc_cap, 1))
        if not passages:
            continue
        for h in passages:
            scores.setdefault(h.chunk.id, h.score)
        kept, _dropped = write_cited(llm, topic, q, [h.chunk for h in passages], arabic)
        cands = [_Cand(t, tuple(passages[j].chunk for j in idx)) for t, idx in kept]
        if not cands:  # the LLM gave nothing verifiable: fall back to extracted sentences
            ex = _candidates(passages)
            cands = _Selector(ex, topic).pick(ex, PER_SECTION) if ex else []
        if cands:
            used.update(c.id for cand in cands for c in cand.chunks)
            sections.append((q, cands))
    summary: list[_Cand] = []
    cited = list({c.id: c for _, cs in sections for cand in cs for c in cand.chunks}.values())
    if cited:
        say(0.8, "summary" if not arabic else "الملخص")
        label = "ملخص تنفيذي" if arabic else "executive summary"
        kept, _ = write_cited(llm, topic, label, cited[:10], arabic, "3-4")
        summary = [_Cand(t, tuple(cited[j] for j in idx)) for t, idx in kept]
    if not summary:
        summary = [cs[0] for _, cs in sections][:SUMMARY]
    return sections, summary


# -- assembly ----------------------------------------------------------------------------------

def _iso_of(found: Any) -> str:
    value = found if isinstance(found, str) else getattr(found, "iso", None)
    if value is None and isinstance(found, tuple) and found:
        value = found[0]
    return iso_date(str(value or ""))


def _assemble(topic, arabic, filters, sections, summary, find_dates, scores) -> Briefing:
    numbers: dict[str, int] = {}
    first: dict[str, Chunk] = {}
    quotes: dict[str, list[str]] = {}

    def cite(c: _Cand) -> BriefSentence:
        for ch in c.chunks:
            numbers.setdefault(ch.doc_id, len(numbers) + 1)
            first.setdefault(ch.doc_id, ch)
            if c.text not in quotes.setdefault(ch.doc_id, []):
                quotes[ch.doc_id].append(c.text)
        return BriefSentence(c.text, tuple(dict.fromkeys(numbers[ch.doc_id] for ch in c.chunks)))

    summary_s = tuple(cite(c) for c in summary)
    sections_s = tuple(BriefSection(h, tuple(cite(c) for c in cs)) for h, cs in sections)
    all_cands = [c for _, cs in sections for c in cs] + list(summary)
    timeline = _timeline(all_cands, numbers, find_dates)
    sources = tuple(
        Citation(n=n, chunk_id=first[d].id, doc_id=d, title=first[d].title, date=first[d].date,
                 author=first[d].author, source=first[d].source, text=first[d].text,
                 score=float(scores.get(first[d].id, 0.0)), quote=" … ".join(quotes[d]))
        for d, n in sorted(numbers.items(), key=lambda x: x[1]))
    dates = sorted(x for x in (iso_date(s.date) for s in sources) if x)
    return Briefing(
        topic=topic, title=(f"إحاطة: {topic}" if arabic else f"Briefing: {topic}"),
        since=filters.since or (dates[0] if dates else ""),
        until=filters.until or (dates[-1] if dates else ""),
        n_articles=len(sources), source_names=tuple(sorted({s.source for s in sources if s.source})),
        summary=summary_s, sections=sections_s, timeline=timeline, sources=sources,
        language="ar" if arabic else "en")


def _timeline(cands: list[_Cand], numbers: dict[str, int], find_dates) -> tuple[TimelineEvent, ...]:
    """Dated sentences from the cited passages, else the article's own date with its sentence."""
    events: list[TimelineEvent] = []
    seen: set[str] = set()

    def add(date: str, text: str, docs: Iterable[str]) -> None:
        key = normalize(text)
        if date and key not in seen and len(events) < TIMELINE_MAX:
            seen.add(key)
            events.append(TimelineEvent(date, text, tuple(dict.fromkeys(numbers[d] for d in docs))))

    def first_date(text: str) -> str:
        return next((d for d in map(_iso_of, find_dates(text)) if d), "")

    for c in cands:  # the briefing's own sentences first
        add(first_date(c.text), c.text, [ch.doc_id for ch in c.chunks])
    chunks = list({ch.id: ch for c in cands for ch in c.chunks}.values())
    for ch in chunks:  # then other dated sentences of the same passages
        for s, e in sentences(ch.text):
            text = ch.text[s:e].strip()
            if len(analyze(text)) >= 3:
                add(first_date(text), text, [ch.doc_id])
    dated = {n for ev in events for n in ev.citations}
    for c in cands:  # articles with no date in their text still place their sentence in time
        if numbers[c.doc] not in dated and iso_date(c.chunks[0].date):
            dated.add(numbers[c.doc])
            add(iso_date(c.chunks[0].date), c.text, [c.doc])
    return tuple(sorted(events, key=lambda ev: (ev.date, ev.citations)))
