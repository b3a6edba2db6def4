"""The built-in reader: training end to end on a tiny model, the shipped weights, ONNX parity
with torch, the rerank paths, and the setting."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from rag.config import load_settings
from rag.errors import ConfigError
from rag.index import reader as R
from rag.retrieval.rerank import reader_rerank, window
from rag.text.arabic import analyze
from rag.types import Chunk, Hit

WORDS = ("متى تأسست جامعة الرصد في عام 1990 المدينة الشمالية أسعار القمح ارتفعت معرض الكتاب افتتح "
         "السلة فاز الفريق من هو رئيس البلدية انتخب الشهر الماضي query: passage:").split()


def tiny_base(folder):
    """A random 2-layer BertModel folder with a word-level tokenizer over WORDS: the shape of the
    prepared e5 folder, small enough to export and train in seconds."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    torch.manual_seed(0)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{w: i + 4 for i, w in enumerate(dict.fromkeys(WORDS))}}
    cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=64, max_position_embeddings=64, pad_token_id=1)
    transformers.BertModel(cfg, add_pooling_layer=False).save_pretrained(str(folder))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "PREPARED.json").write_text(json.dumps({"converter": 0, "model": "tiny"}))
    return folder


GROUPS = [
    {"set": "arcd", "id": "t1", "split": "tune", "query": "متى تأسست جامعة الرصد",
     "pos": "تأسست جامعة الرصد في عام 1990", "neg": ["أسعار القمح ارتفعت الشهر الماضي", "معرض الكتاب افتتح"]},
    {"set": "news", "id": "t2", "split": "tune", "query": "من هو رئيس البلدية",
     "pos": "انتخب رئيس البلدية الشهر الماضي", "neg": ["فاز الفريق السلة", "أسعار القمح ارتفعت"]},
    {"set": "weak", "id": "w1", "split": "weak", "query": "معرض الكتاب",
     "pos": "معرض الكتاب افتتح في المدينة الشمالية", "neg": ["فاز الفريق", "جامعة الرصد"]},
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """evals.train_reader run end to end over the tiny base for a few steps."""
    from evals import train_reader

    root = tmp_path_factory.mktemp("reader")
    base = tiny_base(root / "base")
    groups = root / "groups.jsonl"
    groups.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GROUPS), encoding="utf-8")
    out = root / "weights"
    rc = train_reader.main(["--groups", str(groups), "--out", str(out), "--base", str(base), "--work",
                            str(root / "work"), "--epochs", "2", "--batch-groups", "2", "--frozen-layers", "1",
                            "--trained-layers", "1", "--max-tokens", "16"])
    assert rc == 0
    return base, out, root


def test_training_writes_fp16_weights_and_provenance(trained):
    from safetensors.numpy import load_file

    _, out, _ = trained
    info = json.loads((out / R.READER_INFO).read_text(encoding="utf-8"))
    assert info["spec"]["frozen_layers"] == 1 and info["spec"]["hidden"] == 32
    assert info["data"]["groups"] == {"arcd": 1, "news": 1, "weak": 1}
    assert info["training"]["steps"] == 4 and info["base_model"] == "tiny"
    weights = load_file(str(out / R.READER_WEIGHTS))
    assert weights["head.weight"].shape == (1, 32) and all(v.dtype == np.float16 for v in weights.values())


def test_the_frozen_layers_export_is_redone_for_a_re_prepared_base(tmp_path):
    """The training cache of the frozen layers is keyed by the base's PREPARED.json too."""
    from evals.train_reader import lower_export_path

    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    (base / "PREPARED.json").write_text(json.dumps({"converter": 1}))
    spec = R.ReaderSpec()
    first = lower_export_path(base, spec, tmp_path)
    assert lower_export_path(base, spec, tmp_path) == first
    (base / "PREPARED.json").write_text(json.dumps({"converter": 2}))
    assert lower_export_path(base, spec, tmp_path) != first


def test_training_refuses_check_half_groups(tmp_path):
    from evals import train_reader

    bad = tmp_path / "g.jsonl"
    bad.write_text(json.dumps({**GROUPS[0], "split": "check"}) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="tune halves only"):
        train_reader.read_groups([bad])


def test_onnx_scores_match_torch(trained, tmp_path):
    import torch

    base, out, _ = trained
    settings = load_settings(env={}, data_dir=tmp_path / "d", model_dir=tmp_path / "models")
    reader = R.BuiltinReader(settings, out, base=base)
    assert R.onnx_path(settings, base, out).is_file()  # built once into the model dir, keyed by the weights
    model, spec = R.torch_reader(base, out)
    q, texts = "متى تأسست جامعة الرصد", ["تأسست جامعة الرصد في عام 1990", "فاز الفريق", "معرض الكتاب افتتح في المدينة"]
    ids, mask = R.pad(R.pair_ids(reader.tokenizer, q, texts, spec))
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    assert np.abs(np.array(reader.score(q, texts)) - expected).max() < 1e-3
    assert reader.score(q, texts[1:2]) == reader.score(q, texts)[1:2]  # memoised per pair


def test_pairs_are_cut_to_the_spec(trained):
    base, out, _ = trained
    spec = R.ReaderSpec.from_info(R.read_info(out))
    tok = R.load_tokenizer(base)
    ids = R.pair_ids(tok, "متى تأسست جامعة الرصد " * 20, ["أسعار القمح ارتفعت " * 30], spec)[0]
    assert len(ids) <= spec.max_tokens and ids[0] == R.BOS and ids[-1] == R.EOS


def test_the_shipped_weights_load_and_are_small():
    from safetensors.numpy import load_file

    info = R.read_info()
    spec = R.ReaderSpec.from_info(info)
    path = R.PACKAGED / R.READER_WEIGHTS
    assert path.stat().st_size < 8 * 2**20
    weights = load_file(str(path))
    assert weights["head.weight"].shape == (1, spec.hidden)
    assert {k.split(".")[1] for k in weights if k.startswith("layers.")} == {str(i) for i in range(spec.trained_layers)}
    assert all(v.dtype == np.float16 for v in weights.values())
    assert info["base_model"] == "intfloat/multilingual-e5-small" and info["data"]["groups"]


def test_a_missing_reader_file_is_a_clear_error(tmp_path):
    from rag.errors import ModelUnavailableError

    with pytest.raises(ModelUnavailableError, match="RAG_READER=off"):
        R.read_info(tmp_path)


# --- the rerank paths -----------------------------------------------------------------------

class ScoreBook:
    """A reader whose scores are given per text."""

    passage_prior = 0.0
    sentence_weight = 1.0

    def __init__(self, scores):
        self.scores = scores
        self.calls = []

    def score(self, query, texts):
        self.calls.append(list(texts))
        return [self.scores.get(t, 0.0) for t in texts]


def hit(cid, text, score):
    return Hit(Chunk(id=cid, doc_id=cid, text=text, ordinal=0, start=0, end=len(text)), score)


def test_passages_are_reordered_as_the_reader_scores_their_best_sentence():
    hits = [hit("a", "أسعار القمح ارتفعت. معرض الكتاب افتتح.", 1.0),
            hit("b", "فاز الفريق. تأسست جامعة الرصد في عام 1990.", 0.9), hit("c", "نص آخر", 0.8)]
    book = ScoreBook({"تأسست جامعة الرصد في عام 1990.": 5.0, "أسعار القمح ارتفعت.": 1.0})
    q = "متى تأسست جامعة الرصد"
    assert window(set(analyze(q)), hits[1]) == "تأسست جامعة الرصد في عام 1990."
    out = reader_rerank(q, hits, book, prior=0.0)
    assert [h.chunk.id for h in out] == ["b", "a", "c"]
    assert out[0].score == pytest.approx(5.0)
    # a large prior keeps the fused order
    assert [h.chunk.id for h in reader_rerank(q, hits, book, prior=100.0)] == ["a", "b", "c"]
    # only the head is read
    assert [h.chunk.id for h in reader_rerank(q, hits, book, prior=0.0, n=2)][2] == "c"


def test_the_answer_ranking_head_follows_the_reader():
    from rag.answering.sentences import Sentence, with_reader

    s = [Sentence(i, f"s{i}", (), frozenset()) for i in range(4)]
    ranked = [(3.0, s[0]), (2.0, s[1]), (1.0, s[2]), (0.0, s[3])]
    out = with_reader(ranked, [0.0, 4.0, 0.0], 1.0)
    assert [x.text for _, x in out] == ["s1", "s0", "s2", "s3"]
    assert with_reader(ranked, [], 1.0) == ranked


def test_the_retriever_uses_the_reader_and_a_users_cross_encoder_wins(tmp_path):
    from rag.retrieval.hybrid import HybridRetriever
    from tests.index.docs import doc, store_of

    docs = [doc("fin", "تمويل الجماعات المتطرفة عبر الجمعيات الخيرية", "2019-01-01"),
            doc("rec", "تمويل التجنيد عبر الإنترنت للشباب", "2019-02-01")]
    store = store_of(tmp_path, docs)
    q = "تمويل الجماعات"
    plain = HybridRetriever(store.settings, store).search(q, k=2)
    last = plain[-1].chunk.text
    book = ScoreBook({last: 10.0})
    ours = HybridRetriever(store.settings, store, reader=book).search(q, k=2)
    assert ours[0].chunk.text == last and book.calls

    class Theirs:
        def score(self, query, texts):
            return [1.0 if t == plain[0].chunk.text else 0.0 for t in texts]

    book.calls.clear()
    book.passage_prior = None  # fitted as no better than the fused order: the passage rerank is not run
    assert HybridRetriever(store.settings, store, reader=book).search(q, k=2) == plain and not book.calls
    theirs = HybridRetriever(replace(store.settings, reranker_model="x"), store, reranker=Theirs(), reader=book)
    assert theirs.search(q, k=2)[0].chunk.text == plain[0].chunk.text and not book.calls


def test_the_reader_setting_is_validated(tmp_path):
    assert load_settings(env={}, data_dir=tmp_path).reader == "off"
    assert load_settings(env={"RAG_READER": "builtin"}, data_dir=tmp_path).reader == "builtin"
    with pytest.raises(ConfigError, match="reader"):
        load_settings(env={"RAG_READER": "bogus"}, data_dir=tmp_path)
    assert R.get_reader(load_settings(env={}, data_dir=tmp_path)) is None


# --- slow tier: the real model --------------------------------------------------------------

@pytest.mark.slow
def test_the_shipped_reader_matches_torch_on_the_real_model(tmp_path):
    import torch

    from rag.index.model_prep import default_model_path, is_prepared

    settings = load_settings(env={})
    base = default_model_path(settings)
    if not is_prepared(base):
        pytest.skip("the prepared model is absent: run `rag prepare-model`")
    reader = R.BuiltinReader(replace(settings, model_dir=tmp_path), base=base)
    model, spec = R.torch_reader(base)
    q = "متى تأسست جامعة الرصد؟"
    texts = ["تأسست جامعة الرصد عام 1990 في المدينة الشمالية.", "ارتفعت أسعار القمح في الأسواق هذا الأسبوع."]
    ids, mask = R.pad(R.pair_ids(reader.tokenizer, q, texts, spec))
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    got = np.array(reader.score(q, texts))
    assert np.abs(got - expected).max() < 1e-3
    assert got[0] > got[1]
