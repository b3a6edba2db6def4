"""Human ratings of answers and chat feedback, kept in one SQLite file.

Every call opens and closes its own connection: the Gradio app calls from several threads and a
sqlite3 connection must not cross threads. Tables are created on demand, so a fresh data dir
needs no setup. A rater's latest rating of an item replaces the earlier one, so agreement sees
one score per rater per item.

Identity: the app files a rating under the login name (the rater), and feedback under the user it
answered (`user`); feedback names an answer the server issued (`answers`: id, user, question,
payload, filters, time), so its question and answer are the server's, never the client's.
Issued answers are pruned after a retention period unless feedback names them (prune_answers).
"""
from __future__ import annotations

import csv
import json
import math
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

import numpy as np

from evals.agreement import weighted_kappa  # noqa: F401  (re-exported: its home was here)

CRITERIA = ("correct", "faithful", "citations_accurate", "complete")
SCALE = (1, 2, 3, 4, 5)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY,
    rater TEXT NOT NULL,
    item_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    faithful INTEGER NOT NULL,
    citations_accurate INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    timestamp TEXT NOT NULL,
    UNIQUE (rater, item_id)
);
CREATE TABLE IF NOT EXISTS judgements (
    id INTEGER PRIMARY KEY,
    judge TEXT NOT NULL,
    item_id TEXT NOT NULL,
    faithful INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    UNIQUE (judge, item_id)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    thumbs INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    mode TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    timestamp TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    answer_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    question TEXT NOT NULL,
    payload TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    timestamp TEXT NOT NULL
);
"""
# Columns added to a table after its first release: (table, column, declaration).
_ADDED = (("feedback", "user", "TEXT NOT NULL DEFAULT ''"), ("feedback", "answer_id", "TEXT NOT NULL DEFAULT ''"))
# Made once the added columns exist (an older file gets them first).
_INDEXES = """
CREATE INDEX IF NOT EXISTS answers_time ON answers(timestamp);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
"""
PRUNE_EVERY_S = 3600  # issuing answers prunes old ones at most this often


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_item_id(run_id: str, question_id: str) -> str:
    """Item id of an answer from an eval run."""
    return f"run:{run_id}/{question_id}"


def feedback_item_id(feedback_id: int) -> str:
    """Item id of an answer that came in through chat feedback."""
    return f"feedback:{feedback_id}"


@dataclass(frozen=True)
class Rating:
    rater: str
    item_id: str
    question: str
    answer: str
    correct: int
    faithful: int
    citations_accurate: int
    complete: int
    comment: str = ""
    timestamp: str = ""  # ISO 8601 UTC; filled in when stored if empty
    id: int | None = None

    def __post_init__(self):
        if not self.rater.strip():
            raise ValueError("a rating needs a rater name")
        if not self.item_id.strip():
            raise ValueError("a rating needs an item id")
        for name in CRITERIA:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
                raise ValueError(f"{name} must be an integer from 1 to 5, got {value!r}")


@dataclass(frozen=True)
class Feedback:
    thumbs: int  # +1 up, -1 down
    question: str
    answer: str
    comment: str = ""
    citations: list = field(default_factory=list)  # JSON-serializable, as the UI showed them
    mode: str = ""  # "extractive" | "llm"
    settings: dict = field(default_factory=dict)  # JSON-serializable retrieval/answer settings
    timestamp: str = ""
    id: int | None = None
    user: str = ""  # who was answered: the login name (or the app's anonymous key without login)
    answer_id: str = ""  # the issued answer this is about (RatingStore.issue_answer)

    def __post_init__(self):
        if isinstance(self.thumbs, bool) or self.thumbs not in (1, -1):
            raise ValueError(f"thumbs must be +1 or -1, got {self.thumbs!r}")


def where_equal(**columns) -> tuple[str, list]:
    """(" WHERE a = ? AND b = ?", [values]) for the columns given a value (None: any)."""
    given = [(c, v) for c, v in columns.items() if v is not None]
    return (" WHERE " + " AND ".join(f"{c} = ?" for c, _ in given) if given else ""), [v for _, v in given]


class RatingStore:
    """answer_retention_days: issued answers older than this are pruned (0: kept for ever), except
    those feedback names; see prune_answers."""

    def __init__(self, path: str | Path, answer_retention_days: int = 0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.answer_retention_days = answer_retention_days
        self._pruned_at = float("-inf")
        with closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            con.executescript(_SCHEMA)
            for table, column, decl in _ADDED:  # a ratings file from before the column existed
                have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
            con.executescript(_INDEXES)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as con:
            con.row_factory = sqlite3.Row
            con.executescript(_SCHEMA)
            with con:  # commits, or rolls back on error
                yield con

    def add(self, rating: Rating) -> int:
        """Store a rating (replacing this rater's earlier one of the item); returns its row id."""
        row = asdict(rating)
        row.pop("id")
        row["timestamp"] = rating.timestamp or now()
        cols = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        with self._connect() as con:
            cur = con.execute(f"INSERT OR REPLACE INTO ratings ({cols}) VALUES ({marks})", row)
            return cur.lastrowid

    def list(self, item_id: str | None = None, rater: str | None = None) -> list[Rating]:
        """Ratings, oldest first, optionally for one item and/or one rater."""
        where, args = where_equal(item_id=item_id, rater=rater)
        sql = "SELECT * FROM ratings" + where
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY timestamp, id", args).fetchall()
        return [Rating(**dict(r)) for r in rows]

    def export_csv(self, path_or_file: str | Path | IO[str], rater: str | None = None) -> int:
        """Write all ratings (or one rater's) as CSV; returns the row count.

        A path is written as UTF-8 with a BOM so spreadsheet programs show Arabic correctly.
        """
        names = [f.name for f in fields(Rating)]
        names = ["id"] + [n for n in names if n != "id"]
        ratings = self.list(rater=rater)
        if isinstance(path_or_file, (str, Path)):
            with open(path_or_file, "w", encoding="utf-8-sig", newline="") as f:
                _write_csv(f, names, ratings)
        else:
            _write_csv(path_or_file, names, ratings)
        return len(ratings)

    def agreement(self, criterion: str) -> dict:
        """Inter-rater agreement on one criterion over items rated by two or more raters.

        alpha: Krippendorff's alpha, ordinal. weighted_kappa: Cohen's kappa with quadratic
        weights, only when exactly two raters rated the shared items. None when not computable
        (no item rated twice, or no variation at all in the scores).
        """
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
        scores: dict[str, dict[str, int]] = {}  # item -> rater -> score
        for r in self.list():
            scores.setdefault(r.item_id, {})[r.rater] = getattr(r, criterion)
        shared = {item: by for item, by in scores.items() if len(by) >= 2}
        raters = sorted({name for by in shared.values() for name in by})
        result = {"criterion": criterion, "n_items": len(shared), "n_raters": len(raters),
                  "alpha": None, "weighted_kappa": None}
        if not shared:
            return result
        matrix = [[by.get(name, np.nan) for by in shared.values()] for name in raters]
        result["alpha"] = _alpha(matrix)
        if len(raters) == 2:
            result["weighted_kappa"] = weighted_kappa(*matrix)
        return result

    def add_judgements(self, judge: str, scores: dict[str, int]) -> int:
        """Keep an LLM judge's 1-5 faithfulness scores (replacing this judge's earlier ones of
        the same items), so judges can be compared with each other and with raters later."""
        if not judge.strip():
            raise ValueError("a judgement needs the judge's name")
        bad = {i: s for i, s in scores.items() if isinstance(s, bool) or s not in SCALE}
        if bad:
            raise ValueError(f"judge scores must be integers from 1 to 5, got {bad}")
        stamp = now()
        with self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO judgements (judge, item_id, faithful, timestamp) "
                            "VALUES (?, ?, ?, ?)", [(judge, i, s, stamp) for i, s in scores.items()])
        return len(scores)

    def judgements(self, judge: str | None = None) -> dict[str, dict[str, int]]:
        """judge -> item id -> faithfulness score, for one judge or all."""
        sql, args = "SELECT judge, item_id, faithful FROM judgements", []
        if judge is not None:
            sql, args = sql + " WHERE judge = ?", [judge]
        out: dict[str, dict[str, int]] = {}
        with self._connect() as con:
            for r in con.execute(sql + " ORDER BY timestamp, id", args):
                out.setdefault(r["judge"], {})[r["item_id"]] = r["faithful"]
        return out

    def add_feedback(self, feedback: Feedback) -> int:
        """Store a thumbs up/down from the chat; returns its id (see feedback_item_id). A user's
        later feedback on the same issued answer (a comment added after the thumb, the other
        thumb) replaces the earlier one in place: one row, one id, per user and answer."""
        row = asdict(feedback)
        row.pop("id")
        row["timestamp"] = feedback.timestamp or now()
        row["citations"] = json.dumps(feedback.citations, ensure_ascii=False)
        row["settings"] = json.dumps(feedback.settings, ensure_ascii=False)
        cols = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        with self._connect() as con:
            if feedback.answer_id and feedback.user:
                old = con.execute("SELECT id FROM feedback WHERE user = ? AND answer_id = ? ORDER BY id LIMIT 1",
                                  (feedback.user, feedback.answer_id)).fetchone()
                if old is not None:
                    sets = ", ".join(f"{c} = :{c}" for c in row)
                    con.execute(f"UPDATE feedback SET {sets} WHERE id = :id", {**row, "id": old["id"]})
                    return old["id"]
            return con.execute(f"INSERT INTO feedback ({cols}) VALUES ({marks})", row).lastrowid

    def remove_feedback(self, user: str, answer_id: str) -> int:
        """Withdraw a user's feedback on an issued answer (the thumb clicked again); rows removed."""
        with self._connect() as con:
            return con.execute("DELETE FROM feedback WHERE user = ? AND answer_id = ?", (user, answer_id)).rowcount

    def list_feedback(self, user: str | None = None) -> list[Feedback]:
        """Chat feedback, oldest first: everyone's, or one user's."""
        sql, args = "SELECT * FROM feedback", []
        if user is not None:
            sql, args = sql + " WHERE user = ?", [user]
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY timestamp, id", args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["citations"] = json.loads(d["citations"])
            d["settings"] = json.loads(d["settings"])
            out.append(Feedback(**d))
        return out

    def issue_answer(self, user: str, payload: dict, filters: dict | None = None) -> str:
        """Remember an answer given to `user` (payload: the JSON the client got); returns its id,
        which feedback must name (see get_answer)."""
        aid = secrets.token_hex(8)
        if self.answer_retention_days > 0 and time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self.prune_answers(self.answer_retention_days)
        with self._connect() as con:
            con.execute("INSERT INTO answers (id, user, question, payload, filters, timestamp) VALUES (?, ?, ?, ?, ?, ?)",
                        (aid, user, str(payload.get("question", "")), json.dumps(payload, ensure_ascii=False),
                         json.dumps(filters or {}, ensure_ascii=False), now()))
        return aid

    def prune_answers(self, older_than_days: float, at: datetime | None = None) -> int:
        """Forget issued answers older than `older_than_days` (before `at`, default now) that no
        feedback names: the table would otherwise grow with every answer. Answers with feedback
        stay, since feedback and the ratings of it refer to them. Returns how many went."""
        self._pruned_at = time.monotonic()
        cutoff = ((at or datetime.now(timezone.utc)) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
        with self._connect() as con:
            return con.execute("DELETE FROM answers WHERE timestamp < ? AND id NOT IN "
                               "(SELECT answer_id FROM feedback WHERE answer_id != '')", (cutoff,)).rowcount

    def get_answer(self, answer_id: str) -> dict | None:
        """An issued answer: {"id", "user", "question", "payload", "filters", "timestamp"}; None if unknown."""
        with self._connect() as con:
            r = con.execute("SELECT * FROM answers WHERE id = ?", (str(answer_id or ""),)).fetchone()
        if r is None:
            return None
        d = dict(r)
        d["payload"], d["filters"] = json.loads(d["payload"]), json.loads(d["filters"])
        return d


def _write_csv(f: IO[str], names: list[str], ratings: list[Rating]) -> None:
    writer = csv.DictWriter(f, fieldnames=names)
    writer.writeheader()
    for r in ratings:
        writer.writerow(asdict(r))


def _alpha(matrix: list[list[float]]) -> float | None:
    import krippendorff  # test/eval-only dependency, kept out of import time

    values = {v for row in matrix for v in row if not (isinstance(v, float) and math.isnan(v))}
    if len(values) < 2:  # no variation: expected disagreement is 0 and alpha undefined
        return None
    a = krippendorff.alpha(reliability_data=np.array(matrix, dtype=float),
                           level_of_measurement="ordinal", value_domain=list(SCALE))
    return round(float(a), 4) if math.isfinite(a) else None
