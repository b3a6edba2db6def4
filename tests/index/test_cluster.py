"""Wire-copy clustering (rag.index.cluster) on short Arabic articles written for these tests:
copies cluster at ingest, different stories on one topic do not, an updated copy joins, removal
re-splits, re-ingest changes nothing; retrieval keeps one passage per story and lists the other
copies; the JSON surfaces carry cluster_id and also_in; a briefing numbers a story once."""
from __future__ import annotations

import pytest

from ingest.pipeline import run_ingest
from rag.config import Settings, load_settings
from rag.index.cluster import Clusterer, ClusterParams, load_params, shingles, signature
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from rag.types import Answer, Citation, ClusterCopy, Hit
from tests.fakes import FakeEmbedder
from tests.index.docs import doc, write
from ui.render.clusters import also_in_label
from ui.serialize import answer_json, answer_payload, search_json

# An agency report on a dam, a reworded copy (another dateline and byline, two words changed),
# an updated copy (one more sentence), and two other stories on the same topic (dams, water).
DAM = ("أعلنت وزارة الموارد المائية اليوم الثلاثاء افتتاح سد جديد على نهر الفرات بطاقة تخزين تبلغ "
       "ثلاثة مليارات متر مكعب. وقال الوزير في مؤتمر صحفي إن السد سيوفر مياه الري لأكثر من مئتي ألف "
       "هكتار من الأراضي الزراعية في المحافظات الجنوبية. وأضاف أن المشروع استغرق ست سنوات من العمل "
       "بمشاركة شركات محلية وأجنبية وبكلفة بلغت نحو ملياري دولار. وأوضح أن السد سيسهم أيضا في توليد "
       "الكهرباء وتخفيف آثار الجفاف الذي ضرب المنطقة خلال المواسم الماضية. وأشار إلى أن الحكومة تخطط "
       "لإنشاء ثلاثة سدود أخرى على روافد النهر خلال السنوات الخمس المقبلة.")
DAM_COPY = ("بغداد - رويترز: " + DAM.replace("اليوم الثلاثاء", "الثلاثاء").replace("نحو ملياري", "قرابة ملياري")
            + " المصدر: وكالات.")
DAM_UPDATED = DAM + " وفي وقت لاحق زار رئيس الوزراء موقع السد وافتتح محطة الكهرباء الملحقة به رسميا."
DROUGHT = ("حذر خبراء المياه من موجة جفاف جديدة تهدد المحاصيل في حوض الفرات هذا الصيف. وقال تقرير صادر "
           "عن مركز الدراسات البيئية إن منسوب النهر انخفض إلى أدنى مستوى له منذ عقدين بسبب قلة الأمطار. "
           "ودعا التقرير المزارعين إلى اعتماد أساليب الري بالتنقيط وترشيد استهلاك المياه. كما طالب "
           "الحكومة بالتفاوض مع دول المنبع لضمان حصة عادلة من مياه النهر.")
DAM_CRACK = ("كشف مهندسون عن تشققات في جسم سد قديم على نهر دجلة بعد الأمطار الغزيرة الأخيرة. وقالت لجنة "
             "فنية إن التشققات لا تشكل خطرا فوريا لكنها تتطلب أعمال صيانة عاجلة قبل موسم الفيضان. وأمرت "
             "وزارة الموارد المائية بخفض منسوب الخزان احترازيا وإبلاغ سكان القرى القريبة.")


@pytest.fixture
def store(tmp_path):
    return Store(load_settings(env={}, data_dir=tmp_path / "data", model_dir=tmp_path / "models"), FakeEmbedder())


def clusters(store) -> dict[str, str]:
    return dict(store.db.execute("SELECT doc_id, cluster_id FROM doc_clusters"))


def same(store, a: str, b: str) -> bool:
    c = clusters(store)
    return c[a] == c[b]


def test_shipped_parameters_and_shingles():
    p = load_params()
    assert 0 < p.threshold <= 1 and p.num_perm >= 64 and p.shingle >= 1
    assert shingles("أعلنت الوزارة افتتاح السد", 3) == {"اعلنت الوزاره افتتاح", "الوزاره افتتاح السد"}
    assert shingles("سد", 3) == {"سد"} and shingles("...", 3) == set() and signature("", p) is None


def test_boilerplate_only_pages_stay_alone(store):
    note = "** جميع المقالات المنشورة تمثل رأي كتابها فقط."  # an opinion page's whole body
    write(store, [doc("op1", note, title="مقال أول"), doc("op2", note, title="مقال ثان")])
    assert not same(store, "op1", "op2")


def test_reworded_and_updated_copies_cluster_different_stories_on_the_topic_do_not(store):
    write(store, [doc("dam", DAM, "2020-03-03", source="وكالة الأنباء"),
                  doc("dam-copy", DAM_COPY, "2020-03-03", source="صحيفة الشرق"),
                  doc("drought", DROUGHT, "2020-03-04", source="صحيفة الشرق"),
                  doc("crack", DAM_CRACK, "2020-03-05", source="وكالة الأنباء")])
    assert same(store, "dam", "dam-copy")
    assert len({clusters(store)[d] for d in ("dam", "drought", "crack")}) == 3
    write(store, [doc("dam-update", DAM_UPDATED, "2020-03-04", source="مجلة التراث")])  # arrives later
    assert same(store, "dam", "dam-update")
    stats = store.stats()
    assert stats["documents"] == 5 and stats["clusters"] == 3 and stats["multi_doc_clusters"] == 1
    assert stats["clustered_documents"] == 3
    top = stats["largest_clusters"][0]
    assert top["size"] == 3 and top["sources"] == sorted(["وكالة الأنباء", "صحيفة الشرق", "مجلة التراث"])
    assert (top["first_date"], top["last_date"]) == ("2020-03-03", "2020-03-04")


def test_copies_within_one_batch_and_an_edit_that_leaves_the_story(store):
    write(store, [doc("dam", DAM), doc("dam-copy", DAM_COPY)])
    assert same(store, "dam", "dam-copy")
    write(store, [doc("dam-copy", DROUGHT)])  # the record now holds another story: it leaves
    assert not same(store, "dam", "dam-copy")
    assert store.stats()["multi_doc_clusters"] == 0


def test_removal_resplits_a_chain_and_keeps_clusters_right(store):
    # A ~ B and B ~ C, but A and C are too far apart: without B they are two stories.
    store._clusters = Clusterer(ClusterParams(threshold=0.5, num_perm=256, shingle=3))
    sents = [f"الجملة رقم {i} في هذا التقرير تروي تفصيلا مختلفا عن الحدث {i * 7} ومكانه." for i in range(30)]
    a, b, c = (" ".join(sents[i:i + 20]) for i in (0, 5, 10))
    write(store, [doc("a", a), doc("b", b), doc("c", c), doc("x", DROUGHT)])
    assert len({clusters(store)[d] for d in "abc"}) == 1
    store.remove_docs(["b"])
    left = clusters(store)
    assert "b" not in left and left["a"] != left["c"] and left["x"] not in (left["a"], left["c"])
    assert store.stats()["clusters"] == 3 and store.stats()["multi_doc_clusters"] == 0
    store.remove_docs(["a", "c", "x"])
    assert clusters(store) == {} and store.stats()["clusters"] == 0


def test_removing_the_founder_keeps_the_rest_together_and_a_new_id_stays_unique(store):
    write(store, [doc("dam", DAM), doc("dam-copy", DAM_COPY), doc("dam-update", DAM_UPDATED)])
    cid = clusters(store)["dam"]
    store.remove_docs(["dam"])
    assert set(clusters(store).values()) == {cid}  # the story keeps its id
    write(store, [doc("dam", DROUGHT)])  # the founder's doc id returns with another story
    c = clusters(store)
    assert c["dam"] != cid and len(set(c.values())) == 2


def test_a_second_process_sees_the_first_ones_writes(store):
    write(store, [doc("dam", DAM)])
    other = Store(store.settings, store.embedder)  # another writer on the same index
    write(other, [doc("dam-copy", DAM_COPY)])
    write(store, [doc("dam-update", DAM_UPDATED)])  # this process's LSH predates dam-copy
    assert len(set(clusters(store).values())) == 1


def test_an_index_older_than_clustering_is_backfilled_on_the_next_write(store):
    write(store, [doc("dam", DAM), doc("drought", DROUGHT)])
    _unclustered(store)  # as an index built before clustering existed
    reopened = Store(store.settings, store.embedder)
    assert reopened.chunks(list(reopened.all_chunk_ids()[0]))  # reading works unclustered
    write(reopened, [doc("dam-copy", DAM_COPY)])
    assert set(clusters(reopened)) == {"dam", "drought", "dam-copy"} and same(reopened, "dam", "dam-copy")


def test_an_unclustered_index_reingested_unchanged_is_clustered_then(tmp_path):
    """No write happens when nothing changed, so the backfill cannot wait for one (the eval
    indexes built before clustering were searched without their copies folded)."""
    folder, settings, store = _articles(tmp_path)
    run_ingest(settings, [folder], store=store, embedder=store.embedder)
    groups = _partition(store)
    assert sorted(map(len, groups)) == [1, 2]  # the dam story and its copy, the drought alone
    _unclustered(store)  # as an index built before clustering existed
    again = run_ingest(settings, [folder], store=store, embedder=store.embedder)
    assert again.unchanged == 3 and _partition(store) == groups
    assert store.index_clusters() == 0  # once
    with store._sql.tx() as c:  # parameters recorded, one document lacking (a run killed mid-way)
        c.execute("DELETE FROM doc_clusters WHERE doc_id = (SELECT MIN(doc_id) FROM doc_clusters)")
    assert store.index_clusters() >= 1 and _partition(store) == groups


def _articles(tmp_path):
    """A folder of the dam story, its copy and the drought story; settings and an empty store."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in (("dam", DAM), ("dam-copy", DAM_COPY), ("drought", DROUGHT)):
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    settings = load_settings(env={}, data_dir=tmp_path / "data", model_dir=tmp_path / "models")
    return folder, settings, Store(settings, FakeEmbedder())


def _unclustered(store) -> None:
    with store._sql.tx() as c:
        c.execute("DELETE FROM doc_clusters")
        c.execute("DELETE FROM clusters")
        c.execute("DELETE FROM meta WHERE key IN ('cluster_params', 'cluster_generation')")


def _partition(store) -> set[frozenset[str]]:
    by: dict[str, set[str]] = {}
    for doc_id, cluster_id in clusters(store).items():
        by.setdefault(cluster_id, set()).add(doc_id)
    return {frozenset(v) for v in by.values()}


def test_reingest_is_a_noop(tmp_path):
    folder, settings, store = _articles(tmp_path)
    first = run_ingest(settings, [folder], store=store, embedder=store.embedder)
    assert first.added == 3
    before = (clusters(store), store.stats()["largest_clusters"],
              store.db.execute("SELECT value FROM meta WHERE key='cluster_generation'").fetchone())
    assert store.stats()["multi_doc_clusters"] == 1
    again = run_ingest(settings, [folder], store=store, embedder=store.embedder)
    assert again.added == again.updated == again.removed == 0 and again.unchanged == 3
    after = (clusters(store), store.stats()["largest_clusters"],
             store.db.execute("SELECT value FROM meta WHERE key='cluster_generation'").fetchone())
    assert after == before


def test_rewriting_the_same_documents_keeps_cluster_ids(store):
    items = [doc("dam", DAM, source="أ"), doc("dam-copy", DAM_COPY, source="ب")]
    write(store, items)
    before = clusters(store)
    write(store, items)  # a killed run's batch written again
    assert clusters(store) == before and store.stats()["clusters"] == 1


# -- retrieval and surfaces --------------------------------------------------------------------
@pytest.fixture
def archive(store):
    write(store, [doc("dam", DAM, "2020-03-03", source="وكالة الأنباء", title="افتتاح سد على الفرات"),
                  doc("dam-copy", DAM_COPY, "2020-03-03", source="BBC", title="سد جديد على الفرات"),
                  doc("dam-update", DAM_UPDATED, "2020-03-04", source="CNN", title="رئيس الوزراء يزور السد"),
                  doc("drought", DROUGHT, "2020-03-04", source="صحيفة الشرق", title="تحذير من الجفاف"),
                  doc("crack", DAM_CRACK, "2020-03-05", source="وكالة الأنباء", title="تشققات في سد")])
    return store


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_retrieval_keeps_one_passage_per_story_and_lists_the_other_copies(archive, mode):
    hits = HybridRetriever(archive.settings, archive).search("افتتاح سد جديد على نهر الفرات", k=5, mode=mode)
    ids = [h.chunk.doc_id for h in hits]
    dam = [h for h in hits if h.chunk.doc_id in ("dam", "dam-copy", "dam-update")]
    assert len(dam) == 1, ids
    best = dam[0].chunk
    assert best.cluster_id and {c.doc_id for c in best.also_in} == {"dam", "dam-copy", "dam-update"} - {best.doc_id}
    assert [c.date for c in best.also_in] == sorted(c.date for c in best.also_in)
    assert all(not h.chunk.also_in for h in hits if h.chunk.doc_id in ("drought", "crack"))


def test_search_and_ask_json_carry_cluster_id_and_also_in(archive):
    hits = HybridRetriever(archive.settings, archive).search("افتتاح سد جديد على نهر الفرات", k=5)
    out = search_json("q", hits)
    for r, h in zip(out["results"], hits, strict=True):
        assert r["cluster_id"] == h.chunk.cluster_id
        assert r["also_in"] == [{"doc_id": c.doc_id, "title": c.title, "source": c.source, "date": c.date}
                                for c in h.chunk.also_in]
    assert any(r["also_in"] for r in out["results"])
    copy = ClusterCopy("dam-copy", "سد جديد على الفرات", "BBC", "2020-03-03")
    cit = Citation(1, "c1", "dam", "افتتاح سد", "2020-03-03", "", "وكالة الأنباء", "نص", 0.5,
                   cluster_id="dam", also_in=(copy,))
    ans = Answer("سؤال", "جواب [1]", "extractive", False, citations=(cit,))
    for shape in (answer_json(ans), answer_payload(ans)):
        c = shape["citations"][0]
        assert c["cluster_id"] == "dam"
        assert c["also_in"] == [{"doc_id": "dam-copy", "title": "سد جديد على الفرات", "source": "BBC",
                                 "date": "2020-03-03"}]
    plain = answer_json(Answer("q", "a", "extractive", False, citations=(Citation(1, "c", "d", "", "", "", "", "", 0.0),)))
    assert plain["citations"][0]["cluster_id"] == "" and plain["citations"][0]["also_in"] == []


def test_an_answer_cites_a_story_once_with_its_copies(archive):
    from rag.answering.citations import _citation

    hits = HybridRetriever(archive.settings, archive).search("افتتاح سد جديد على نهر الفرات", k=5)
    c = _citation(1, hits[0], "")
    assert c.cluster_id == hits[0].chunk.cluster_id and c.also_in == hits[0].chunk.also_in


def test_also_in_label():
    copies = (ClusterCopy("a", source="BBC"), ClusterCopy("b", source="CNN"), ClusterCopy("c", source="BBC"),
              ClusterCopy("d", source="سكاي نيوز"), ClusterCopy("e", source="فرانس 24"))
    assert also_in_label(copies, "العربية") == "نشرته أيضًا: BBC، CNN (+2)"
    assert also_in_label(copies[:2], "العربية") == "نشرته أيضًا: BBC، CNN"
    assert also_in_label((ClusterCopy("x", source="BBC"),), "BBC") == "نسخ أخرى: 1"
    assert also_in_label(()) == ""
    assert also_in_label(copies[:1], arabic=False) == "also carried by: BBC"


def test_a_briefing_numbers_copies_of_one_story_once():
    from dataclasses import replace

    from rag.briefing.build import build_briefing
    from tests.briefing.archive import TOPIC, search

    def clustered(q, f, k):  # a1 and a3 are copies of one story
        return [Hit(replace(h.chunk, cluster_id="story"), h.score) if h.chunk.doc_id in ("a1", "a3") else h
                for h in search(q, f, k)]

    plain = build_briefing(TOPIC, search, Settings())
    b = build_briefing(TOPIC, clustered, Settings())
    docs = {s.doc_id for s in plain.sources}
    assert {"a1", "a3"} <= docs
    assert len(b.sources) == len(plain.sources) - 1 and b.n_articles == len(b.sources)
    assert [s.cluster_id for s in b.sources].count("story") == 1
    numbers = {s.n for s in b.sources}
    cited = {n for s in b.summary for n in s.citations} | {
        n for sec in b.sections for s in sec.sentences for n in s.citations} | {
        n for e in b.timeline for n in e.citations}
    assert cited <= numbers


def test_the_archive_table_shows_a_storys_copies_and_evals_count_a_copy_as_its_story(archive):
    """A story carried by three outlets: the table says so and lists the copies; an eval whose gold
    document is a copy that another member stands for still counts the hit."""
    from evals.run import _as_gold
    from ui import render

    docs = archive.documents()
    story = [d for d in docs if d.cluster_size > 1]
    assert {d.doc_id for d in story} == {"dam", "dam-copy", "dam-update"} and {d.cluster_size for d in story} == {3}
    copies = {story[0].cluster_id: archive.cluster_members(story[0].cluster_id)}
    html = render.render_documents(docs, copies=copies)
    assert html.count("نُشرت القصة في 3 نسخ") == 3 and "سد جديد على الفرات" in html
    assert {r["doc_id"]: r["cluster_size"] for r in render.plain_rows(docs)}["drought"] == 1
    hit = HybridRetriever(archive.settings, archive).search("افتتاح سد جديد على نهر الفرات", k=1)[0]
    other = next(c.doc_id for c in hit.chunk.also_in)
    assert _as_gold(hit.chunk, other, lambda d: d) == other  # the gold copy counts as retrieved
    assert _as_gold(hit.chunk, "drought", lambda d: d) == hit.chunk.doc_id
