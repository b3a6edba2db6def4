"""Topic -> aspects -> retrieval per aspect -> a briefing in which every sentence cites its source.

Only passages relevant to the topic are used, judged relative to the best hits of the same
search (never by an absolute cosine: e5 scores bunch at 0.8-0.9): closeness of the dense score
to the top hit's, and how much of the topic's analyzed terms the passage covers compared with
the best-covering passage. Off-topic articles the retriever returns to fill its k are dropped,
so a small archive gives a short briefing rather than a padded one.
Without an LLM (the default) the text is extractive: aspects are discovered from the passages
(rag.briefing.aspects); the executive summary takes the most central sentences across aspects, and each
section the most representative remaining sentences by MMR, capped per article and penalising
articles already used, so the briefing spreads over many articles and dates rather than quoting
one. Sentences sharing no term with their aspect or the topic are left out. The timeline lists
events whose sentence names a date, labelled with that date and trimmed to the clause around it. With an LLM, the LLM plans sub-questions and writes sentences
whose [n] markers are verified (rag.briefing.llm_writer). Sources are numbered per article, 1..N in order
of first use: a handout lists an article once, not once per passage.
The retriever is passed in as `search(query, filters, k)` so this module stays independent of
how retrieval is built.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from rag.text.arabic import analyze, is_arabic, normalize, sentences
from rag.briefing.aspects import Aspect, TfIdf, discover_aspects
from rag.briefing.llm_writer import plan_questions, write_cited
from rag.config import Settings
from rag.text.dates import find_dates as _find_dates
from rag.text.dates import iso_date
from rag.types import (BriefSection, BriefSentence, Briefing, Chunk, Citation, Filters, Hit,
                       TimelineEvent)

Search = Callable[[str, Filters, int], list[Hit]]
Progress = Callable[[float, str], None]

MAX_ASPECTS = 4
PER_SECTION = 4  # sentences a section aims for
PER_DOC = 3  # sentences one article may give the sections (coverage pass aside), many articles
SUMMARY_MIN, SUMMARY_MAX = 3, 5
TIMELINE_MAX = 15
TIMELINE_FALLBACK = 2  # key articles whose publication date may stand in for a date in the text
CLAUSE_WORDS = 28  # an event longer than this is cut to a window around its date
LLM_PASSAGES = 6
# Relevance, relative to the best hits of the same search. A passage's dense signal falls from 1
# at the top hit's cosine to 0 at DENSE_MARGIN below it (e5 cosines of unrelated passages sit
# only ~0.05 under related ones); its lexical signal is its coverage of the topic's terms over
# the best passage's. A passage needs the mean of the available signals >= REL_MIN.
DENSE_MARGIN = 0.06
REL_MIN = 0.5


@dataclass
class _Cand:
    """A sentence (or LLM-written claim) with the passages it rests on."""

    text: str
    chunks: tuple[Chunk, ...]
    offset: int = 0  # position in its article, for reading order
    rel: float = 0.0
    vec: Any = field(default=None, repr=False)
    prel: float = 1.0  # relevance of its passage to the topic
    aspect: int = 0

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
    hits = _allowed(search(topic, filters, max(settings.fetch_k, 20)), filters)
    judge = _Relevance(topic, hits)
    pool = judge.keep(hits)
    scores = {h.chunk.id: h.score for h in pool}
    if not pool:
        sections: list[tuple[str, list[_Cand]]] = []
        summary: list[_Cand] = []
    elif llm is None:
        sections, summary = _extractive(topic, pool, judge, search, settings, filters, say, scores)
    else:
        sections, summary = _with_llm(topic, pool, judge, search, settings, filters, llm, say,
                                      scores)
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


def _terms_of(h: Hit) -> frozenset[str]:
    return frozenset(analyze(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}"))


class _Relevance:
    """Judges passages against the topic relative to the best hits (see the module docstring).

    Built on the topic's own search; `keep` filters that pool, `admit` the hits of later
    searches (per aspect or sub-question), which must also come from articles the pool found
    relevant, so an aspect query cannot bring an off-topic article back in.
    """

    def __init__(self, topic: str, pool: list[Hit]):
        self.terms = frozenset(analyze(topic))
        self.best_cov = max((self.coverage(h) for h in pool), default=0.0)
        self.rel: dict[str, float] = {}
        self.docs: set[str] = set()

    @property
    def lexical(self) -> bool:
        """Whether the topic's words occur in the passages at all (not so across languages)."""
        return self.best_cov > 0

    def coverage(self, h: Hit) -> float:
        return len(self.terms & _terms_of(h)) / len(self.terms) if self.terms else 0.0

    def scores(self, hits: list[Hit]) -> dict[str, float]:
        dense = [h.dense_score for h in hits if h.dense_score is not None]
        top_d = max(dense) if dense else None
        top_s = max((h.score for h in hits), default=0.0)
        out = {}
        for h in hits:
            parts = []
            if top_d is not None:
                d = h.dense_score if h.dense_score is not None else top_d - DENSE_MARGIN
                parts.append(min(1.0, max(0.0, 1 - (top_d - d) / DENSE_MARGIN)))
            if self.best_cov:
                parts.append(min(1.0, self.coverage(h) / self.best_cov))
            if not parts:  # neither signal: the fused score relative to the best
                parts.append(h.score / top_s if top_s > 0 else 1.0)
            out[h.chunk.id] = sum(parts) / len(parts)
        return out

    def keep(self, hits: list[Hit]) -> list[Hit]:
        """The relevant passages of the topic's own search, most relevant first."""
        rel = self.scores(hits)
        kept = sorted((h for h in hits if rel[h.chunk.id] >= REL_MIN),
                      key=lambda h: (-rel[h.chunk.id], -h.score, h.chunk.id))
        self.rel.update((h.chunk.id, rel[h.chunk.id]) for h in kept)
        self.docs.update(h.chunk.doc_id for h in kept)
        return kept

    def admit(self, hits: list[Hit]) -> list[Hit]:
        """Relevant hits of a follow-up search, from articles already judged relevant."""
        rel = self.scores(hits)
        out = [h for h in hits if h.chunk.doc_id in self.docs and rel[h.chunk.id] >= REL_MIN]
        for h in out:
            self.rel.setdefault(h.chunk.id, rel[h.chunk.id])
        return out


def _candidates(hits: Iterable[Hit], rel: dict[str, float] | None = None,
                topic_terms: frozenset[str] = frozenset(), aspect_terms: frozenset[str] | None = None,
                aspect: int = 0) -> list[_Cand]:
    """Sentences of `hits` worth quoting. With `aspect_terms`, a sentence must share a term with
    the topic, or with its aspect when its passage's own words (title and text, not a section
    heading that happens to share a word) touch the topic."""
    out = []
    for h in hits:
        c = h.chunk
        about = not topic_terms or bool(topic_terms & set(analyze(f"{c.title} {c.text}")))
        for s, e in _spans(c.text):
            text = c.text[s:e].strip()
            n_words = len(text.split())
            words = set(analyze(text))
            if len(words) < 4 or n_words > 70 or normalize(text) == normalize(c.title):
                continue
            if aspect_terms is not None and not (
                    words & topic_terms or (about and words & aspect_terms)):
                continue
            out.append(_Cand(text, (c,), offset=c.start + s,
                             prel=(rel or {}).get(c.id, 1.0), aspect=aspect))
    return out


def _spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, a clause ending in «؛» or «:» joined to what follows on the same line."""
    out: list[tuple[int, int]] = []
    for s, e in sentences(text):
        if out and text[out[-1][1] - 1] in "؛:" and "\n" not in text[out[-1][1]:s] \
                and len(text[out[-1][0]:e].split()) <= 70:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


# -- extractive path ---------------------------------------------------------------------------

class _Selector:
    """MMR over sentences with per-article caps; its state spans the whole briefing."""

    def __init__(self, cands: list[_Cand], topic: str, per_doc: int = PER_DOC):
        tf = TfIdf([c.text for c in cands] + [topic])
        for c, v in zip(cands, tf.transform([c.text for c in cands])):
            c.vec = v
        self.q = tf.transform([topic])[0]
        self.cap = per_doc
        self.chosen: list[np.ndarray] = []
        self.per_doc: Counter = Counter()
        self.seen: set[str] = set()

    def score(self, cands: list[_Cand]) -> None:
        """Relevance = closeness to the section's centroid and to the topic, and the passage's
        own relevance to the topic; leads get a nudge."""
        if not cands:
            return
        centroid = np.sum([c.vec for c in cands], axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1)
        for c in cands:
            lead = 0.05 if c.chunks[0].ordinal == 0 and c.offset == c.chunks[0].start else 0.0
            c.rel = (0.5 * float(c.vec @ centroid) + 0.5 * float(c.vec @ self.q) + lead
                     + 0.3 * c.prel)

    def usable(self, c: _Cand) -> bool:
        return normalize(c.text) not in self.seen and self._sim(c) <= 0.85

    def _sim(self, c: _Cand) -> float:
        return max((float(c.vec @ v) for v in self.chosen), default=0.0)

    def take(self, c: _Cand, count: bool = True) -> None:
        self.chosen.append(c.vec)
        if count:
            self.per_doc[c.doc] += 1
        self.seen.add(normalize(c.text))

    def best(self, cands: Iterable[_Cand], ok: Callable[[_Cand], bool] = lambda c: True):
        best, best_s = None, -1e9
        for c in cands:
            if not ok(c) or not self.usable(c):
                continue
            s = c.rel - 0.4 * self._sim(c) - 0.1 * self.per_doc[c.doc]
            if s > best_s:
                best, best_s = c, s
        return best

    def pick(self, cands: list[_Cand], n: int, score: bool = True) -> list[_Cand]:
        if score:
            self.score(cands)
        docs = {c.doc for c in cands}
        section_cap = 1 if len(docs) >= n else 2 if len(docs) > 1 else n
        here: Counter = Counter()
        picked: list[_Cand] = []
        while len(picked) < n:
            c = self.best(cands, lambda c: c not in picked and here[c.doc] < section_cap
                          and self.per_doc[c.doc] < self.cap)
            if c is None:
                break
            picked.append(c)
            here[c.doc] += 1
            self.take(c)
        return picked

    def summary(self, per_aspect: list[list[_Cand]]) -> list[_Cand]:
        """The most central sentences across aspects: each aspect's best, then the next best
        overall, SUMMARY_MIN..SUMMARY_MAX of them (fewer only when fewer exist)."""
        pool = [c for cs in per_aspect for c in cs]
        self.score(pool)  # centrality over the whole briefing
        n = min(max(SUMMARY_MIN, len([cs for cs in per_aspect if cs]) + 1), SUMMARY_MAX)
        picked: list[_Cand] = []
        for cs in per_aspect:
            c = self.best(cs)
            if c is not None and len(picked) < n:
                picked.append(c)
                self.take(c, count=False)
        while len(picked) < n:
            c = self.best(pool, lambda c: c not in picked)
            if c is None:
                break
            picked.append(c)
            self.take(c, count=False)
        return sorted(picked, key=lambda c: (c.aspect, -c.rel))


def _extractive(topic, pool, judge, search, settings, filters, say, scores):
    arabic = is_arabic(topic)
    aspects = discover_aspects(topic, pool, MAX_ASPECTS)
    owner = {h.chunk.id: i for i, a in enumerate(aspects) for h in a.hits}
    for i, a in enumerate(aspects):
        say(0.15 + 0.55 * i / len(aspects), a.name or topic)
        for h in judge.admit(_allowed(search(a.query(topic), filters, settings.k * 2), filters)):
            if h.chunk.id not in owner:
                owner[h.chunk.id] = i  # each passage serves one section only
                a.hits.append(h)
                scores.setdefault(h.chunk.id, h.score)
    topic_terms = judge.terms if judge.lexical else frozenset()
    per_aspect = [_candidates(a.hits, judge.rel, topic_terms, a.terms, i)
                  for i, a in enumerate(aspects)]
    docs = {h.chunk.doc_id for a in aspects for h in a.hits}
    sel = _Selector([c for cs in per_aspect for c in cs], topic,
                    max(PER_DOC, math.ceil(10 / max(len(docs), 1))))
    summary = sel.summary(per_aspect)
    for cs in per_aspect:
        sel.score(cs)  # back to closeness within the section
    chosen = [sel.pick(cs, PER_SECTION, score=False) for cs in per_aspect]
    _cover(sel, per_aspect, chosen, docs - {c.doc for c in summary})
    repeat = 1  # a section left empty may keep the one summary sentence it gave
    for i, ch in enumerate(chosen):
        own = [c for c in summary if c.aspect == i]
        if not ch and own and repeat:
            ch.append(own[0])
            repeat -= 1
    sections = [(_heading(a, i, arabic), sorted(ch, key=_reading_order))
                for i, (a, ch) in enumerate(zip(aspects, chosen)) if ch]
    return sections, summary


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


def _with_llm(topic, pool, judge, search, settings, filters, llm, say, scores):
    arabic = is_arabic(topic)
    say(0.1, "planning" if not arabic else "تخطيط الجوانب")
    questions = plan_questions(llm, topic, arabic) or [
        a.query(topic) for a in discover_aspects(topic, pool, MAX_ASPECTS)]
    used: set[str] = set()
    sections: list[tuple[str, list[_Cand]]] = []
    for i, q in enumerate(questions):
        say(0.15 + 0.6 * i / len(questions), q)
        hits = [h for h in judge.admit(_allowed(search(q, filters, settings.fetch_k // 2 or 10),
                                                filters)) if h.chunk.id not in used]
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
        summary = [cs[0] for _, cs in sections][:SUMMARY_MAX]
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


_CLAUSE_END = re.compile(r"[،,؛;:]\s|\s[-–]\s")


def _found(find_dates, text: str) -> list[tuple[str, int, int]]:
    """(iso, start, end) of the dates in `text`; a finder without spans gives (iso, -1, -1)."""
    out = []
    for f in find_dates(text):
        iso = _iso_of(f)
        if iso:
            out.append((iso, getattr(f, "start", -1), getattr(f, "end", -1)))
    return out


def _clause(text: str, start: int, end: int) -> str:
    """The clause of `text` holding [start, end), widened when too short to say anything and cut
    to a window of words around the date when too long."""
    if start < 0:
        return text.strip()
    lo, hi = _clause_span(text, start, end)
    words = list(re.finditer(r"\S+", text[lo:hi]))
    if len(words) > CLAUSE_WORDS:
        at = next((j for j, w in enumerate(words) if lo + w.end() > start), 0)
        a = 0 if at < CLAUSE_WORDS - 6 else min(at - CLAUSE_WORDS // 2, len(words) - CLAUSE_WORDS)
        b = a + CLAUSE_WORDS - 1
        cut = ("… " if a else "", " …" if b < len(words) - 1 else "")
        lo, hi = lo + words[a].start(), lo + words[b].end()
        return cut[0] + text[lo:hi].strip().rstrip("،,؛;:-– ") + cut[1]
    return text[lo:hi].strip().rstrip("،,؛;:-– ").strip()


def _clause_span(text: str, start: int, end: int) -> tuple[int, int]:
    cuts = [0] + [m.end() for m in _CLAUSE_END.finditer(text)] + [len(text)]
    i = max(j for j, c in enumerate(cuts[:-1]) if c <= start)
    k = next((j for j, c in enumerate(cuts) if c >= end and j > i), len(cuts) - 1)
    lo, hi = cuts[i], cuts[k]
    while len(text[lo:hi].split()) < 6 and (k < len(cuts) - 1 or i > 0):
        if k < len(cuts) - 1:
            k += 1
        else:
            i -= 1
        lo, hi = cuts[i], cuts[k]
    return lo, hi


def _timeline(cands: list[_Cand], numbers: dict[str, int], find_dates) -> tuple[TimelineEvent, ...]:
    """Events whose sentence names a date, labelled with that date and trimmed to its clause:
    the briefing's own sentences first, then the other sentences of the passages it cites. A few
    key articles with no dated sentence fall back on their publication date."""
    events: list[TimelineEvent] = []
    seen: set[str] = set()

    def add(date: str, text: str, docs: Iterable[str]) -> None:
        key = normalize(text)  # two dates in one clause make one event, under the first
        if date and text and key not in seen and len(events) < TIMELINE_MAX:
            seen.add(key)
            events.append(TimelineEvent(date, text, tuple(dict.fromkeys(numbers[d] for d in docs))))

    def dated(text: str, docs: list[str]) -> None:
        spans: list[tuple[int, int]] = []
        for iso, start, end in _found(find_dates, text):
            if any(lo <= start < hi for lo, hi in spans):
                continue  # a date in the clause of an event already made: one event
            add(iso, _clause(text, start, end), docs)
            if start >= 0:
                spans.append(_clause_span(text, start, end))

    for c in cands:  # the briefing's own sentences first
        dated(c.text, [ch.doc_id for ch in c.chunks])
    chunks = list({ch.id: ch for c in cands for ch in c.chunks}.values())
    for ch in chunks:  # then other dated sentences of the same passages
        for s, e in _spans(ch.text):
            text = ch.text[s:e].strip()
            if len(analyze(text)) >= 3:
                dated(text, [ch.doc_id])
    have = {n for ev in events for n in ev.citations}
    fallback = 0
    for c in sorted(cands, key=lambda c: numbers[c.doc]):  # key articles: cited first
        if fallback >= TIMELINE_FALLBACK:
            break
        if numbers[c.doc] not in have and iso_date(c.chunks[0].date):
            have.add(numbers[c.doc])
            fallback += 1
            add(iso_date(c.chunks[0].date), _clause(c.text, 0, 0), [c.doc])
    return tuple(sorted(events, key=lambda ev: (ev.date, ev.citations)))
