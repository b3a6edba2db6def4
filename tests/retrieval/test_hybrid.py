"""HybridRetriever's modes over a real Store (embedded Chroma, SQLite) with the fake embedder."""
from dataclasses import replace

import pytest

from rag.retrieval.fusion import adaptive_weights, fuse, fused_order
from rag.retrieval.hybrid import HybridRetriever
from rag.types import Filters
from tests.index.docs import doc, store_of

DOCS = [doc("fin", "تمويل الجماعات المتطرفة عبر الجمعيات الخيرية والتبرعات", "2019-01-01", source="الحياة"),
        doc("rec", "التجنيد عبر الإنترنت ووسائل التواصل الاجتماعي للشباب", "2019-02-01", source="الأهرام"),
        doc("bor", "أمن الحدود ومراقبة المعابر والتهريب", "2018-03-01", source="الحياة"),
        doc("reh", "برامج إعادة التأهيل للعائدين من مناطق النزاع", "2017-05-01", source="الأهرام")]
QUERY = "تمويل الجماعات المتطرفة"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return store_of(tmp_path_factory.mktemp("hybrid"), DOCS)


def test_dense_mode_uses_only_the_dense_side(store):
    hits = HybridRetriever(store.settings, store).search(QUERY, k=4, mode="dense")
    assert len(hits) == 4 and hits[0].chunk.doc_id == "fin"
    assert all(h.dense_rank is not None and h.lexical_rank is None and h.root_rank is None for h in hits)


def test_lexical_mode_uses_only_bm25_and_finds_only_matching_passages(store):
    hits = HybridRetriever(store.settings, store).search(QUERY, k=4, mode="lexical")
    assert [h.chunk.doc_id for h in hits] == ["fin"]
    assert hits[0].dense_rank is None and hits[0].lexical_rank == 0 and hits[0].lexical_score > 0


def test_hybrid_mode_fuses_dense_lexical_and_roots_as_fusion_says(store):
    s = store.settings
    hits = HybridRetriever(s, store).search(QUERY, k=4)
    fetch = max(s.fetch_k, 16)
    dense_hits = store.dense_search(store.embedder.embed_query(QUERY), fetch)
    dense = [h.chunk_id for h in dense_hits]
    lexical_hits = store.lexical_search(QUERY, fetch)
    rooted_hits = store.lexical_search(QUERY, fetch, field="roots")
    lexical, rooted = [c for c, _ in lexical_hits], [c for c, _ in rooted_hits]
    weights = adaptive_weights([s.dense_weight, s.lexical_weight, s.root_weight],
                               [[h.similarity for h in dense_hits], [x for _, x in lexical_hits],
                                [x for _, x in rooted_hits]])  # the default fusion: adaptive
    fused = fuse(zip(weights, (dense, lexical, rooted)), s.rrf_k)
    assert [h.chunk.id for h in hits] == fused_order(fused)[:4]
    assert [h.score for h in hits] == [fused[h.chunk.id] for h in hits]
    top = hits[0]
    assert top.chunk.doc_id == "fin" and top.dense_rank == 0 and top.lexical_rank == 0 and top.root_rank == 0


def test_rrf_fusion_keeps_the_fixed_weights(store):
    s = replace(store.settings, fusion="rrf")
    hits = HybridRetriever(s, store).search(QUERY, k=4)
    fetch = max(s.fetch_k, 16)
    dense = [h.chunk_id for h in store.dense_search(store.embedder.embed_query(QUERY), fetch)]
    lexical = [cid for cid, _ in store.lexical_search(QUERY, fetch)]
    rooted = [cid for cid, _ in store.lexical_search(QUERY, fetch, field="roots")]
    fused = fuse(((s.dense_weight, dense), (s.lexical_weight, lexical), (s.root_weight, rooted)), s.rrf_k)
    assert [h.score for h in hits] == [fused[h.chunk.id] for h in hits]


def test_root_weight_zero_leaves_roots_out(store):
    hits = HybridRetriever(replace(store.settings, root_weight=0.0), store).search(QUERY, k=4)
    assert all(h.root_rank is None for h in hits) and hits[0].lexical_rank == 0


def test_a_latin_question_over_arabic_passages_is_served_dense_only(store):
    r = HybridRetriever(store.settings, store)
    question = "fin rec: financing of extremist groups"  # "fin", "rec" match titles lexically
    assert r.search(question, k=4, mode="lexical")
    hits = r.search(question, k=4)
    assert hits and all(h.lexical_rank is None and h.root_rank is None for h in hits)


def test_filters_apply_to_every_mode(store):
    f = Filters(sources=("الأهرام",))
    r = HybridRetriever(store.settings, store)
    for mode in ("hybrid", "dense", "lexical"):
        assert {h.chunk.source for h in r.search(QUERY + " التجنيد", f, k=4, mode=mode)} <= {"الأهرام"}
    assert {h.chunk.doc_id for h in r.search(QUERY, Filters(until="2018"), k=4, mode="dense")} == {"bor", "reh"}
