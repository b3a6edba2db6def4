"""Human ratings of briefings (1-5 per criterion), kept beside the answer ratings in the same
SQLite file, with the briefings they rate.

A briefing is stored once under a content id (a hash of its topic, filters and text), so two
raters who build the same briefing, or pick it from the saved ones, rate the same item; the
page they saw is kept with it. A rating is one row per criterion: rater (the login name in the
app), briefing id, topic, criterion, score, comment, timestamp; a rater's latest score of a
briefing on a criterion replaces the earlier one, so agreement sees one score per rater.
Agreement per criterion is Krippendorff's alpha (ordinal, evals.agreement) over briefings rated
by two or more raters, and quadratic-weighted Cohen's kappa when exactly two raters share them.
Every call opens and closes its own connection (the app calls from several threads).
"""
from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from evals.agreement import krippendorff_alpha, weighted_kappa
from evals.ratings import SCALE, now, where_equal

# What a trainer needs of a handout (issue 21): about the topic, each sentence under the right
# heading, the topic covered (sources, aspects, honest about gaps), citations that check out,
# readable prose.
CRITERIA = ("on_topic", "right_heading", "coverage", "citations", "readability")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS briefings (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    markdown TEXT NOT NULL,
    html TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL DEFAULT '',
    timestamp TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS briefing_ratings (
    id INTEGER PRIMARY KEY,
    rater TEXT NOT NULL,
    briefing_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    criterion TEXT NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    timestamp TEXT NOT NULL,
    UNIQUE (rater, briefing_id, criterion)
);
"""


def briefing_id(topic: str, filters: dict, text: str) -> str:
    """Content id of a briefing: the same topic, filters and text give the same id."""
    key = json.dumps([" ".join(topic.split()), filters, text], ensure_ascii=False, sort_keys=True)
    return "brief:" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SavedBriefing:
    id: str
    topic: str
    filters: dict
    markdown: str
    html: str
    user: str
    timestamp: str


@dataclass(frozen=True)
class BriefingRating:
    rater: str
    briefing_id: str
    topic: str
    criterion: str
    score: int
    comment: str = ""
    timestamp: str = ""
    id: int | None = None


class BriefingRatingStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as con:
            con.row_factory = sqlite3.Row
            con.executescript(_SCHEMA)
            with con:
                yield con

    # -- briefings ------------------------------------------------------------------------
    def save_briefing(self, topic: str, markdown: str, html: str = "", filters: dict | None = None,
                      user: str = "") -> str:
        """Keep a briefing (once: the same content keeps its first saver and time); its id."""
        if not topic.strip() or not markdown.strip():
            raise ValueError("a saved briefing needs a topic and its text")
        filters = filters or {}
        bid = briefing_id(topic, filters, markdown)
        with self._connect() as con:
            con.execute("INSERT OR IGNORE INTO briefings (id, topic, filters, markdown, html, user, timestamp) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (bid, " ".join(topic.split()), json.dumps(filters, ensure_ascii=False, sort_keys=True),
                         markdown, html, user, now()))
        return bid

    def briefing(self, bid: str) -> SavedBriefing | None:
        with self._connect() as con:
            r = con.execute("SELECT * FROM briefings WHERE id = ?", (str(bid or ""),)).fetchone()
        return _saved(r) if r else None

    def briefings(self) -> list[SavedBriefing]:
        """Saved briefings, newest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM briefings ORDER BY timestamp DESC, rowid DESC").fetchall()
        return [_saved(r) for r in rows]

    # -- ratings ---------------------------------------------------------------------------
    def rate(self, rater: str, bid: str, scores: dict[str, int], comment: str = "") -> int:
        """Store a rater's 1-5 score on each criterion of a saved briefing (replacing their
        earlier ones); returns the number of scores stored. Every criterion must be scored."""
        rater = (rater or "").strip()
        if not rater:
            raise ValueError("a briefing rating needs a rater name")
        saved = self.briefing(bid)
        if saved is None:
            raise ValueError(f"no saved briefing {bid!r}")
        missing = [c for c in CRITERIA if c not in scores]
        unknown = [c for c in scores if c not in CRITERIA]
        if missing or unknown:
            raise ValueError(f"score every criterion ({', '.join(CRITERIA)}); missing {missing}, unknown {unknown}")
        for c, s in scores.items():
            if isinstance(s, bool) or not isinstance(s, int) or s not in SCALE:
                raise ValueError(f"{c} must be an integer from 1 to 5, got {s!r}")
        stamp = now()
        with self._connect() as con:
            con.executemany(
                "INSERT OR REPLACE INTO briefing_ratings (rater, briefing_id, topic, criterion, score, comment, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(rater, saved.id, saved.topic, c, scores[c], comment or "", stamp) for c in CRITERIA])
        return len(CRITERIA)

    def ratings(self, briefing_id: str | None = None, rater: str | None = None) -> list[BriefingRating]:
        """Scores, oldest first, optionally of one briefing and/or one rater."""
        where, args = where_equal(briefing_id=briefing_id, rater=rater)
        sql = "SELECT * FROM briefing_ratings" + where
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY timestamp, id", args).fetchall()
        return [BriefingRating(**dict(r)) for r in rows]

    def summary(self, rater: str | None = None) -> list[dict]:
        """Per criterion: mean score, ratings, briefings, and agreement over the briefings that
        two or more raters scored (see agreement_of)."""
        return agreement_of(self.ratings(rater=rater))

    # -- export ----------------------------------------------------------------------------
    def export_csv(self, path_or_file: str | Path | IO[str], rater: str | None = None) -> int:
        """All scores (or one rater's), one row per criterion; UTF-8 with a BOM to a path."""
        rows = self.ratings(rater=rater)
        names = ["id", "rater", "briefing_id", "topic", "criterion", "score", "comment", "timestamp"]
        if isinstance(path_or_file, (str, Path)):
            with open(path_or_file, "w", encoding="utf-8-sig", newline="") as f:
                _write_csv(f, names, rows)
        else:
            _write_csv(path_or_file, names, rows)
        return len(rows)

    def export_json(self, path: str | Path, rater: str | None = None) -> int:
        """Scores, the per-criterion summary and when, as one JSON document to compare runs by."""
        rows = self.ratings(rater=rater)
        doc = {"exported": now(), "criteria": list(CRITERIA), "scale": list(SCALE),
               "summary": agreement_of(rows), "ratings": [asdict(r) for r in rows]}
        Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return len(rows)


def agreement_of(rows: Sequence[BriefingRating]) -> list[dict]:
    """One dict per criterion: criterion, mean, n_ratings, n_briefings, n_shared (briefings two
    or more raters scored), n_raters (of those), alpha (ordinal), weighted_kappa (two raters)."""
    out = []
    for c in CRITERIA:
        by: dict[str, dict[str, int]] = {}
        scores = []
        for r in rows:
            if r.criterion == c:
                by.setdefault(r.briefing_id, {})[r.rater] = r.score
                scores.append(r.score)
        shared = {b: s for b, s in by.items() if len(s) >= 2}
        raters = sorted({name for s in shared.values() for name in s})
        matrix = [[s.get(name) for s in shared.values()] for name in raters]
        alpha = krippendorff_alpha(matrix, "ordinal", SCALE) if shared else None
        kappa = weighted_kappa(*matrix, categories=SCALE) if len(raters) == 2 else None
        out.append({"criterion": c, "mean": round(sum(scores) / len(scores), 3) if scores else None,
                    "n_ratings": len(scores), "n_briefings": len(by), "n_shared": len(shared),
                    "n_raters": len(raters), "alpha": alpha, "weighted_kappa": kappa})
    return out


def _saved(r: sqlite3.Row) -> SavedBriefing:
    d = dict(r)
    d["filters"] = json.loads(d["filters"] or "{}")
    return SavedBriefing(**d)


def _write_csv(f: IO[str], names: list[str], rows: list[BriefingRating]) -> None:
    writer = csv.DictWriter(f, fieldnames=names)
    writer.writeheader()
    for r in rows:
        writer.writerow(asdict(r))
