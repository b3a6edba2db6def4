"""Conversation history for the chat: one SQLite file in the data dir, conversations per user.

A conversation is a list of turns as the chat keeps them (question, answer payload, rendered HTML,
filters). The user is the login name when login is on, otherwise a random id the browser keeps
(gr.BrowserState), so two people never see each other's conversations. Plain sqlite3, no Gradio.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL,
  updated REAL NOT NULL, turns TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations(user, updated);
"""


def history_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "conversations.sqlite"


class ConversationStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.db = sqlite3.connect(str(self.path), check_same_thread=False)
        self.db.executescript(SCHEMA)

    def save(self, user: str, turns: list[dict], conversation_id: str | None = None) -> str:
        """Create or replace a conversation of `user`; returns its id. Another user's id is never
        overwritten: it starts a new conversation instead."""
        now = time.time()
        title = (turns[0]["question"] if turns else "")[:80]
        with self._lock, self.db:
            row = self.db.execute("SELECT user FROM conversations WHERE id=?", (conversation_id or "",)).fetchone()
            if row and row[0] == user:
                self.db.execute("UPDATE conversations SET turns=?, updated=?, title=? WHERE id=?",
                                (json.dumps(turns, ensure_ascii=False), now, title, conversation_id))
                return conversation_id
            cid = uuid.uuid4().hex[:12]
            self.db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                            (cid, user, title, now, now, json.dumps(turns, ensure_ascii=False)))
            return cid

    def list(self, user: str) -> list[dict]:
        """The user's conversations, newest first: id, title, turns count, updated (ISO time)."""
        rows = self.db.execute("SELECT id, title, updated, turns FROM conversations WHERE user=? "
                               "ORDER BY updated DESC", (user,)).fetchall()
        return [{"id": i, "title": t, "turns": len(json.loads(turns)),
                 "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(u))} for i, t, u, turns in rows]

    def get(self, user: str, conversation_id: str) -> list[dict] | None:
        row = self.db.execute("SELECT turns FROM conversations WHERE id=? AND user=?",
                              (conversation_id or "", user)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, user: str, conversation_id: str) -> int:
        with self._lock, self.db:
            return self.db.execute("DELETE FROM conversations WHERE id=? AND user=?",
                                   (conversation_id or "", user)).rowcount
