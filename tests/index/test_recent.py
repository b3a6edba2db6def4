"""The embedders' memory of recent vectors: what several users asking at once share."""
from __future__ import annotations

import threading

import numpy as np

from rag.config import load_settings
from rag.index.embeddings import SentenceTransformerEmbedder
from rag.index.recent import RecentVectors


class Counting:
    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return np.stack([np.full(4, float(len(t)), dtype=np.float32) for t in texts]) if texts else np.zeros((0, 4))


def test_only_the_texts_not_held_are_computed_in_one_call_and_rows_keep_their_order():
    memo, compute = RecentVectors(10), Counting()
    memo.many(["aa", "b"], compute)
    out = memo.many(["ccc", "aa", "ccc", "b"], compute)
    assert compute.calls == [["aa", "b"], ["ccc"]]
    assert out[:, 0].tolist() == [3, 2, 3, 1]
    assert not out.flags.writeable
    assert (memo.hits, memo.misses) == (3, 3)
    assert memo.many([], compute).shape[0] == 0


def test_the_least_recently_used_text_goes_first():
    memo, compute = RecentVectors(2), Counting()
    memo.many(["a", "b"], compute)
    memo.many(["a"], compute)  # a is now the most recent
    memo.many(["c"], compute)  # b goes
    memo.many(["a", "b"], compute)
    assert compute.calls[-1] == ["b"]


def test_one_returns_the_held_vector_itself():
    memo = RecentVectors(4)
    first = memo.one("q", lambda t: np.ones(3))
    assert memo.one("q", lambda t: np.zeros(3)) is first and not first.flags.writeable


def test_threads_asking_at_once_each_get_the_vectors_of_their_own_texts():
    memo, errors = RecentVectors(50), []

    def user(u):
        for j in range(200):
            texts = [f"{u}-{j % 30}", f"shared-{j % 7}", "x" * (u + 1)]
            out = memo.many(texts, lambda ts: np.stack([np.full(2, float(hash(t) % 1000)) for t in ts]))
            if out[:, 0].tolist() != [float(hash(t) % 1000) for t in texts]:
                errors.append((u, j))

    threads = [threading.Thread(target=user, args=(u,)) for u in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(memo._items) <= 50


def test_a_question_is_embedded_once_though_other_users_questions_come_in_between(tmp_path, monkeypatch):
    emb = SentenceTransformerEmbedder(load_settings(env={}, data_dir=tmp_path))
    seen: list[str] = []
    monkeypatch.setattr(emb, "_embed_query", lambda t: seen.append(t) or np.ones(4, dtype=np.float32))
    monkeypatch.setattr(emb, "embed_documents", Counting())
    emb.embed_query("سؤال المستخدم الأول")  # retrieval
    emb.embed_query("سؤال المستخدم الثاني")  # another user's retrieval in between
    emb.embed_query("سؤال المستخدم الأول")  # the first user's answerer
    assert seen == ["سؤال المستخدم الأول", "سؤال المستخدم الثاني"]
    emb.embed_sentences(["جملة أولى", "جملة ثانية"])
    emb.embed_sentences(["جملة ثانية", "جملة ثالثة"])  # another question over the same passage
    assert emb.embed_documents.calls == [["جملة أولى", "جملة ثانية"], ["جملة ثالثة"]]
