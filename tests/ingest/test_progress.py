"""The ingest progress bar counts documents (one big JSONL shows its progress and an ETA)."""
import gzip
import io
import json

from ingest.pipeline import run_ingest
from ingest.progress import IngestBar, estimate_documents
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import make_archive


def _jsonl(path, n):
    lines = "".join(json.dumps({"id": f"r{i}", "title": f"خبر {i}", "text": f"نص الخبر رقم {i} عن الاقتصاد."},
                               ensure_ascii=False) + "\n" for i in range(n))
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(lines.encode()))
    else:
        path.write_text(lines + "\n", encoding="utf-8")
    return path


def test_the_estimate_counts_records_not_files(tmp_path):
    arch = make_archive(tmp_path / "arch", 3)
    files = [_jsonl(tmp_path / "a.jsonl", 7), _jsonl(tmp_path / "b.jsonl.gz", 5), *sorted(arch.glob("*.txt"))]
    assert estimate_documents(files) == 7 + 5 + 3


def test_the_bar_ends_at_the_documents_read(tmp_path, monkeypatch, settings):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    src = _jsonl(tmp_path / "news.jsonl", 40)
    bar = IngestBar([src], True)
    monkeypatch.setattr("ingest.pipeline.IngestBar", lambda files, show: bar)
    report = run_ingest(settings, [src], embedder=FakeEmbedder(), show_progress=True)
    assert report.added == 40 and bar._bar.n == bar._bar.total == 40
    out = err.getvalue()
    assert "40/40" in out and "doc" in out and "<" in out  # tqdm's elapsed<remaining
    again = IngestBar([src], True)
    monkeypatch.setattr("ingest.pipeline.IngestBar", lambda files, show: again)
    run_ingest(settings, [src], embedder=FakeEmbedder(), show_progress=True)  # unchanged: the file is skipped, the bar still ends full
    assert again._bar.n == 40


def test_no_bar_when_not_shown(tmp_path):
    bar = IngestBar([tmp_path / "x.txt"], False)
    bar.tick()
    bar.file_done()
    bar.close()
    assert bar._bar is None
