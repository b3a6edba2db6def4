"""Boilerplate across an archive's documents: disclaimers, bylines, agency credits, app notices.

A line such as "جميع المقالات المنشورة تمثل رأي كتابها فقط" or "فرانس24/ أ ف ب" is not evidence
for anything, but a single document cannot tell it from content. The archive can: such a
sentence recurs in many documents that otherwise share nothing. A factual sentence also recurs
(updated reports, near copies), but in documents that share other sentences too. So a sentence
is boilerplate when it stands in at least `min_docs` documents whose other sentences overlap by
less than `max_overlap` on average. The sentence index (one row per document and sentence hash)
is written with the documents; the verdicts are made at query time for the passages retrieved,
so they stay right as the archive grows. The thresholds are data (boilerplate.json).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rag.text.arabic import normalize, sentences

SCHEMA = """
CREATE TABLE IF NOT EXISTS doc_sentences (key INTEGER NOT NULL, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doc_sentences_key ON doc_sentences(key);
CREATE INDEX IF NOT EXISTS doc_sentences_doc ON doc_sentences(doc_id);
"""
MIN_WORDS = 3  # shorter pieces ("المصدر:") say nothing either way
HOLDERS = 6  # documents compared per recurring sentence


@cache
def thresholds() -> dict:
    return json.loads(Path(__file__).with_name("boilerplate.json").read_text(encoding="utf-8"))


def normal_form(sentence: str) -> str:
    """The sentence as compared across documents: normalised, spacing folded."""
    return " ".join(normalize(sentence).split())


def sentence_key(sentence: str) -> int | None:
    """A 63-bit hash of the normalised sentence, None when it is too short to judge."""
    form = normal_form(sentence)
    if form.count(" ") + 1 < MIN_WORDS:
        return None
    digest = hashlib.blake2b(form.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def keys_of(texts: Iterable[str]) -> dict[int, str]:
    """Sentence key -> the sentence, over the sentences of `texts`."""
    out: dict[int, str] = {}
    for text in texts:
        for a, b in sentences(text):
            k = sentence_key(text[a:b])
            if k is not None:
                out.setdefault(k, text[a:b])
    return out


def add(c: sqlite3.Connection, doc_id: str, texts: Iterable[str]) -> None:
    c.execute("DELETE FROM doc_sentences WHERE doc_id=?", (doc_id,))
    c.executemany("INSERT INTO doc_sentences VALUES (?, ?)", [(k, doc_id) for k in keys_of(texts)])


def remove(c: sqlite3.Connection, doc_ids: list[str]) -> None:
    for i in range(0, len(doc_ids), 500):
        part = doc_ids[i:i + 500]
        c.execute(f"DELETE FROM doc_sentences WHERE doc_id IN ({','.join('?' * len(part))})", part)


def _overlap(db: sqlite3.Connection, a: str, b: str, key: int) -> float:
    """Share of the smaller document's other sentences that the other document also holds."""
    shared = db.execute("SELECT COUNT(*) FROM doc_sentences x JOIN doc_sentences y ON x.key = y.key "
                        "WHERE x.doc_id=? AND y.doc_id=? AND x.key != ?", (a, b, key)).fetchone()[0]
    sizes = [db.execute("SELECT COUNT(*) FROM doc_sentences WHERE doc_id=?", (d,)).fetchone()[0] - 1
             for d in (a, b)]
    return shared / max(1, min(sizes))


def judge(db: sqlite3.Connection, keys: Iterable[int], cache: dict[int, bool]) -> set[int]:
    """The keys that are boilerplate in this archive; verdicts are kept in `cache`."""
    t = thresholds()
    todo = [k for k in set(keys) if k not in cache]
    for i in range(0, len(todo), 500):
        part = todo[i:i + 500]
        counts = dict(db.execute(
            f"SELECT key, COUNT(DISTINCT doc_id) FROM doc_sentences WHERE key IN ({','.join('?' * len(part))}) "
            "GROUP BY key", part).fetchall())
        for k in part:
            if counts.get(k, 0) < t["min_docs"]:
                cache[k] = False
                continue
            holders = [r[0] for r in db.execute(
                "SELECT DISTINCT doc_id FROM doc_sentences WHERE key=? LIMIT ?", (k, HOLDERS))]
            pairs = list(itertools.combinations(holders, 2))
            mean = sum(_overlap(db, a, b, k) for a, b in pairs) / len(pairs)
            cache[k] = mean < t["max_overlap"]
    return {k for k in keys if cache.get(k)}
