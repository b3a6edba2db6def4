"""Near-duplicate collapse, the per-document cap and its overflow refill."""
from rag.retrieval.diversify import diversify, jaccard
from rag.types import Chunk, Hit


def hit(cid: str, doc_id: str, text: str, score: float = 1.0) -> Hit:
    return Hit(Chunk(cid, doc_id, text, 0, 0, len(text)), score)


def ids(hits):
    return [h.chunk.id for h in hits]


def test_jaccard():
    assert jaccard({"a", "b"}, {"b", "c"}) == 1 / 3
    assert jaccard(set(), {"a"}) == 0.0 and jaccard(set(), set()) == 0.0


def test_near_duplicates_collapse_at_the_threshold_keeping_the_first():
    hits = [hit("1", "d1", "w1 w2 w3 w4 w5"),
            hit("2", "d2", "w1 w2 w3 w4"),        # 4/5 = 0.8: a duplicate of 1
            hit("3", "d3", "w1 w2 w3 x9"),        # 3/6 with 1: kept
            hit("4", "d4", "w1 w2 w3 w4 w5")]     # identical to 1
    assert ids(diversify(hits, 10, 0)) == ["1", "3"]
    assert ids(diversify(hits, 10, 0, dup_jaccard=0.81)) == ["1", "2", "3"]


def test_per_doc_cap_then_overflow_refills_when_too_few_remain():
    hits = [hit("a1", "A", "a1 text"), hit("a2", "A", "a2 text"), hit("a3", "A", "a3 text"),
            hit("b1", "B", "b1 text")]
    # cap 2: a3 waits in overflow; k=3 is met by a1, a2, b1
    assert ids(diversify(hits, 3, 2)) == ["a1", "a2", "b1"]
    # k=4: only three pass the cap, so the capped-out a3 refills the end
    assert ids(diversify(hits, 4, 2)) == ["a1", "a2", "b1", "a3"]
    # cap 1: two capped out, one refill for k=3, in their original order
    assert ids(diversify(hits, 3, 1)) == ["a1", "b1", "a2"]
    # cap 0 means no cap
    assert ids(diversify(hits, 4, 0)) == ["a1", "a2", "a3", "b1"]


def test_k_bounds_the_result_and_stops_early():
    hits = [hit(str(i), f"d{i}", f"t{i} only") for i in range(6)]
    assert ids(diversify(hits, 2, 2)) == ["0", "1"]
    assert diversify([], 5, 2) == []


def test_a_duplicate_of_a_kept_hit_never_comes_back_as_overflow():
    hits = [hit("a1", "A", "same words here"), hit("a2", "A", "other words"),
            hit("b1", "B", "same words here")]
    assert ids(diversify(hits, 5, 1)) == ["a1", "a2"]
