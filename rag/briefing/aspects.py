"""Aspects of a topic discovered from retrieved passages, without an LLM or embeddings.

Passages are clustered on TF-IDF over analyzed terms (spherical k-means, deterministic
farthest-point seeds) with the topic's own terms left out, since every passage shares them and
they would blur the split. Each cluster is named, in order of preference, by the section heading
its passages share (human-written, the best name when a cluster lines up with a section), by its
most distinctive multi-word noun phrase in the writers' own surface forms ("شبكات التهريب" reads
better than the stems), or by the lead of its best article's title. A name is never the topic's
own words, a publisher's name or a single generic word.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.text import lexicon
from rag.text.arabic import STOPWORDS, analyze, normalize, stem
from rag.types import Hit

# Words frequent in news and research prose that name no aspect on their own (with the stop words).
_NAMING_STOP = frozenset(normalize(w) for w in (*lexicon.words("naming_stop"), *STOPWORDS))
# Words a heading may contain but that say nothing alone or at a phrase's edge (stems).
_GENERIC = frozenset(stem(normalize(w)) for w in lexicon.words("generic_heading_words"))
_WORD = re.compile(r"[^\W\d_]{2,}")
_CLITIC = re.compile(r"^(?:[وف]?[بكل]?ال|لل|[وف]ال)")
_TITLE_SPLIT = re.compile(r"\.\.|…|:|؟|\?| - | – ")
_QUOTES = "«»\"'“”"
N_TERMS = 12  # distinctive terms kept per aspect, to tell on-aspect sentences from stray ones


class TfIdf:
    """TF-IDF over analyzed terms, L2-normalized rows; enough for clustering and MMR."""

    def __init__(self, texts: Sequence[str], drop: frozenset[str] = frozenset()):
        self.drop = drop
        docs = [self._terms(t) for t in texts]
        df = Counter(t for d in docs for t in set(d))
        self.vocab = {t: i for i, t in enumerate(sorted(df))}
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in sorted(df)], dtype=np.float32)

    def _terms(self, text: str) -> list[str]:
        return [t for t in analyze(text) if t not in self.drop and not t.isdigit()]

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        m = np.zeros((len(texts), max(len(self.vocab), 1)), dtype=np.float32)
        for r, text in enumerate(texts):
            for t, c in Counter(self._terms(text)).items():
                if t in self.vocab:
                    m[r, self.vocab[t]] = (1 + math.log(c)) * self.idf[self.vocab[t]]
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms == 0, 1, norms)


@dataclass
class Aspect:
    name: str
    hits: list[Hit] = field(default_factory=list)
    terms: frozenset[str] = frozenset()  # the cluster's most distinctive analyzed terms
    # other names its content allows (headings, key phrases, title leads), for a judge with an
    # embedder to choose among (rag.briefing.placement.choose_names); `name` is the lexical pick
    alternatives: tuple[str, ...] = ()

    def query(self, topic: str) -> str:
        return f"{topic} {self.name}".strip()

    @property
    def headings(self) -> set[str]:
        """The section headings of its passages (human-written names)."""
        return {_clean(h.chunk.section) for h in self.hits if h.chunk.section}


def discover_aspects(topic: str, hits: Sequence[Hit], max_aspects: int = 4) -> list[Aspect]:
    """Cluster `hits` (best first) into at most `max_aspects` named aspects, best-ranked first."""
    if not hits:
        return []
    topic_terms = frozenset(analyze(topic))
    texts = [_passage_text(h) for h in hits]
    tf = TfIdf(texts, drop=topic_terms)
    vecs = tf.transform(texts)
    k = max(1, min(max_aspects, len(hits), math.ceil(math.sqrt(len(hits) / 2))))
    labels = _kmeans(vecs, k)
    groups = [[i for i in range(len(hits)) if labels[i] == c] for c in range(k)]
    groups = [g for g in _merge_singletons(groups, vecs, len(hits)) if g]
    groups.sort(key=lambda g: min(g))  # the cluster holding the best hit leads
    names, alternatives = _names([[hits[i] for i in g] for g in groups], [g for g in groups], topic_terms)
    vocab = sorted(tf.vocab, key=tf.vocab.get)
    out = []
    for name, alts, g in zip(names, alternatives, groups):
        centroid = vecs[g].sum(axis=0)
        top = [vocab[j] for j in np.argsort(-centroid)[:N_TERMS] if centroid[j] > 0]
        out.append(Aspect(name, [hits[i] for i in g], frozenset(top) | frozenset(analyze(name)),
                          tuple(a for a in alts if a != name)))
    return out


def _passage_text(h: Hit) -> str:
    return f"{h.chunk.section}\n{h.chunk.text}" if h.chunk.section else h.chunk.text


def _kmeans(vecs: np.ndarray, k: int, iters: int = 15) -> list[int]:
    n = len(vecs)
    if k <= 1 or n <= k:
        return [0] * n if k <= 1 else list(range(n))
    seeds = [0]  # the top hit, then farthest-point seeding: deterministic and spread out
    while len(seeds) < k:
        sims = vecs @ vecs[seeds].T
        seeds.append(int(np.argmin(sims.max(axis=1))))
    centers = vecs[seeds].copy()
    labels = np.zeros(n, dtype=int)
    for _ in range(iters):
        new = np.argmax(vecs @ centers.T, axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = vecs[labels == c]
            if len(members):
                v = members.sum(axis=0)
                centers[c] = v / (np.linalg.norm(v) or 1)
    return labels.tolist()


def _merge_singletons(groups: list[list[int]], vecs: np.ndarray, n: int) -> list[list[int]]:
    """With enough passages, a one-passage cluster is noise: fold it into its nearest cluster."""
    if n < 8:
        return groups
    big = [g for g in groups if len(g) > 1]
    if not big:
        return groups
    for g in groups:
        if len(g) == 1:
            centers = np.stack([vecs[b].sum(axis=0) for b in big])
            big[int(np.argmax(centers @ vecs[g[0]]))].append(g[0])
    return [sorted(b) for b in big]


def _surface(word: str, lead: bool = True) -> str:
    """A word as a heading shows it: no diacritics or tatweel; leading a name, without its
    conjunction or preposition («والتهريب» -> «التهريب»); inside one, as written («والألومنيوم»)."""
    word = "".join(ch for ch in unicodedata.normalize("NFC", word) if not unicodedata.combining(ch))
    word = word.replace("\u0640", "")
    return _CLITIC.sub("ال", word, count=1) if lead and len(word) > 4 else word


_DEFINITE = re.compile(r"^[وفبكل]?(?:ال|لل)")


def _noun_phrase(words: Sequence[str]) -> bool:
    """No bare word after a definite one: in «السجون بعاملين» or «الإيراني محمد جواد» the bare
    word starts another phrase (an annexation runs bare -> definite, «وزير الخارجية»)."""
    seen = False
    for w in words:
        d = bool(_DEFINITE.match(normalize(w)))
        if seen and not d:
            return False
        seen = seen or d
    return True


def _clean(text: str) -> str:
    """Trim spaces and edge punctuation; drop quotes only where they wrap the whole text."""
    text = " ".join(text.split()).strip(" .،,؛-–")
    if len(text) > 2 and text[0] in _QUOTES and text[-1] in _QUOTES and \
            not any(q in text[1:-1] for q in _QUOTES):
        text = text[1:-1].strip()
    return text


def _edges(words: Sequence[str]) -> bool:
    """A name neither starts nor ends on a function word ("بعد التحريم", "رغم تغلغلها" are
    fragments of a sentence, not names)."""
    def function(w: str) -> bool:
        n = normalize(w)
        return n in _NAMING_STOP or (len(n) > 2 and n[0] in "وفبلك" and n[1:] in _NAMING_STOP)

    return bool(words) and not function(words[0]) and not function(words[-1])


def _content(words: Sequence[str], topic_terms: frozenset[str], meta: frozenset[str]) -> bool:
    """A name needs a word of its own: not the topic's, not generic, not the publisher's."""
    stems = [stem(normalize(w)) for w in words]
    return any(s not in topic_terms and s not in _GENERIC and s not in meta and
               normalize(w) not in _NAMING_STOP and len(s) >= 2 for w, s in zip(words, stems))


def _phrases(text: str, meta: frozenset[str]) -> dict[tuple[str, ...], str]:
    """Candidate key phrases of one passage: two- and three-word runs of content words with no
    punctuation between them, not starting or ending on a generic word; key (stems) -> surface."""
    out: dict[tuple[str, ...], str] = {}
    run: list[re.Match] = []

    def flush() -> None:
        for n in (2, 3):
            for i in range(len(run) - n + 1):
                words = [m.group() for m in run[i:i + n]]
                stems = tuple(stem(normalize(w)) for w in words)
                if {stems[0], stems[-1]} & (_GENERIC | meta):
                    continue
                if not normalize(words[-1]).startswith(("ال", "لل")) and n == 2 and not \
                        normalize(words[0]).startswith("ال"):
                    continue  # two bare words are rarely a noun phrase ("يعتمد التمويل" is)
                if not _noun_phrase(words):
                    continue
                out.setdefault(stems, " ".join(_surface(w, k == 0) for k, w in enumerate(words)))

    prev_end = None
    for m in _WORD.finditer(text):
        norm = normalize(m.group())
        ok = norm not in _NAMING_STOP and len(stem(norm)) >= 2
        gap = text[prev_end:m.start()] if prev_end is not None else ""
        if not ok or (run and gap.strip()):
            flush()
            run = []
        if ok:
            run.append(m)
        prev_end = m.end()
    flush()
    return out


def _section_name(hits: Sequence[Hit], weights: Sequence[float], topic_terms: frozenset[str],
                  meta: frozenset[str], taken: set[str]) -> tuple[str, float]:
    """The section heading carrying most of the cluster's weight, with that share."""
    mass: Counter = Counter()
    for h, w in zip(hits, weights):
        mass[_clean(h.chunk.section)] += w
    total = sum(weights) or 1.0
    for name, w in mass.most_common():
        words = _WORD.findall(name)
        if name and name not in taken and 1 <= len(words) <= 8 and _edges(words) and (
                len(words) > 1 or stem(normalize(words[0])) not in _GENERIC) and \
                _content(words, topic_terms, meta):
            return name, w / total
    return "", 0.0


def _title_name(h: Hit, topic_terms: frozenset[str], meta: frozenset[str], taken: set[str]) -> str:
    """The lead of an article's title ("السجون حواضن للتطرف.. كيف ..." -> its first part)."""
    for part in _TITLE_SPLIT.split(h.chunk.title or ""):
        part = _clean(part)
        words = _WORD.findall(part)
        if part and part not in taken and 2 <= len(words) <= 8 and _edges(words) and \
                _content(words, topic_terms, meta):
            return part
    return ""


N_ALTERNATIVES = 6  # key phrases offered per aspect besides its headings and title leads


def _names(groups: list[list[Hit]], indexes: list[list[int]],
           topic_terms: frozenset[str]) -> tuple[list[str], list[list[str]]]:
    """Name each group: an aligned section heading, else (one article) the lead of its title,
    else its most distinctive multi-word phrase, else any section heading or title lead; no
    name used twice. Also each group's alternatives: its section headings, its best key phrases
    and its articles' title leads, all passing the same filters."""
    meta = frozenset(stem(t) for g in groups for h in g
                     for t in analyze(f"{h.chunk.source} {h.chunk.author}"))
    per_group = []
    for hits in groups:
        df: Counter = Counter()
        surfaces: dict[tuple[str, ...], Counter] = {}
        for h in hits:
            for key, surf in _phrases(h.chunk.text, meta).items():
                df[key] += 1
                surfaces.setdefault(key, Counter())[surf] += 1
        per_group.append((df, surfaces, len(hits)))
    names: list[str] = []
    alternatives: list[list[str]] = []
    taken: set[str] = set()
    used: set[tuple[str, ...]] = set()
    for gi, (hits, idx) in enumerate(zip(groups, indexes)):
        weights = [1.0 / (1 + i) for i in idx]  # earlier hits are the more relevant ones
        section, share = _section_name(hits, weights, topic_terms, meta, taken)
        name = section if share >= 0.5 else ""
        if not name and len({h.chunk.doc_id for h in hits}) == 1:  # one article: its title
            name = _title_name(hits[0], topic_terms, meta, taken)
        df, surfaces, size = per_group[gi]
        others = [(d, s) for j, (d, _, s) in enumerate(per_group) if j != gi]

        def score(key: tuple[str, ...], df=df, size=size, others=others) -> float:
            inside = df[key] / size
            outside = max((d[key] / s for d, s in others), default=0.0)
            return inside - outside + 0.05 * (len(key) - 2) + 0.01 * df[key]

        def surface(key: tuple[str, ...], surfaces=surfaces) -> str:
            return surfaces[key].most_common(1)[0][0]

        keys = sorted((k for k in df if df[k] >= min(2, size)
                       and _content(surface(k).split(), topic_terms, meta)),
                      key=lambda k: (-score(k), -len(k), surface(k)))
        if not name:
            fresh = [k for k in keys if k not in used]
            if fresh:
                used.add(fresh[0])
                name = surface(fresh[0])
        name = name or section or _title_name(hits[0], topic_terms, meta, taken)
        taken.add(name)
        names.append(name)
        alts = [_clean(h.chunk.section) for h in hits] + [surface(k) for k in keys[:N_ALTERNATIVES]]
        if len({h.chunk.doc_id for h in hits}) == 1:  # a title names its own article only
            alts.append(_title_name(hits[0], topic_terms, meta, set()))
        alternatives.append([a for a in dict.fromkeys(alts) if a and _ok_name(a, topic_terms, meta)])
    return names, alternatives


def _ok_name(name: str, topic_terms: frozenset[str], meta: frozenset[str]) -> bool:
    words = _WORD.findall(name)
    return 2 <= len(words) <= 8 and _edges(words) and _content(words, topic_terms, meta) and (
        len(words) > 1 or stem(normalize(words[0])) not in _GENERIC)
