"""Fitted weights are data: the packaged files, a refit's files taking effect, malformed files refused."""
from __future__ import annotations

import json
import shutil

import pytest

from rag.answering import weights
from rag.answering.assistant import Assistant
from rag.answering.refusal import refusal_rule, should_refuse
from rag.answering.sentences import SENTENCE_FEATURES
from rag.errors import ConfigError
from tests.answering.test_assistant import Recorder
from tests.answering.test_extractive import LEAGUE, POET, FixedCosineEmbedder, make_hits

QUESTION = "متى تأسست جامعة الدول العربية؟"


def test_the_packaged_weights_are_the_fitted_numbers():
    m = weights.load()
    assert m.sentence.features == SENTENCE_FEATURES
    assert m.sentence.vector == (2.71, 0.11, 0.65, 2.53, -0.13, 2.02, 0.33, 18.63, -0.38, 0.44, 3.58, 1.86, 0.78)
    assert m.rerank.vector == (0.77, 15.6)
    r = m.refusal
    assert dict(r["dense"].weights) == {"prefix_coverage": 3.251, "agreement": 2.279, "dense_margin": 25.698,
                                        "dense_gap": 13.536, "root_coverage": 3.229, "sentence_cosine": 57.999}
    assert (r["dense"].bias, r["dense"].threshold) == (-51.61, 0.80)
    assert dict(r["lexical"].weights) == {"prefix_coverage": 4.027, "agreement": 4.156, "dense_margin": 31.487,
                                          "dense_gap": 27.428, "root_coverage": 3.188}
    assert (r["lexical"].bias, r["lexical"].threshold) == (-4.06, 0.80)
    assert dict(r["cross"].weights) == {"dense_margin": 98.112, "dense_gap": 71.957, "sentence_cosine": 41.337}
    assert (r["cross"].bias, r["cross"].threshold) == (-34.504, 0.50)
    assert dict(r["cross_dense"].weights) == {"dense_margin": 25.386, "dense_gap": 13.899}
    assert (r["cross_dense"].bias, r["cross_dense"].threshold) == (0.169, 0.6)
    for rule in (m.sentence, m.rerank, *r.values()):
        assert {"model", "data", "split", "command", "date", "held_out"} <= set(rule.provenance)
    assert weights.load() is m  # read once


def test_a_refit_written_to_a_folder_changes_decisions_without_editing_python(tmp_path, settings):
    hits = make_hits(LEAGUE, POET)
    lexical = weights.load().refusal["lexical"]
    assert not should_refuse(QUESTION, hits)
    for threshold, refused in ((1.0, True), (0.0, False)):
        folder = tmp_path / f"t{threshold}"
        weights.write(folder, refusal={"lexical": weights.Rule("lexical", lexical.weights, lexical.bias, threshold,
                                                               None, {"model": "test"})})
        models = weights.load(folder)
        assert models.refusal["lexical"].threshold == threshold and models.directory == folder
        assert should_refuse(QUESTION, hits, models=models) is refused
        a = Assistant(settings.replace(refusal_threshold=0.0), Recorder(hits), models=models).ask(QUESTION)
        assert a.refused is refused
    # The Setting still moves the Arabic rules' cut over the file's (0.0: the file's).
    assert should_refuse(QUESTION, hits, settings.replace(refusal_threshold=0.9999), models=weights.load(folder))


def test_a_cosine_rule_applies_only_to_the_model_recorded_in_its_file(tmp_path):
    e5 = FixedCosineEmbedder(0.9)
    assert refusal_rule(False, e5, weights.load()).name == "dense"
    assert refusal_rule(True, e5, weights.load()).name == "cross"
    assert refusal_rule(False, FixedCosineEmbedder(0.9, model_id="BAAI/bge-m3"), weights.load()).name == "lexical"
    assert refusal_rule(True, None, weights.load()).name == "cross_dense"
    dense = weights.load().refusal["dense"]
    weights.write(tmp_path, refusal={"dense": weights.Rule("dense", dense.weights, dense.bias, dense.threshold,
                                                           "BAAI/bge-m3", {"model": "BAAI/bge-m3"})})
    assert refusal_rule(False, e5, weights.load(tmp_path)).name == "lexical"  # e5 no longer fits it


def _broken(tmp_path, name, edit):
    shutil.copy(weights.PACKAGED / weights.ANSWERER, tmp_path)
    shutil.copy(weights.PACKAGED / weights.REFUSAL, tmp_path)
    path = tmp_path / name
    body = json.loads(path.read_text(encoding="utf-8"))
    edit(body)
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.mark.parametrize("name, edit, says", [
    (weights.ANSWERER, lambda b: b["sentence"]["features"].pop("bigram"), "the code's features"),
    (weights.ANSWERER, lambda b: b["rerank"].pop("bias"), "rerank.bias is missing"),
    (weights.REFUSAL, lambda b: b["rules"]["dense"]["features"].update(agreement=float("nan")), "finite number"),
    (weights.REFUSAL, lambda b: b["rules"]["dense"]["features"].update(coverge=1.0), "choose from"),
    (weights.REFUSAL, lambda b: b["rules"]["cross"].update(cosine_model=None), "cosine_model"),
    (weights.REFUSAL, lambda b: b["rules"]["lexical"]["features"].update(sentence_cosine=1.0), "any embedder"),
    (weights.REFUSAL, lambda b: b["rules"]["lexical"].update(threshold="0.8"), "threshold"),
    (weights.REFUSAL, lambda b: b["rules"].pop("cross_dense"), "'cross_dense' is missing"),
    (weights.REFUSAL, lambda b: b["rules"]["dense"].pop("provenance"), "provenance"),
])
def test_a_malformed_file_is_a_config_error_naming_it(tmp_path, name, edit, says):
    path = _broken(tmp_path, name, edit)
    with pytest.raises(ConfigError) as e:
        weights.load(tmp_path)
    assert str(path) in str(e.value) and says in str(e.value)


def test_unreadable_or_missing_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="missing"):
        weights.load(tmp_path)
    shutil.copy(weights.PACKAGED / weights.ANSWERER, tmp_path)
    (tmp_path / weights.REFUSAL).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        weights.load(tmp_path)
