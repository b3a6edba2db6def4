"""Store.vectors: the stored dense vectors, row-aligned with the ids asked for (the resume bench
compares two indexes with it)."""
import numpy as np
import pytest

from tests.index.docs import doc, store_of


def test_vectors_come_back_in_the_order_asked(tmp_path):
    docs = [doc(f"d{i}", f"نص الوثيقة رقم {i} عن موضوع مختلف {i * 7}") for i in range(5)]
    store = store_of(tmp_path, docs)
    ids = [cs[0].id for _, cs in docs][::-1]
    got = store.vectors(ids)
    want = store.embedder.embed_documents([c.text for _, cs in docs for c in cs][::-1])
    assert got.shape == (5, store.embedder.dimension) and np.allclose(got, want, atol=1e-6)
    with pytest.raises(KeyError):
        store.vectors(["no-such-chunk"])


def test_dense_search_on_an_empty_index_or_past_its_size_returns_what_there_is(tmp_path):
    empty = store_of(tmp_path / "empty", [])
    assert empty.dense_search(empty.embedder.embed_query("سؤال"), 40) == []
    docs = [doc(f"d{i}", f"نص الوثيقة رقم {i} عن موضوع مختلف {i * 7}") for i in range(3)]
    store = store_of(tmp_path / "three", docs)
    hits = store.dense_search(store.embedder.embed_query("نص الوثيقة"), 40)
    assert sorted(h.chunk_id for h in hits) == sorted(cs[0].id for _, cs in docs)
