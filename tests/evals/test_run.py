"""`rag eval` end to end on a tiny gold set of our own, with the fake embedder and a real Chroma."""
import json
from pathlib import Path

import pytest

from evals.run import eval_index_dir, run_eval
from ingest.pipeline import run_ingest
from rag.errors import BadDocumentError, ConfigError
from tests.fakes import FakeEmbedder
from ui.cli import main

CONTEXTS = [
    ("c-nile", "نهر النيل", "نهر النيل أطول أنهار العالم، ويبلغ طوله نحو 6650 كيلومترا، ويصب في البحر "
     "الأبيض المتوسط عند دلتا مصر."),
    ("c-library", "مكتبة الإسكندرية", "افتتحت مكتبة الإسكندرية الجديدة عام 2002 على شاطئ البحر في مدينة "
     "الإسكندرية، وتضم ملايين الكتب والمخطوطات."),
    ("c-khaldun", "ابن خلدون", "ولد المؤرخ ابن خلدون في تونس عام 1332، وكتب المقدمة التي تعد من أوائل "
     "كتب علم الاجتماع."),
    ("c-coffee", "القهوة", "انتشرت زراعة القهوة في اليمن في القرن الخامس عشر، ومن ميناء المخا صدرت حبوب "
     "البن إلى أوروبا."),
    ("c-tower", "برج خليفة", "يقع برج خليفة في مدينة دبي، ويبلغ ارتفاعه 828 مترا، وافتتح رسميا في عام 2010."),
    ("c-script", "الخط العربي", "الخط الكوفي من أقدم أنواع الخط العربي، وقد استخدم في كتابة المصاحف الأولى "
     "ونقوش المساجد."),
]
QUESTIONS = [
    ("q1", "كم يبلغ طول نهر النيل؟", ["6650 كيلومترا"], "c-nile"),
    ("q2", "متى افتتحت مكتبة الإسكندرية الجديدة؟", ["2002"], "c-library"),
    ("q3", "أين ولد المؤرخ ابن خلدون؟", ["تونس"], "c-khaldun"),
    ("q4", "من أي ميناء صدرت حبوب البن إلى أوروبا؟", ["المخا"], "c-coffee"),
    ("q5", "كم يبلغ ارتفاع برج خليفة؟", ["828 مترا"], "c-tower"),
    ("q6", "ما أقدم أنواع الخط العربي؟", ["الخط الكوفي"], "c-script"),
    ("q7", "ما هي عاصمة أستراليا؟", [], None),
    ("q8", "كم عدد لاعبي فريق كرة السلة في الملعب؟", [], None),
]
DISTRACTORS = {
    "d1.txt": "مهرجان الزهور\n\nيقام مهرجان الزهور كل ربيع في الحديقة العامة ويزوره آلاف الزوار.",
    "d2.txt": "سباق الدراجات\n\nشارك مئة متسابق في سباق الدراجات الذي نظمه النادي الرياضي هذا العام.",
}
RETRIEVAL_KEYS = {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def gold(tmp_path):
    """(questions, contexts, distractor folder) files written from the fixture above."""
    root = tmp_path / "gold"
    root.mkdir()
    q = _jsonl(root / "tiny.questions.jsonl", [
        {"id": i, "question": t, "answers": a, "context_id": c, "context": None} for i, t, a, c in QUESTIONS])
    c = _jsonl(root / "tiny.contexts.jsonl", [
        {"context_id": i, "title": t, "text": x} for i, t, x in CONTEXTS])
    d = root / "distractors"
    d.mkdir()
    for name, text in DISTRACTORS.items():
        (d / name).write_text(text, encoding="utf-8")
    return q, c, d


def _run(settings, gold, emb=None, **kw):
    q, c, d = gold
    return run_eval(settings, q, c, [d], embedder=emb or FakeEmbedder(), **kw)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_run_eval_scores_every_retrieval_mode(settings, gold, mode):
    run = _run(settings, gold, retrieval=mode)
    assert run.summary["n_questions"] == 8 and set(run.summary["retrieval"]) == RETRIEVAL_KEYS
    assert "answers" not in run.summary
    assert all(0.0 <= v <= 1.0 for v in run.summary["retrieval"].values())
    assert run.config["retrieval"] == mode and run.config["isolated_index"] is True
    assert run.manifest["documents"] == 8 and run.manifest["embedding_model"] == "fake-hash-64"
    assert [r.id for r in run.results] == [q[0] for q in QUESTIONS]
    if mode != "dense":  # the questions share their context's words: lexical finds them all
        assert run.summary["retrieval"]["recall@5"] == 1.0
        assert run.summary["retrieval"]["mrr@10"] >= 0.8


def test_analyzers_switch_on_the_cached_index_without_re_embedding(settings, gold):
    first = FakeEmbedder()
    arabic = _run(settings, gold, first, retrieval="lexical", analyzer="arabic")
    assert first.calls > 0
    again = FakeEmbedder()
    plain = _run(settings, gold, again, retrieval="lexical", analyzer="plain")
    back = _run(settings, gold, again, retrieval="lexical", analyzer="arabic")
    assert again.calls == 0  # same inputs: the isolated index is reused as is
    assert plain.manifest["lexical_analyzer"] == "plain" and back.manifest["lexical_analyzer"] == "arabic"
    assert back.summary == arabic.summary
    assert plain.summary["retrieval"]["recall@10"] is not None


def test_isolated_index_lives_under_eval_index_and_leaves_the_archive_alone(settings, gold):
    q, c, d = gold
    run = _run(settings, gold)
    expected = eval_index_dir(settings, "fake-hash-64", c, [d])
    assert expected.parent == Path(settings.data_dir) / "eval-index"
    assert Path(run.config["index_dir"]) == expected / "index"
    assert not Path(settings.index_dir).exists()
    other = run_eval(settings, q, c, [], embedder=FakeEmbedder(), retrieval="lexical")
    assert Path(other.config["index_dir"]).parent != expected  # other inputs, other index
    assert other.manifest["documents"] == 6


def test_a_gold_context_scoped_by_an_id_clash_still_counts_as_its_gold_id(settings, gold):
    """Another gold set numbering its contexts the same way, ingested first into the shared
    index: its records keep the ids, ours are scoped to our file (ingest.ids), and the eval still
    maps our records to the gold ids and never counts the other set's ones as ours."""
    q, c, _ = gold
    other = _jsonl(c.parent / "other.contexts.jsonl", [
        {"context_id": i, "title": "مهرجان", "text": f"يقام مهرجان الزهور رقم {n} كل ربيع في الحديقة العامة."}
        for n, (i, _, _) in enumerate(CONTEXTS)])
    first = run_eval(settings, q, other, [c], embedder=FakeEmbedder(), retrieval="lexical")
    assert first.summary["retrieval"]["recall@10"] < 1.0  # there, ours are the distractors
    run = run_eval(settings, q, c, [other], embedder=FakeEmbedder(), retrieval="lexical")
    assert run.config["index_dir"] == first.config["index_dir"]  # one index, ours scoped in it
    assert run.summary["retrieval"]["recall@5"] == 1.0
    nile = next(r for r in run.results if r.id == "q1")
    assert nile.retrieved_doc_ids[0] == "c-nile" and nile.retrieved_doc_ids.count("c-nile") == 1


def test_answers_are_scored_with_citations_and_refusals(settings, gold):
    run = _run(settings, gold, answers=True, retrieval="hybrid")
    ans = run.summary["answers"]
    assert {"contains_gold", "f1", "citation_precision", "citation_recall", "refusal_recall",
            "false_refusal_rate", "refusal_precision"} <= set(ans)
    assert run.config["answer_mode"] == "extractive"
    by_id = {r.id: r for r in run.results}
    assert all(r.answer for r in run.results)
    assert ans["contains_gold"] is not None and ans["contains_gold"] >= 0.5
    answered = [r for r in run.results if not r.refused]
    assert answered and all(c.doc_id and c.text for r in answered for c in r.cited)
    assert by_id["q7"].expects_refusal and by_id["q8"].expects_refusal
    from evals.run import format_summary

    rows = format_summary(run).splitlines()[1:]
    assert any(r.strip().startswith("citation_errors.") for r in rows)
    assert len({len(r) for r in rows}) == 1  # one column of values, however long the names


def test_limit_and_archive_mode_read_the_users_index(settings, gold):
    q, c, d = gold
    run_ingest(settings, [c], embedder=FakeEmbedder(), show_progress=False)
    run = run_eval(settings, q, embedder=FakeEmbedder(), retrieval="lexical", limit=3)
    assert run.summary["n_questions"] == 3 and run.config["isolated_index"] is False
    assert run.summary["retrieval"]["recall@1"] == 1.0
    assert not (Path(settings.data_dir) / "eval-index").exists()
    with pytest.raises(ConfigError, match="--contexts"):
        run_eval(settings, q, embedder=FakeEmbedder(), analyzer="plain")


def test_bad_inputs_raise_bad_document_errors(settings, gold, tmp_path):
    q, c, _ = gold
    with pytest.raises(BadDocumentError, match="no such file"):
        run_eval(settings, tmp_path / "missing.jsonl", c, embedder=FakeEmbedder())
    bad = tmp_path / "bad.questions.jsonl"
    bad.write_text('{"id": "x", "question": "سؤال"}\n', encoding="utf-8")
    with pytest.raises(BadDocumentError, match="answers"):
        run_eval(settings, bad, c, embedder=FakeEmbedder())
    broken = tmp_path / "broken.contexts.jsonl"
    broken.write_text('{"context_id": "a", "text": "نص"}\n{not json\n', encoding="utf-8")
    with pytest.raises(BadDocumentError, match="context not indexed"):
        run_eval(settings, q, broken, embedder=FakeEmbedder())


# --- through the CLI ---------------------------------------------------------------------

@pytest.fixture
def cli(settings, monkeypatch):
    """Run `rag --data-dir ... ARGS` with the fake embedder in place of the real model."""
    monkeypatch.setattr("rag.index.embeddings.get_embedder", lambda s: FakeEmbedder())
    monkeypatch.delenv("RAG_CONFIG", raising=False)

    def run(*args: str) -> int:
        return main(["--data-dir", str(settings.data_dir), "eval", *map(str, args)])

    return run


def test_cli_json_has_the_public_shape(cli, gold, capsys):
    q, c, d = gold
    assert cli("--questions", q, "--contexts", c, "--distractors", d, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["n_questions", "retrieval", "config"]
    assert out["n_questions"] == 8 and set(out["retrieval"]) == RETRIEVAL_KEYS
    assert cli("--questions", q, "--contexts", c, "--answers", "--json", "--k", "5") == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["n_questions", "retrieval", "answers", "leads", "citation_errors", "config"]
    assert out["config"]["k"] == 5 and out["config"]["answers"] is True


def test_cli_report_and_compare_list_flipped_questions(cli, gold, tmp_path, capsys):
    q, c, _ = gold
    a, b = tmp_path / "run-a", tmp_path / "run-b"
    assert cli("--questions", q, "--contexts", c, "--retrieval", "lexical", "--report", a) == 0
    for name in ("results.jsonl", "summary.json", "report.md", "report.html", "recall_at_k.png"):
        assert (a / name).is_file()
    meta = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    assert meta["config"]["retrieval"] == "lexical" and meta["manifest"]["documents"] == 6
    assert len((a / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 8
    capsys.readouterr()
    # An empty contexts set makes every retrieval miss: every hit@1 flips.
    empty = _jsonl(tmp_path / "other.contexts.jsonl", [{"context_id": "zz", "title": "", "text": "لا شيء هنا"}])
    assert cli("--questions", q, "--contexts", empty, "--retrieval", "lexical", "--report", b,
               "--compare", a) == 0
    out = capsys.readouterr().out
    assert "flipped questions: 6" in out and "retrieval.recall@1" in out
    comparison = json.loads((b / "comparison.json").read_text(encoding="utf-8"))
    assert {f["id"] for f in comparison["flipped"]} == {"q1", "q2", "q3", "q4", "q5", "q6"}


def test_cli_reports_a_missing_file_in_one_line(cli, tmp_path, capsys):
    assert cli("--questions", tmp_path / "nope.jsonl", "--contexts", tmp_path / "nope2.jsonl") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rag: error:") and "nope.jsonl" in err and "\n" not in err
    assert cli("--questions", tmp_path / "nope.jsonl", "--compare", tmp_path) == 2


def test_calibration_fits_a_separable_rule_and_reports_the_frontier(gold, settings):
    import numpy as np

    from evals.calibrate import collect, fit_logistic, frontier

    q, c, d = gold
    X, y, held = collect(settings, q, c, [d], FakeEmbedder(), ["sentence_coverage", "root_coverage"])
    assert X.shape == (len(QUESTIONS), 2) and y.sum() == 6 and held.dtype == bool
    assert X[y, 1].mean() > X[~y, 1].mean()  # the archive's own answers share the question's roots
    rng = np.random.default_rng(0)
    Xs = np.concatenate([rng.normal(1, 0.3, (50, 2)), rng.normal(-1, 0.3, (50, 2))])
    ys = np.array([True] * 50 + [False] * 50)
    w, b = fit_logistic(Xs, ys)
    scores = 1 / (1 + np.exp(-(Xs @ w + b)))
    (row,) = frontier(scores, ys, [0.5])
    assert row["refused_unanswerable"] == 1.0 and row["refused_answerable"] == 0.0


def test_cross_lingual_calibration_labels_each_english_question_by_the_index_asked(gold, settings, tmp_path):
    from evals.calibrate import collect_cross

    _, c, d = gold
    rows = [json.loads(line) for line in c.read_text(encoding="utf-8").splitlines()]
    first, second = _jsonl(tmp_path / "a.contexts.jsonl", rows[:3]), _jsonl(tmp_path / "b.contexts.jsonl", rows[3:])
    english = _jsonl(tmp_path / "en.questions.jsonl", [
        {"id": "en1", "question": "How long is the Nile river?", "context_id": "c-nile"},
        {"id": "en2", "question": "How tall is the Burj Khalifa tower?", "context_id": "c-tower"}])
    rows = collect_cross(settings, english, [first, second], [d], FakeEmbedder(), ["dense_margin", "sentence_cosine"])
    assert rows.X.shape == (4, 2) and rows.answerable.tolist() == [True, False, False, True]
    assert rows.held.dtype == bool and rows.refused_now.shape == (4,)
    assert len(rows.right) == 2 and (rows.X[:, 1] != 0).any()  # the cross-lingual route's sentences were scored


def test_calibration_names_an_unknown_feature_and_the_choices(tmp_path, capsys):
    import pytest

    from evals.calibrate import main

    with pytest.raises(SystemExit) as e:
        main(["--data-dir", str(tmp_path), "--features", "agreement", "rootcov"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "unknown --features rootcov" in err and "root_coverage" in err
    with pytest.raises(SystemExit) as e:
        main(["--data-dir", str(tmp_path), "--english", str(tmp_path / "none.jsonl")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "none.jsonl: no such file" in err and "context_id" in err


def test_answerer_fit_learns_the_sentence_choice_and_reads_real_candidates(gold, settings):
    import numpy as np

    from evals.fit_answerer import Choice, accuracy, collect, fit_choice
    from rag.answering.sentences import RERANK_SENTENCES, SENTENCE_FEATURES
    from rag.answering.weights import load

    shipped = np.asarray(load().sentence.vector)

    q, c, d = gold
    choices, heads = collect(settings, q, c, [d], FakeEmbedder())
    assert len(choices) == len(heads) == 6  # the answerable ones
    assert all(ch.X.shape == (len(ch.sentence_gold), len(SENTENCE_FEATURES)) for ch in choices)
    assert sum(ch.sentence_gold.any() for ch in choices) >= 4
    for ch, head in zip(choices, heads):  # the second stage: the first stage's best, and their cosines
        assert head.X.shape == (min(len(ch.X), RERANK_SENTENCES), 2)
        if len(ch.X):
            assert head.X[0, 0] == pytest.approx((ch.X @ shipped).max())
            assert np.all(np.abs(head.X[:, 1]) <= 1.0 + 1e-6)
    # Synthetic: the gold sentence is the one with the larger first feature; the second is noise.
    rng = np.random.default_rng(0)
    synth = []
    for _ in range(60):
        X = rng.normal(0, 1, (5, 2))
        y = np.zeros(5)
        y[int(np.argmax(X[:, 0]))] = 1
        synth.append(Choice(X, y, y))
    w = fit_choice(synth)
    assert w[0] > 5 * abs(w[1]) and accuracy(synth, w) == (1.0, 1.0)
    assert accuracy(synth, -w)[0] < 0.2


def test_eval_scripts_report_bad_input_in_one_line(settings, tmp_path, capsys):
    from evals.run import script_main

    missing = tmp_path / "no-such.questions.jsonl"
    assert script_main(lambda: run_eval(settings, missing, embedder=FakeEmbedder()) and 0) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {missing}") and "check the path" in err and "\n" not in err


def test_refits_write_weight_files_with_provenance_that_the_answerer_loads(tmp_path, capsys):
    import argparse
    import datetime

    import numpy as np

    from evals import calibrate, fit_answerer
    from rag.answering import weights
    from rag.answering.refusal import should_refuse
    from rag.answering.sentences import SENTENCE_FEATURES
    from tests.answering.test_extractive import LEAGUE, make_hits

    question, hits = "متى تأسست جامعة الدول العربية؟", make_hits(LEAGUE)
    shipped = weights.load().refusal["lexical"]
    rule = calibrate.fitted_rule("lexical", list(shipped.weights), np.array(shipped.vector), shipped.bias, 1.0,
                                 FakeEmbedder(), ["mix.questions.jsonl over arcd.contexts.jsonl"],
                                 {"threshold": 1.0, "unanswerable_refused": 1.0}, argv=["--data-dir", "D"])
    calibrate._save(argparse.Namespace(out=tmp_path, write=False), rule)
    assert "refusal.json" in capsys.readouterr().out
    m = weights.load(tmp_path)
    p = m.refusal["lexical"].provenance
    assert p["model"] == FakeEmbedder.model_id and p["command"] == "python -m evals.calibrate --data-dir D"
    assert p["date"] == datetime.date.today().isoformat() and p["held_out"]["unanswerable_refused"] == 1.0
    assert m.refusal["dense"] == weights.load().refusal["dense"]  # the rules not refitted are kept
    assert not should_refuse(question, hits) and should_refuse(question, hits, models=m)  # threshold 1.0
    w = np.arange(len(SENTENCE_FEATURES), dtype=float) / 7
    sentence = fit_answerer.fitted_rule("sentence", SENTENCE_FEATURES, w, FakeEmbedder(), ["arcd.questions.jsonl"],
                                        {"ARCD": {"sentence": 0.5, "passage": 0.6}}, ["--out", str(tmp_path)])
    weights.write(tmp_path, sentence=sentence)
    m = weights.load(tmp_path)
    assert m.sentence.vector == tuple(np.round(w, 2).tolist()) and m.rerank == weights.load().rerank
    assert m.sentence.provenance["held_out"]["ARCD"]["passage"] == 0.6
    assert m.refusal["lexical"].threshold == 1.0  # the refusal refit is still there


def test_every_progress_message_of_a_run_reads_in_arabic_in_the_app(settings, gold):
    """The core reports progress in English for the terminal; the app shows it through
    ui.forms.progress_text, where nothing but a file name may stay in Latin letters."""
    import re

    from ui.forms import progress_text

    messages: list[str] = []
    _run(settings, gold, progress=lambda f, m: messages.append(m))
    names = {p.name for p in gold if p.is_file()} | {p.name for d in gold if d.is_dir() for p in d.iterdir()}
    assert any(m.startswith("index: ") for m in messages) and any(m.startswith("questions: ") for m in messages)
    for m in messages:
        shown = progress_text(m)
        for name in names:
            shown = shown.replace(name, "")
        assert not re.search(r"[A-Za-z]", shown), (m, shown)
