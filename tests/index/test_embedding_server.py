"""Embeddings from an OpenAI-compatible server (RAG_EMBEDDING_URL), against a real HTTP server on
loopback that the test starts (tests/embedding_server.py).

Fast tier: the server embeds with the hashing embedder (batching, the concurrency bound, retries,
a server that is down, the manifest). Slow tier: it serves the real offline model, and the
vectors equal the in-process ones.
"""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from rag.config import load_settings
from rag.errors import EmbeddingServerError, IndexMismatchError
from rag.index.embedding_server import EmbeddingClient, ServerEmbedder, endpoint
from rag.index.embeddings import get_embedder
from rag.index.model_prep import default_model_path, is_prepared
from rag.services import open_archive, open_index
from tests.embedding_server import EmbeddingServer, hashing_encoder, real_encoder
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, make_archive

TEXTS = [f"تتناول الفقرة {i} موضوع تمويل الجماعات المتطرفة في عام {2000 + i}" for i in range(70)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tokenizer_dir(tmp_path):
    """A word-level tokenizer.json: what chunking counts with, standing in for the served model's."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    folder = tmp_path / "served-model"
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    return folder


def _settings(tmp_path, url, tokenizer_dir=None, **kw):
    extra = {"embedding_model": str(tokenizer_dir)} if tokenizer_dir else {}
    return load_settings(env={}, data_dir=tmp_path / "data", model_dir=tmp_path / "models", embedding_url=url,
                         **extra, **kw)


def _remote(settings, sleeps=None):
    return ServerEmbedder(settings, backoff_s=0.5, sleep=(sleeps.append if sleeps is not None else time.sleep))


def test_the_endpoint_accepts_a_host_a_v1_base_or_the_full_path():
    assert endpoint("127.0.0.1:8080") == "http://127.0.0.1:8080/v1/embeddings"
    assert endpoint("http://h:1/v1/") == "http://h:1/v1/embeddings"
    assert endpoint("https://api.example.com/v1/embeddings") == "https://api.example.com/v1/embeddings"


def test_the_factory_picks_the_server_when_a_url_is_set(tmp_path):
    assert isinstance(get_embedder(_settings(tmp_path, "http://127.0.0.1:9")), ServerEmbedder)
    assert not isinstance(get_embedder(_settings(tmp_path, "")), ServerEmbedder)


def test_prompts_are_added_here_and_vectors_normalized_in_order(tmp_path):
    fake = FakeEmbedder()
    with EmbeddingServer(hashing_encoder(), model="served-a", scale=3.0) as srv:
        remote = _remote(_settings(tmp_path, srv.url, embed_batch_size=8))
        docs = remote.embed_documents(TEXTS[:20])
        q = remote.embed_query("من يمول الجماعات المتطرفة؟")
    assert all(t.startswith("passage: ") for r in srv.requests[:-1] for t in r)
    assert srv.requests[-1] == ["query: من يمول الجماعات المتطرفة؟"]
    expected = np.stack([fake._vec("passage: " + t) for t in TEXTS[:20]])
    assert docs.dtype == np.float32 and np.allclose(docs, expected, atol=1e-6)  # order kept, norm 1
    assert np.allclose(q, fake._vec("query: من يمول الجماعات المتطرفة؟"), atol=1e-6)
    assert remote.model_id == "served-a" and remote.dimension == 64


def test_documents_go_in_batches_with_a_bounded_number_in_flight(tmp_path):
    with EmbeddingServer(hashing_encoder(), delay_s=0.15) as srv:
        remote = _remote(_settings(tmp_path, srv.url, embed_batch_size=8, embedding_concurrency=3))
        t0 = time.perf_counter()
        docs = remote.embed_documents(TEXTS)  # 70 texts: 9 batches
        took = time.perf_counter() - t0
    assert sorted(len(r) for r in srv.requests) == [6] + [8] * 8
    assert srv.max_in_flight == 3  # several at once, never more than the bound
    assert took < 9 * 0.15  # overlapped, not one after another
    assert np.allclose(docs, np.stack([FakeEmbedder()._vec("passage: " + t) for t in TEXTS]), atol=1e-6)


def test_a_failing_batch_is_retried_with_exponential_back_off(tmp_path):
    sleeps: list[float] = []
    with EmbeddingServer(hashing_encoder()) as srv:
        remote = _remote(_settings(tmp_path, srv.url, embedding_retries=4), sleeps)
        remote.embed_query("تمهيد")
        srv.fail_next(2, 503)
        srv.fail_next(1, 429, Retry_After="3")
        vec = remote.embed_query("سؤال عن التمويل")
    assert vec.shape == (64,) and len(srv.requests) == 5
    assert 0.5 <= sleeps[0] <= 0.6 and 1.0 <= sleeps[1] <= 1.2  # doubling, with a little jitter
    assert 3.0 <= sleeps[2] <= 3.6  # 429: the server's Retry-After


def test_a_server_that_is_down_raises_a_typed_error_naming_its_url(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    sleeps: list[float] = []
    remote = _remote(_settings(tmp_path, url, embedding_retries=3), sleeps)
    with pytest.raises(EmbeddingServerError, match=f"{url}/v1/embeddings.*4 attempts.*RAG_EMBEDDING_URL") as e:
        remote.embed_query("سؤال")
    assert e.value.url == f"{url}/v1/embeddings" and len(sleeps) == 3


def test_a_refused_request_is_not_retried(tmp_path):
    with EmbeddingServer(hashing_encoder()) as srv:
        srv.fail_next(1, 401)
        remote = _remote(_settings(tmp_path, srv.url), [])
        with pytest.raises(EmbeddingServerError, match="HTTP 401.*RAG_EMBEDDING_API_KEY"):
            remote.embed_query("سؤال")
    assert len(srv.requests) == 1


def test_the_api_key_is_sent_as_a_bearer_token(tmp_path):
    seen = {}
    with EmbeddingServer(hashing_encoder()) as srv:
        client = EmbeddingClient(srv.url, "m", "s3cret")
        handler = srv._server.RequestHandlerClass
        original = handler.do_POST

        def spy(self):
            seen["auth"] = self.headers.get("Authorization")
            original(self)

        handler.do_POST = spy
        client.embed(["x"])
    assert seen["auth"] == "Bearer s3cret"


def test_the_index_records_the_served_model_and_refuses_another(tmp_path, tokenizer_dir):
    arch = make_archive(tmp_path / "arch", 3)
    with EmbeddingServer(hashing_encoder(), model="served-a") as a:
        s = _settings(tmp_path, a.url, tokenizer_dir, embed_batch_size=4)
        report = ingest(s, [arch], _remote(s))
        assert report.added == 3 and report.chunks > 0
        store = open_index(s, embedder=_remote(s))
        assert store.manifest()["embedding_model"] == "served-a"
        assert store.stats()["embeddings"] == f"{a.url}/v1/embeddings"
        hits = open_archive(s, store=store).retriever.search("أمن الحدود", k=2, mode="dense")
        assert hits and "أمن الحدود" in hits[0].chunk.title
    with EmbeddingServer(hashing_encoder(), model="served-b") as b:
        s_b = s.replace(embedding_url=b.url)
        with pytest.raises(IndexMismatchError, match=f"{b.url}/v1/embeddings serves 'served-b'.*RAG_EMBEDDING_URL"
                                                     ".*--rebuild"):
            open_index(s_b, embedder=_remote(s_b))


def test_a_server_swapped_mid_run_is_refused(tmp_path):
    srv = EmbeddingServer(hashing_encoder(), model="served-a")
    with srv:
        remote = _remote(_settings(tmp_path, srv.url))
        assert remote.model_id == "served-a"
        srv.model = "served-b"
        with pytest.raises(EmbeddingServerError, match="now serves 'served-b'"):
            remote.embed_documents(["نص"])


def test_the_cli_names_the_url_when_the_server_is_down(tmp_path, tokenizer_dir, monkeypatch, capsys):
    from ui.cli import main

    with EmbeddingServer(hashing_encoder(), model="served-a") as srv:
        s = _settings(tmp_path, srv.url, tokenizer_dir)
        ingest(s, [make_archive(tmp_path / "arch", 2)], _remote(s))
        url = srv.url
    monkeypatch.setenv("RAG_EMBEDDING_URL", url)
    monkeypatch.setenv("RAG_EMBEDDING_RETRIES", "1")
    monkeypatch.setenv("RAG_MODEL_DIR", str(tmp_path / "models"))
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path / "data"), "--model", str(tokenizer_dir), "search", "أمن"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rag: error: the embedding server at " + url) and "Traceback" not in err
    assert err.count("\n") == 1


def test_callers_on_several_threads_share_the_bound(tmp_path):
    with EmbeddingServer(hashing_encoder(), delay_s=0.05) as srv:
        remote = _remote(_settings(tmp_path, srv.url, embed_batch_size=4, embedding_concurrency=2))
        threads = [threading.Thread(target=remote.embed_documents, args=(TEXTS[:16],)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert srv.max_in_flight == 2


# --- slow tier: the real offline model, served ------------------------------------------------

SAMPLES = ["جمال أحمد حمزة خاشقجي صحفي وإعلامي سعودي، رأس عدّة مناصب لعدد من الصحف في السعودية.",
           "ما هي عاصمة المغرب؟", "النص\tمع\nأسطر", "ارتفعت أسعار النفط في الأسواق العالمية بسبب تراجع الإنتاج.",
           "افتتحت وزارة الثقافة معرضاً للكتاب في الرياض، وشارك فيه أكثر من خمسمئة ناشر. " * 3, "كلمة"]


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory):
    s = load_settings(env={}, data_dir=tmp_path_factory.mktemp("served") / "data", device="cpu")
    if not is_prepared(default_model_path(s)):
        pytest.skip("the offline model is not prepared: run `rag prepare-model` (make test does)")
    return s


@pytest.mark.slow
def test_served_real_model_gives_the_in_process_vectors(real_settings, tmp_path):
    from ui.cli import DEMO_ARCHIVE

    local = get_embedder(real_settings)
    encode, name = real_encoder(real_settings)
    assert name == local.model_id
    with EmbeddingServer(encode, model=name, scale=1.0) as srv:
        s = real_settings.replace(embedding_url=srv.url, embed_batch_size=2, data_dir=tmp_path / "data")
        remote = get_embedder(s)
        docs, ref = remote.embed_documents(SAMPLES), local.embed_documents(SAMPLES)
        assert docs.shape == ref.shape
        assert (np.sum(docs * ref, axis=1) >= 1 - 1e-4).all(), np.sum(docs * ref, axis=1)
        for text in SAMPLES[:3]:
            assert float(remote.embed_query(text) @ local.embed_query(text)) >= 1 - 1e-4
        # An index built through the server reads in-process (same model id), with the same results.
        report = ingest(s, [DEMO_ARCHIVE], remote)
        assert report.added == 10 and max(len(r) for r in srv.requests) == 2
        q = "كم عدد المستفيدين في الدورة الأولى من برنامج مسار؟"
        served = [h.chunk.id for h in open_archive(s, embedder=remote).retriever.search(q, k=5)]
    in_process = [h.chunk.id for h in open_archive(s.replace(embedding_url=""), embedder=local).retriever.search(q, k=5)]
    assert served == in_process and served
