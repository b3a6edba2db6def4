"""The eval tables' naive baseline and README block, on the tiny gold set of test_run."""
from evals import tables
from evals.naive import naive_run
from tests.evals.test_run import gold  # noqa: F401  (fixture)
from tests.fakes import FakeEmbedder


def test_the_naive_pipeline_retrieves_from_its_own_chunks_and_caches_their_vectors(settings, gold):  # noqa: F811
    q, c, d = gold
    emb = FakeEmbedder()
    first = naive_run(settings, q, c, [d], k=3, embedder=emb)
    assert first["n_questions"] == 8 and first["retrieval"]["recall@5"] > 0.5
    embedded = emb.calls
    again = naive_run(settings, q, c, [d], k=3, embedder=emb)
    assert again == first and emb.calls == embedded  # the chunk vectors came from the cache
    check = naive_run(settings, q, c, [d], k=3, embedder=emb, split="check")
    assert check["n_questions"] < 8


def test_the_readme_block_is_replaced_between_its_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{tables.BEGIN}\nold table\n{tables.END}\nafter\n", encoding="utf-8")
    assert tables.write_readme("| new |\n", readme)
    assert readme.read_text(encoding="utf-8") == f"before\n{tables.BEGIN}\n| new |\n{tables.END}\nafter\n"
    bare = tmp_path / "other.md"
    bare.write_text("no markers\n", encoding="utf-8")
    assert not tables.write_readme("| new |\n", bare) and bare.read_text(encoding="utf-8") == "no markers\n"


def test_the_naive_pipeline_finds_a_folder_archives_articles_by_the_ids_in_their_file_names(settings, tmp_path):
    import json

    arch = tmp_path / "arch"
    arch.mkdir()
    (arch / "00001_BB-politics-7-20180101.txt").write_text("تعتمد الجماعات على تهريب النفط والفدية في تمويلها.",
                                                           encoding="utf-8")
    (arch / "00002_CN-sport-3-20180102.txt").write_text("فاز المنتخب الوطني بالبطولة بعد مباراة نهائية صعبة.",
                                                        encoding="utf-8")
    contexts = tmp_path / "none.contexts.jsonl"
    contexts.write_text("", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"id": "a", "question": "كيف تمول الجماعات نفسها بتهريب النفط؟", "answers": ["تهريب النفط"],
                             "context_id": "BB-politics-7-20180101"}, ensure_ascii=False), encoding="utf-8")
    s = naive_run(settings, q, contexts, [arch], k=2, embedder=FakeEmbedder())
    assert s["retrieval"]["recall@1"] == 1.0
