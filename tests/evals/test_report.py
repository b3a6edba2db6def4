"""Run folders: files written, text escaped, runs loaded back and compared."""
from __future__ import annotations

import json

from evals.metrics import CitedPassage, QuestionResult, aggregate
from evals.report import compare_runs, load_run, write_report

XSS = "<script>alert(1)</script>"


def _r(id, answers, context_id, retrieved, answer, refused=False, cited=(), question=None):
    return QuestionResult(id=id, question=question or f"ما هو {id}؟", answers=tuple(answers),
                          context_id=context_id, expects_refusal=not answers,
                          retrieved_doc_ids=tuple(retrieved), answer=answer, refused=refused,
                          cited=tuple(CitedPassage(d, t) for d, t in cited))


def _run_a():
    return [
        _r("q1", ["1958"], "c1", ["c1", "c2"], "ولد عام 1958", cited=[("c1", "ولد عام 1958")]),
        _r("q2", ["القاهرة"], "c3", ["c9"], f"لا {XSS}", question=f"سؤال {XSS} & غيره"),
        _r("q3", [], None, ["c1"], "لا أعرف", refused=True),
        _r("q4", ["بغداد"], "c4", ["c4"], "بغداد"),
    ]


def _run_b():
    return [
        _r("q1", ["1958"], "c1", ["c2", "c1"], "ولد عام 1958"),         # hit@1 flips
        _r("q2", ["القاهرة"], "c3", ["c3"], "القاهرة", question=f"سؤال {XSS} & غيره"),
        _r("q3", [], None, ["c1"], "1958", refused=False),              # refusal flips
        _r("q5", ["x"], "c5", ["c5"], "x"),                             # only in b
    ]


def _write(tmp_path, name, results, compare_to=None):
    return write_report(tmp_path / name, results, aggregate(results),
                        config={"k": 5, "mode": "extractive", "note": XSS},
                        manifest={"model": "fake", "chunks": 12}, compare_to=compare_to)


def test_write_report_files(tmp_path):
    out = _write(tmp_path, "run-a", _run_a())
    run_dir = tmp_path / "run-a"
    assert out == run_dir / "report.html"
    for name in ("results.jsonl", "summary.json", "report.md", "report.html",
                 "recall_at_k.png", "metrics.png"):
        assert (run_dir / name).stat().st_size > 0, name
    assert (run_dir / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert set(meta) == {"summary", "config", "manifest"} and meta["manifest"]["chunks"] == 12
    lines = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["metrics"]["hit_rank"] == 1


def test_html_escapes_text_and_marks_arabic_rtl(tmp_path):
    html = _write(tmp_path, "run-a", _run_a()).read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # q2's question, answer and config
    assert "&amp; غيره" in html
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    md = (tmp_path / "run-a" / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md.split("```json")[0]  # outside code blocks text is escaped


def test_load_run_round_trips(tmp_path):
    results = _run_a()
    _write(tmp_path, "run-a", results)
    run = load_run(tmp_path / "run-a")
    assert run.results == results and run.summary == aggregate(results)
    assert run.config["k"] == 5 and run.manifest["model"] == "fake" and run.name == "run-a"


def test_compare_runs_lists_flipped_questions(tmp_path):
    _write(tmp_path, "a", _run_a())
    _write(tmp_path, "b", _run_b())
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    flipped = {f["id"]: f for f in cmp["flipped"]}
    assert set(flipped) == {"q1", "q2", "q3"}
    assert flipped["q1"]["changed"] == ["hit@1"]
    assert flipped["q1"]["a"]["hit@1"] is True and flipped["q1"]["b"]["hit@1"] is False
    assert flipped["q2"]["changed"] == ["hit@1", "contains_gold"]
    assert flipped["q3"]["changed"] == ["refused"]
    assert cmp["n_common"] == 3 and cmp["only_a"] == ["q4"] and cmp["only_b"] == ["q5"]
    # refusal recall: a refused q3 (1.0), b did not (0.0)
    assert cmp["metrics"]["answers.refusal_recall"] == {"a": 1.0, "b": 0.0, "delta": -1.0}
    assert set(cmp["metrics"]) >= {"retrieval.recall@1", "retrieval.ndcg@10", "answers.f1"}


def test_report_renders_comparison(tmp_path):
    _write(tmp_path, "a", _run_a())
    out = _write(tmp_path, "b", _run_b(), compare_to=tmp_path / "a")
    html = out.read_text(encoding="utf-8")
    md = (tmp_path / "b" / "report.md").read_text(encoding="utf-8")
    for text in (html, md):
        assert "Compared with a" in text and "Flipped questions" in text
        assert "q1" in text and "q3" in text
    assert "<script>" not in html
    cmp = json.loads((tmp_path / "b" / "comparison.json").read_text(encoding="utf-8"))
    assert {f["id"] for f in cmp["flipped"]} == {"q1", "q2", "q3"}


def test_retrieval_only_run(tmp_path):
    results = [_r("q1", ["x"], "c1", ["c1"], None), _r("q2", ["y"], "c2", [], None)]
    out = _write(tmp_path, "ret", results)
    assert "answers" not in load_run(tmp_path / "ret").summary
    assert "(retrieval only)" in out.read_text(encoding="utf-8")  # q2 missed, listed
