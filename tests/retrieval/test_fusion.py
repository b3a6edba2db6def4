"""Weighted reciprocal-rank fusion over ranked id lists."""
import pytest

from rag.retrieval.fusion import adaptive_weights, fuse, fused_order, ranks, standout


def test_ranks_are_zero_based_positions():
    assert ranks(["x", "y", "z"]) == {"x": 0, "y": 1, "z": 2}
    assert ranks([]) == {}


def test_an_id_on_both_sides_sums_its_weighted_reciprocal_ranks():
    fused = fuse(((1.0, ["a", "b"]), (1.0, ["b", "a"])), rrf_k=20)
    assert fused["a"] == pytest.approx(1 / 21 + 1 / 22)
    assert fused["a"] == fused["b"]


def test_an_id_on_one_side_only_gets_that_side_alone():
    fused = fuse(((1.0, ["a", "b"]), (0.5, ["c"])), rrf_k=20)
    assert fused == {"a": 1 / 21, "b": 1 / 22, "c": 0.5 / 21}


def test_weights_scale_a_side_and_rrf_k_flattens_the_ranks():
    # dense-only at rank 0 vs lexical-only at rank 0: the heavier side wins
    assert fused_order(fuse(((1.0, ["d"]), (2.0, ["l"])), rrf_k=20)) == ["l", "d"]
    assert fused_order(fuse(((2.0, ["d"]), (1.0, ["l"])), rrf_k=20)) == ["d", "l"]
    # a small rrf_k rewards the top rank more than a large one does
    sharp = fuse(((1.0, ["a", "b"]),), rrf_k=0)
    flat = fuse(((1.0, ["a", "b"]),), rrf_k=60)
    assert sharp["a"] / sharp["b"] == pytest.approx(2.0)
    assert flat["a"] / flat["b"] == pytest.approx(62 / 61)


def test_a_zero_weight_side_still_lists_its_ids_with_nothing_added():
    fused = fuse(((1.0, ["a"]), (0.0, ["b"])), rrf_k=20)
    assert fused == {"a": 1 / 21, "b": 0.0}


def test_ties_break_by_chunk_id():
    fused = fuse(((1.0, ["z", "m"]), (1.0, ["m", "z"]), (1.0, ["b"])), rrf_k=20)
    assert fused["z"] == fused["m"]
    assert fused_order(fused) == ["m", "z", "b"]
    assert fused_order({"c": 0.5, "a": 0.5, "b": 0.7}) == ["b", "a", "c"]


def test_nothing_in_nothing_out():
    assert fuse((), rrf_k=20) == {} and fused_order({}) == []


def test_standout_is_scale_free():
    flat, sure = [0.86, 0.85, 0.86, 0.85, 0.86], [0.95, 0.85, 0.86, 0.85, 0.86]
    assert standout(flat) < 2 < standout(sure)
    assert abs(standout([9.5, 8.5, 8.6, 8.5, 8.6]) - standout(sure)) < 1e-4  # BM25 scale, same shape
    assert standout([1.0, 0.5]) == 0.0  # too short to tell


def test_the_side_sure_of_its_top_result_weighs_more_on_this_query():
    sure_dense = [0.95, 0.85, 0.86, 0.85, 0.86]
    flat_bm25 = [12.0, 11.9, 11.8, 11.9, 11.8]
    w = adaptive_weights([1.0, 1.0, 0.5], [sure_dense, flat_bm25, flat_bm25])
    assert w[0] > 1.0 > w[1] and w[2] < 0.5
    # a side that found nothing gets nothing; with no signal at all the weights stay as set
    assert adaptive_weights([1.0, 1.0], [sure_dense, []])[1] == 0.0
    assert adaptive_weights([1.0, 1.0], [[0.5, 0.5, 0.5], [3.0, 3.0, 3.0]]) == [1.0, 1.0]


def test_an_unknown_fusion_is_refused_with_the_choices():
    import pytest

    from rag.config import load_settings
    from rag.errors import ConfigError

    assert load_settings(env={}).fusion == "adaptive"
    with pytest.raises(ConfigError, match="fusion.*adaptive, rrf"):
        load_settings(env={"RAG_FUSION": "rff"})
