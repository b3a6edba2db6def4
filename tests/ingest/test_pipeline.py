"""Ingestion end to end against a real Chroma on disk, with the fake embedder."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag.errors import IndexMismatchError
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from rag.types import Filters
from tests.fakes import FakeEmbedder

ARTICLE = """يصدر عن مركز الدراسات التجريبي
{title}

الأحد 3/مارس/2019 - 10:15 ص
صورة أرشيفية
{author}
طباعة
{body}
"""


def write_article(folder: Path, name: str, title: str, body: str, author="كاتب تجريبي"):
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(ARTICLE.format(title=title, body=body, author=author), encoding="utf-8")
    return p


def make_archive(folder: Path, n: int = 6) -> Path:
    topics = ["تمويل الجماعات المتطرفة", "التجنيد عبر الإنترنت", "أمن الحدود", "برامج إعادة التأهيل",
              "العائدون من مناطق النزاع", "الذئاب المنفردة", "الدعاية الرقمية", "الشباب ووسائل التواصل"]
    for i in range(n):
        t = topics[i % len(topics)]
        body = "\n\n".join(
            f"تتناول الفقرة {j} من هذه الدراسة موضوع {t} في المنطقة العربية، وتعرض أرقاما وتواريخ محددة عن عام {2010 + j}."
            for j in range(8))
        write_article(folder, f"a{i:02d}.txt", f"دراسة عن {t}", body)
    return folder


def ingest(settings, paths, emb=None, **kw):
    return run_ingest(settings, paths, embedder=emb or FakeEmbedder(), show_progress=False, **kw)


def test_ingest_then_search_finds_the_topic(settings, tmp_path):
    arch = make_archive(tmp_path / "arch")
    r = ingest(settings, [arch])
    assert (r.added, r.failed) == (6, 0) and r.chunks > 0 and r.total_chunks == r.chunks
    store = Store(settings, FakeEmbedder())
    hits = HybridRetriever(settings, store).search("تمويل الجماعات المتطرفة", k=3)
    assert hits and hits[0].chunk.title == "دراسة عن تمويل الجماعات المتطرفة"
    c = hits[0].chunk
    assert c.author == "كاتب تجريبي" and c.date.startswith("2019-03-03") and c.source == "مركز الدراسات التجريبي"
    assert "طباعة" not in c.text and "صورة أرشيفية" not in c.text


def test_reingest_unchanged_embeds_nothing_and_changed_file_replaces_chunks(settings, tmp_path):
    arch = make_archive(tmp_path / "arch")
    ingest(settings, [arch])
    emb = FakeEmbedder()
    r = ingest(settings, [arch], emb)
    assert (r.added, r.updated, r.unchanged, r.chunks) == (0, 0, 6, 0) and emb.calls == 0
    # Touch without change: content hash says unchanged.
    os.utime(arch / "a00.txt", None)
    r = ingest(settings, [arch], emb)
    assert r.unchanged == 6 and emb.calls == 0
    before_sql, _ = Store(settings, emb).all_chunk_ids()
    write_article(arch, "a01.txt", "عنوان جديد", "نص جديد تماما عن موضوع مختلف.")
    r = ingest(settings, [arch], emb)
    assert (r.updated, r.unchanged) == (1, 5)
    store = Store(settings, emb)
    sql_ids, chroma_ids = store.all_chunk_ids()
    assert sql_ids == chroma_ids and len(sql_ids) < len(before_sql)
    assert [d.title for d in store.documents("عنوان جديد")] == ["عنوان جديد"]


def test_prune_removes_deleted_files(settings, tmp_path):
    arch = make_archive(tmp_path / "arch")
    ingest(settings, [arch])
    (arch / "a02.txt").unlink()
    r = ingest(settings, [arch])
    assert r.removed == 0 and len(Store(settings, FakeEmbedder()).documents()) == 6
    r = ingest(settings, [arch], prune=True)
    assert r.removed == 1
    store = Store(settings, FakeEmbedder())
    assert len(store.documents()) == 5
    sql_ids, chroma_ids = store.all_chunk_ids()
    assert sql_ids == chroma_ids


def test_bad_files_are_reported_and_the_rest_lands(settings, tmp_path):
    arch = make_archive(tmp_path / "arch", 3)
    (arch / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (arch / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (arch / "empty.txt").write_bytes(b"")
    (arch / "records.jsonl").write_text(
        '{"id": "r1", "title": "سجل", "text": "نص سجل سليم عن التجنيد."}\n{not json\n', encoding="utf-8")
    r = ingest(settings, [arch, tmp_path / "missing-folder"])
    failed = {Path(f.path).name for f in r.failures}
    assert {"broken.pdf", "binary.txt", "empty.txt", "records.jsonl", "missing-folder"} <= failed
    assert any(f.line == 2 for f in r.failures if f.path.endswith("records.jsonl"))
    assert r.added == 4  # 3 articles + the good JSONL record


def test_mismatched_model_is_refused_with_the_fix(settings, tmp_path):
    arch = make_archive(tmp_path / "arch", 2)
    ingest(settings, [arch])
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        ingest(settings, [arch], FakeEmbedder(dimension=32, model_id="other-model"))
    r = ingest(settings, [arch], FakeEmbedder(dimension=32, model_id="other-model"), rebuild=True)
    assert r.added == 2


def test_filters_restrict_results(settings, tmp_path):
    arch = tmp_path / "arch"
    write_article(arch, "old.txt", "قديم", "تمويل الجماعات في الماضي.", author="أحمد سالم")
    p = write_article(arch, "new.txt", "جديد", "تمويل الجماعات حديثا.", author="سارة يوسف")
    p.write_text(p.read_text(encoding="utf-8").replace("3/مارس/2019", "5/مايو/2023"), encoding="utf-8")
    ingest(settings, [arch])
    r = HybridRetriever(settings, Store(settings, FakeEmbedder()))
    assert {h.chunk.title for h in r.search("تمويل", Filters(since="2020"), k=5)} == {"جديد"}
    assert {h.chunk.title for h in r.search("تمويل", Filters(until="2019"), k=5)} == {"قديم"}
    assert {h.chunk.title for h in r.search("تمويل", Filters(authors=("أحمد سالم",)), k=5)} == {"قديم"}
    for mode in ("dense", "lexical"):
        assert {h.chunk.title for h in r.search("تمويل", Filters(since="2020-01-01"), k=5, mode=mode)} == {"جديد"}
    old_id = next(d.doc_id for d in Store(settings, FakeEmbedder()).documents() if d.title == "قديم")
    for mode in ("hybrid", "dense", "lexical"):
        assert {h.chunk.title for h in r.search("تمويل", Filters(doc_ids=(old_id,)), k=5, mode=mode)} == {"قديم"}


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from rag.config import load_settings
    from ingest.pipeline import run_ingest
    from tests.fakes import FakeEmbedder

    class Slow(FakeEmbedder):
        def embed_documents(self, texts):
            time.sleep(0.4)
            print("batch", flush=True)
            return super().embed_documents(texts)

    s = load_settings(env={{}}, data_dir={data!r}, embed_batch_size=2)
    run_ingest(s, [{arch!r}], embedder=Slow(), show_progress=False)
    print("finished", flush=True)
""")


def make_jsonl_archive(folder: Path, n: int) -> Path:
    """One large JSONL file: resume must work inside a file, not only between files."""
    import json

    folder.mkdir(parents=True)
    with open(folder / "records.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            body = " ".join(f"الجملة {j} من السجل {i} عن أمن المنطقة وتمويل الجماعات." for j in range(30))
            f.write(json.dumps({"id": f"r{i}", "title": f"سجل {i}", "text": body}, ensure_ascii=False) + "\n")
    return folder


@pytest.mark.parametrize("layout", ["files", "one-jsonl"])
def test_sigkill_midway_then_rerun_equals_clean_run(tmp_path, layout):
    from rag.config import load_settings

    arch = make_archive(tmp_path / "arch", 40) if layout == "files" else make_jsonl_archive(tmp_path / "arch", 40)
    root = str(Path(__file__).resolve().parents[2])
    killed = tmp_path / "killed"
    script = KILL_SCRIPT.format(root=root, data=str(killed), arch=str(arch))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    batches = 0
    for line in proc.stdout:
        batches += line.startswith("batch")
        if batches == 3:
            time.sleep(0.2)  # inside the next write
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    s_killed = load_settings(env={}, data_dir=killed, embed_batch_size=2)
    partial = len(Store(s_killed, FakeEmbedder()).documents())
    assert 0 < partial < 40
    r = ingest(s_killed, [arch])
    assert r.added + r.unchanged == 40
    s_clean = load_settings(env={}, data_dir=tmp_path / "clean", embed_batch_size=2)
    ingest(s_clean, [arch])
    killed_ids = Store(s_killed, FakeEmbedder()).all_chunk_ids()
    clean_ids = Store(s_clean, FakeEmbedder()).all_chunk_ids()
    assert killed_ids[0] == killed_ids[1] == clean_ids[0] == clean_ids[1]


def test_normalizer_upgrade_reanalyzes_lexical_without_reembedding(settings, tmp_path):
    arch = make_archive(tmp_path / "arch", 2)
    ingest(settings, [arch])
    store = Store(settings, FakeEmbedder())
    store.db.execute("UPDATE meta SET value='ar-0' WHERE key='normalizer_version'")
    store.db.execute("DELETE FROM chunks_fts")
    store.db.execute("DELETE FROM roots_fts")
    emb = FakeEmbedder()
    r = ingest(settings, [arch], emb)
    assert emb.calls == 0 and r.unchanged == 2
    assert Store(settings, emb).lexical_search("تمويل", 5)
    assert Store(settings, emb).lexical_search("الممولين", 5, field="roots")


def test_roots_index_joins_derivations_and_hybrid_search_uses_it(settings, tmp_path):
    """"مؤسسو" / "تأسيس" share no light stem with "تأسست", only the root أسس."""
    arch = tmp_path / "arch"
    write_article(arch, "a.txt", "تقرير عن الحركة", "تأسست الحركة في مدينة صغيرة على يد مجموعة من الطلاب.")
    write_article(arch, "b.txt", "تقرير عن الحدود", "تراقب الدوريات الحدود الجنوبية ليلا ونهارا.")
    ingest(settings, [arch])
    store = Store(settings, FakeEmbedder())
    assert not store.lexical_search("التأسيس", 5)
    (top, _), = store.lexical_search("التأسيس", 5, field="roots")
    assert store.chunks([top])[top].title == "تقرير عن الحركة"
    s = settings.replace(dense_weight=0.0, lexical_weight=0.0)
    (hit,) = HybridRetriever(s, store).search("التأسيس", k=1)
    assert hit.chunk.title == "تقرير عن الحركة" and hit.score > 0  # only the roots ranking scored it
    assert hit.root_rank == 0 and hit.lexical_rank is None and hit.lexical_score is None
    (both,) = HybridRetriever(s, store).search("تأسست الحركة", k=1)  # the answerer sees both signals
    assert both.lexical_rank == 0 and both.lexical_score > 0 and both.root_rank == 0
    assert HybridRetriever(s.replace(root_weight=0.0), store).search("التأسيس", k=1)[0].score == 0
    (arch / "a.txt").unlink()
    ingest(settings, [arch], prune=True)
    assert not store.lexical_search("التأسيس", 5, field="roots")  # removed with its document


class TranslatingEmbedder(FakeEmbedder):
    """Embeds the English test question as its Arabic rendering: a stand-in multilingual model."""

    ENGLISH = {"When was the Arab League founded?": "متى تأسست جامعة الدول العربية؟"}

    def embed_query(self, text):
        return super().embed_query(self.ENGLISH.get(text, text))


def test_latin_script_question_over_arabic_passages_is_served_by_the_dense_side(settings, tmp_path):
    arch = tmp_path / "arch"
    write_article(arch, "a.txt", "تقرير عن الجامعة", "تأسست جامعة الدول العربية في القاهرة عام 1945 بسبع دول.")
    # Latin tokens in an Arabic article: all the lexical side of an English question can match.
    write_article(arch, "b.txt", "تقرير عن حساب", "نشر حساب Arab League على منصة X صورا قديمة من أرشيف المكتبة.")
    ingest(settings, [arch], TranslatingEmbedder())
    store = Store(settings, TranslatingEmbedder())
    q = "When was the Arab League founded?"
    assert [cid for cid, _ in store.lexical_search(q, 5)] and store.dense_search(store.embedder.embed_query(q), 1)
    hits = HybridRetriever(settings, store).search(q, k=2)
    assert hits[0].chunk.title == "تقرير عن الجامعة"
    assert all(h.lexical_rank is None and h.root_rank is None for h in hits)  # the lexical noise stayed out
    (arabic,) = HybridRetriever(settings, store).search("متى تأسست جامعة الدول العربية؟", k=1)
    assert arabic.lexical_rank == 0  # Arabic questions keep the hybrid
    mixed = HybridRetriever(settings, store).search("ماذا نشر حساب Arab League؟", k=2)
    assert any(h.lexical_rank is not None for h in mixed)  # Arabic words around a Latin name: hybrid too


class ReverseReranker:
    """Scores passages so that the fused order is reversed: proves the reranker decides."""

    def score(self, query, texts):
        return [float(i) for i in range(len(texts))]


def test_optional_reranker_reorders_the_head(settings, tmp_path):
    arch = make_archive(tmp_path / "arch", 6)
    ingest(settings, [arch])
    store = Store(settings, FakeEmbedder())
    plain = HybridRetriever(settings, store).search("تمويل الجماعات المتطرفة", k=3)
    reranked = HybridRetriever(settings.replace(per_doc_cap=0), store, reranker=ReverseReranker()).search(
        "تمويل الجماعات المتطرفة", k=3)
    assert plain[0].chunk.title == "دراسة عن تمويل الجماعات المتطرفة"
    assert reranked[0].chunk.id != plain[0].chunk.id


def test_missing_reranker_model_is_a_clear_error(settings, tmp_path):
    from rag.errors import ModelUnavailableError
    from rag.index.embeddings import load_reranker

    with pytest.raises(ModelUnavailableError, match="RAG_RERANKER_MODEL"):
        load_reranker(settings.replace(reranker_model=str(tmp_path / "no-such-reranker")))
