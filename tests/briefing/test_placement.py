"""Placement: a sentence goes under the heading it is closest to, past a threshold and a margin;
discovered headings are renamed from what their own sentences share; what fits no heading closes
the briefing under «ومما ورد أيضًا», never under an aspect's heading."""
from __future__ import annotations

import numpy as np
import pytest

from rag.briefing.build import OTHER_HEADING, plan_briefing
from rag.briefing.placement import choose_names, cosines, place, standardise
from rag.config import Settings
from tests.briefing import topical as T
from tests.fakes import FakeEmbedder


def test_place_takes_the_closest_heading_past_threshold_and_margin():
    assert place([0.80, 0.86, 0.83], aspect=0.84) == 1
    assert place([0.80, 0.83], aspect=0.84) is None  # nothing close enough
    assert place([0.85, 0.845], aspect=0.84, margin=0.01) is None  # too close to call
    assert place([0.86, 0.845], aspect=0.84, margin=0.01) == 0
    assert place([], aspect=0.0) is None


def test_standardise_is_per_column_over_the_given_rows_and_off_for_too_few():
    cos = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 1.0], [9.0, 9.0]])
    z = standardise(cos, [0, 1, 2, 3])
    assert z[:4, 0].mean() == pytest.approx(0) and z[:4, 0].std() == pytest.approx(1)
    assert z[4, 0] > 3  # a row outside the population is scored against it
    assert not standardise(cos, [0, 1, 2]).any()


def test_cosines_normalise_rows():
    got = cosines([[2.0, 0.0], [0.0, 3.0]], [[1.0, 1.0]])
    assert got[:, 0] == pytest.approx([0.7071, 0.7071], abs=1e-4)


def _axes(names: dict[str, list[float]]):
    return lambda name: np.asarray(names[name], dtype=np.float32)


def test_names_are_chosen_for_what_their_own_sentences_share():
    # sentences 0-2 of aspect 0 are about x, 3-5 of aspect 1 about y; "topic" is close to all
    vecs = np.array([[1, 0, 0.5]] * 3 + [[0, 1, 0.5]] * 3, dtype=np.float32)
    embed = _axes({"first": [0.2, 0.2, 1], "x-name": [1, 0, 0.2], "topic": [1, 1, 1],
                   "second": [0.1, 0.1, 1], "y-name": [0, 1, 0.2]})
    options = [["first", "topic", "x-name"], ["second", "topic", "y-name", "x-name"]]
    assert choose_names(options, [[0, 1, 2], [3, 4, 5]], vecs, embed) == [2, 2]
    # an aspect with fewer than two sentences keeps its name; no name is used twice
    assert choose_names(options, [[0, 1, 2], [3]], vecs, embed)[1] == 0
    embed_b = _axes({"x-name": [1, 0, 0.2], "b": [0, 1, 0.2]})
    assert choose_names([["x-name"], ["x-name", "b"]], [[0, 1, 2], [3, 4, 5]], vecs, embed_b) == [0, 1]


def test_one_long_article_cannot_name_a_section_of_several():
    # four sentences of article A prefer "a-title", one each of B and C prefer "shared"
    vecs = np.array([[1, 0]] * 4 + [[0, 1]] * 2, dtype=np.float32)
    docs = ["A"] * 4 + ["B", "C"]
    embed = _axes({"cur": [1, -1], "a-title": [1, 0], "shared": [0.3, 1]})
    assert choose_names([["cur", "a-title", "shared"]], [range(6)], vecs, embed)[0] == 1
    assert choose_names([["cur", "a-title", "shared"]], [range(6)], vecs, embed, docs=docs)[0] == 2


def test_sentences_under_a_heading_are_placed_there_and_the_rest_close_the_briefing():
    plan = plan_briefing(T.TOPIC, T.search, Settings(), embedder=FakeEmbedder(), aspects=T.ASPECTS,
                         thresholds=T.THRESHOLDS)
    index = {h: j for j, h in enumerate(plan.headings)}
    assert plan.sections
    for heading, cands in plan.sections:
        for c in cands:
            assert place(c.aspect_raw, T.THRESHOLDS.aspect, T.THRESHOLDS.aspect_margin) == index[heading]
    placed = {id(c) for _, cs in plan.sections for c in cs}
    kept = {index[h] for h, _ in plan.sections}
    for c in plan.other:
        assert id(c) not in placed
        assert place(c.aspect_raw, T.THRESHOLDS.aspect, T.THRESHOLDS.aspect_margin) not in kept
    assert OTHER_HEADING == {"ar": "ومما ورد أيضًا", "en": "Also reported"}
