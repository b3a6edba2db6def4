"""One Assistant serving many threads: each answer is the answer to its own question.

The embedder is the real SentenceTransformerEmbedder class (its query handling included) over a
fake encoder that sleeps a little, so threads interleave inside embedding calls; a tiny switch
interval makes them interleave between bytecodes too. Retrieval is the real hybrid retriever
over a real Chroma index on disk. On the code before the per-question analysis (module-level
cosine cache, embed_query's check-then-read of its last query) this test failed 0 of 30 runs:
those races were real in principle but too narrow to show; it guards the shared-state-free design.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from rag.answering.assistant import Assistant
from rag.index.embeddings import SentenceTransformerEmbedder
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, write_article

FACTS = [  # (subject, year, city): one article each, so each question has its own answer
    ("مكتبة الفجر", 1931, "طنجة"), ("جمعية النخيل", 1944, "صفاقس"), ("مدرسة الرواد", 1952, "حلب"),
    ("مستشفى الأمل", 1963, "وهران"), ("متحف الصحراء", 1971, "أسوان"), ("نادي الشروق", 1978, "إربد"),
    ("مجلة الأفق", 1983, "نابلس"), ("فرقة الأصيل", 1989, "مراكش"), ("مرصد الجبل", 1994, "أبها"),
    ("مركز الينابيع", 1999, "صلالة"), ("جامعة الساحل", 2003, "سوسة"), ("مسرح القلعة", 2007, "الكرك"),
    ("معهد البحار", 2011, "العقبة"), ("مصنع الزيتون", 2014, "جنين"), ("حديقة الواحة", 2017, "تبوك"),
    ("ملعب الوادي", 2020, "بسكرة"),
]
QUESTIONS = [f"متى تأسست {subject}؟" for subject, _, _ in FACTS]


class _SlowEncoder:
    """The ONNX encoder's interface over hashed vectors; sleeps so the GIL is released mid-call."""

    def __init__(self):
        self.fake = FakeEmbedder()

    def encode(self, texts, prompt, batch_size):
        time.sleep(0.002)
        return np.stack([self.fake._vec(t) for t in texts])


class SlowEmbedder(SentenceTransformerEmbedder):
    def __init__(self, settings):
        super().__init__(settings)
        self._model, self._dimension, self._source = _SlowEncoder(), 64, "fake"

    def count_tokens(self, text: str) -> int:
        return FakeEmbedder().count_tokens(text)


@pytest.fixture
def assistant(settings, tmp_path):
    settings = dataclasses.replace(settings, embedding_backend="onnx")
    emb = SlowEmbedder(settings)
    for i, (subject, year, city) in enumerate(FACTS):
        body = (f"تأسست {subject} في مدينة {city} عام {year} بمبادرة من أهالي المدينة.\n\n"
                f"وتستقبل {subject} زوارها طوال العام، وتنظم أنشطة ثقافية متنوعة.")
        write_article(tmp_path / "arch", f"a{i:02d}.txt", f"تاريخ {subject}", body)
    ingest(settings, [tmp_path / "arch"], emb)
    retriever = HybridRetriever(settings, Store(settings, emb))
    return Assistant(settings, lambda q, f, k: retriever.search(q, f, k), embedder=emb, repair=retriever.repair)


def _key(answer):
    return answer.text, answer.refused, tuple(c.chunk_id for c in answer.citations)


def test_sixteen_questions_from_eight_threads_get_their_own_answers(assistant):
    alone = {q: _key(assistant.ask(q)) for q in QUESTIONS}
    assert sum(str(year) in alone[q][0] for q, (_, year, _) in zip(QUESTIONS, FACTS)) >= 12  # a real test
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(3):
            with ThreadPoolExecutor(8) as pool:
                together = list(pool.map(lambda q: _key(assistant.ask(q)), QUESTIONS * 2))
            assert together == [alone[q] for q in QUESTIONS * 2]
    finally:
        sys.setswitchinterval(old)
