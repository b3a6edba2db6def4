"""One filter language, three readers: the SQL where, the Chroma where and the in-memory
`matches` must select the same documents (a real SQLite and a real embedded Chroma)."""
import pytest

from rag.index.filters import bound_until, date_num, matches, to_chroma_where, to_sql_where
from rag.types import Filters
from tests.index.docs import doc, store_of

TEXT = "تقرير عن الأمن والحدود في المنطقة"
DOCS = [
    doc("d2017", TEXT, "2017-12-31", "سعيد", "الأهرام"),
    doc("d2018a", TEXT, "2018-01-01", "سعيد", "الحياة"),
    doc("d2018jul", TEXT, "2018-07-15", "ليلى", "الحياة"),
    doc("d2018m", TEXT, "2018-07", "ليلى", "الأهرام"),
    doc("d2018y", TEXT, "2018", "", "الأهرام"),
    doc("d2018aug", TEXT, "2018-08-01", "سعيد", ""),
    doc("d2019", TEXT, "2019-03-02T10:00:00", "ليلى", "الحياة"),
    doc("undated", TEXT, "", "سعيد", "الحياة"),
]

FILTERS = [
    Filters(),
    Filters(since="2018"),
    Filters(since="2018-07"),
    Filters(since="2018-07-15"),
    Filters(until="2018"),
    Filters(until="2018-07"),
    Filters(until="2018-07-15"),
    Filters(since="2018-01-01", until="2018-07"),
    Filters(since="2019", until="2019"),
    Filters(authors=("سعيد",)),
    Filters(authors=("سعيد", "ليلى")),
    Filters(sources=("الأهرام",)),
    Filters(doc_ids=("d2017", "undated")),
    Filters(since="2018", authors=("سعيد",), sources=("الحياة",)),
    Filters(until="2018-07", doc_ids=("d2018m", "undated", "d2019")),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return store_of(tmp_path_factory.mktemp("filters"), DOCS)


def _sql(store, f: Filters) -> set[str]:
    where, params = to_sql_where(f)
    return {r[0] for r in store.db.execute(f"SELECT d.doc_id FROM docs d WHERE 1 {where}", params)}


def _chroma(store, f: Filters) -> set[str]:
    hits = store.dense_search(store.embedder.embed_query(TEXT), 100, f)
    return {c.doc_id for c in store.chunks([h.chunk_id for h in hits]).values()}


def _memory(f: Filters) -> set[str]:
    return {d.doc_id for d, cs in DOCS if matches(f, cs[0])}


@pytest.mark.parametrize("f", FILTERS, ids=repr)
def test_sql_chroma_and_memory_select_the_same_documents(store, f):
    assert _sql(store, f) == _chroma(store, f) == _memory(f)


def test_the_table_pins_the_semantics(store):
    assert _memory(Filters()) == {d.doc_id for d, _ in DOCS}
    # until of a year or a month includes all of it; the undated document never passes a date bound
    assert _memory(Filters(until="2018")) == {"d2017", "d2018a", "d2018jul", "d2018m", "d2018y", "d2018aug"}
    assert _memory(Filters(until="2018-07")) == {"d2017", "d2018a", "d2018jul", "d2018m", "d2018y"}
    assert _memory(Filters(since="2018-07")) == {"d2018jul", "d2018m", "d2018aug", "d2019"}
    assert _memory(Filters(since="2018-07-15")) == {"d2018jul", "d2018aug", "d2019"}
    assert "undated" in _memory(Filters(authors=("سعيد",)))


def test_translations_shape():
    assert to_chroma_where(Filters()) is None and to_sql_where(Filters()) == ("", [])
    assert to_chroma_where(Filters(authors=("a",))) == {"author": {"$in": ["a"]}}
    assert date_num("2018") == 20180000 and date_num("2018-07") == 20180700
    assert date_num("2018-07-15T10:00") == 20180715 and date_num("") == 0
    assert bound_until("2018") == 20181231 and bound_until("2018-07") == 20180731
    assert bound_until("2018-07-15") == 20180715
