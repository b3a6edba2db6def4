"""Lexical ranking is deterministic: passages of equal BM25 come in the order they were indexed,
with or without filters (the two take different SQL), on both lexical fields."""
import pytest

from rag.index.store import Store
from rag.types import Filters
from tests.fakes import FakeEmbedder
from tests.index.docs import doc, write

SAME = "تمويل الجماعات المتطرفة عبر الجمعيات الخيرية"


@pytest.mark.parametrize("field", ["terms", "roots"])
def test_equal_scores_rank_in_index_order_with_and_without_filters(settings, field):
    store = Store(settings, FakeEmbedder())
    docs = [doc(f"d{i}", SAME, f"2019-01-{i % 28 + 1:02d}", title="تقرير") for i in range(60)]
    docs.append(doc("other", "أمن الحدود ومراقبة المعابر والتمويل", "2019-02-01", title="تقرير"))
    write(store, docs)
    ids = [cs[0].id for _, cs in docs[:60]]
    plain = store.lexical_search(SAME, 10, field=field)  # 60 tied, 10 asked: which 10, in which order
    filtered = store.lexical_search(SAME, 10, Filters(since="2000-01-01"), field=field)
    assert [c for c, _ in plain] == ids[:10]
    assert plain == filtered
    assert len({s for _, s in plain}) == 1  # the tie the order had to break
