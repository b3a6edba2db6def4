"""A bounded, thread-safe memory of recent text -> vector pairs (least recently used goes first).

Several users share one embedder in the app. One remembered query was not enough there: another
user's question replaced it between retrieval and the answer, so the same question was embedded
twice. And the answerer scores the sentences of the passages it is given, which come back for a
follow-up or for a second question about the same article.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

QUERY_MEMORY, SENTENCE_MEMORY = 256, 8192  # per embedder; at 384 dimensions ~1.5 KB a vector, ~20 MB in all


class RecentVectors:
    def __init__(self, size: int):
        self.size = size
        self.hits = self.misses = 0
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def one(self, text: str, compute: Callable[[str], np.ndarray]) -> np.ndarray:
        """The held vector itself (read-only): once stored, every call gets the same array."""
        with self._lock:
            vec = self._items.get(text)
            if vec is not None:
                self._items.move_to_end(text)
                self.hits += 1
                return vec
            self.misses += 1
        vec = np.array(compute(text), dtype=np.float32)
        vec.setflags(write=False)
        self._put({text: vec})
        return vec

    def _put(self, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            for t, v in items.items():
                self._items[t] = v
                self._items.move_to_end(t)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def many(self, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The vectors of `texts` in order (read-only rows), computing only the ones not held, in
        one call. The lock is not held while computing: two threads may compute the same text."""
        if not texts:
            return np.asarray(compute([]), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                if t in self._items:
                    self._items.move_to_end(t)
                    found[t] = self._items[t]
            missing = list(dict.fromkeys(t for t in texts if t not in found))
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if missing:
            new = {t: np.array(v, dtype=np.float32) for t, v in zip(missing, compute(missing), strict=True)}
            for v in new.values():
                v.setflags(write=False)
            self._put(new)
            found.update(new)
        out = np.stack([found[t] for t in texts])
        out.setflags(write=False)
        return out
