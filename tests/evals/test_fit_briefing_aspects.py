"""The placement fit: labels joined to planned sentences by id and headings, F0.5 of placement,
and the sweep's choice (no index, no model)."""
from __future__ import annotations

from evals.fit_briefing_aspects import fit, join, score


def _row(topic, sha, raw, headings=("h0", "h1")):
    return {"topic_id": topic, "sentence_sha1": sha, "headings": list(headings), "raw": raw}


def test_labels_join_by_sentence_and_only_while_the_headings_match():
    rows = [_row("t", "a", [0.9, 0.8]), _row("t", "b", [0.8, 0.9])]
    labels = [{"topic_id": "t", "sentence_sha1": "a", "headings": ["h0", "h1"], "fits": ["h0"]},
              {"topic_id": "t", "sentence_sha1": "b", "headings": ["h0", "renamed"], "fits": []},
              {"topic_id": "t", "sentence_sha1": "zz", "headings": ["h0", "h1"], "fits": []}]
    assert [lab["sentence_sha1"] for _, lab in join(rows, labels)] == ["a"]


def test_score_counts_right_wrong_and_missed_placements():
    pairs = [(_row("t", "a", [0.90, 0.80]), {"fits": ["h0"]}),  # right
             (_row("t", "b", [0.90, 0.80]), {"fits": ["h1"]}),  # wrong heading: against and missed
             (_row("t", "c", [0.80, 0.81]), {"fits": ["h1"]}),  # held back: missed
             (_row("t", "d", [0.80, 0.81]), {"fits": []})]      # held back, rightly
    s = score(pairs, aspect=0.85, margin=0.0)
    assert (s["placed"], s["precision"], s["recall"]) == (2, 0.5, round(1 / 3, 4))
    assert s["f05"] == round(1.25 * 0.5 * (1 / 3) / (0.25 * 0.5 + 1 / 3), 4)


def test_fit_prefers_precision_and_then_the_lower_threshold():
    pairs = [(_row("t", str(i), [0.90, 0.70]), {"fits": ["h0"]}) for i in range(4)]
    pairs += [(_row("t", "x", [0.80, 0.70]), {"fits": []}), (_row("t", "y", [0.79, 0.70]), {"fits": []})]
    chosen, figures = fit(pairs)
    assert figures["precision"] == 1.0 and figures["recall"] == 1.0
    assert chosen == {"aspect": 0.805, "aspect_margin": 0.0}  # the lowest that holds x and y back


def test_labels_may_name_headings_by_sha1():
    from evals.briefing_eval import _sha1

    rows = [_row("t", "a", [0.9, 0.8], headings=("واردات الصلب", "العجز التجاري"))]
    lab = {"topic_id": "t", "sentence_sha1": "a", "headings_sha1": [_sha1("واردات الصلب"), _sha1("العجز التجاري")],
           "fits_sha1": [_sha1("واردات الصلب")]}
    [(_, got)] = join(rows, [lab])
    assert got["fits"] == ["واردات الصلب"]
    assert join(rows, [{**lab, "headings_sha1": [_sha1("x"), _sha1("y")]}]) == []
