"""What the reader tests share: a sample article, the demo archive, and load helpers."""
from pathlib import Path

from ingest.readers import load_file
from rag.types import FileFailure, SourceDoc

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "demo" / "archive"
ANT = ROOT.parent / "shared" / "data" / "news" / "ant5000"

TITLE = "أمن الحدود في زمن التحولات"
BODY = "تواجه الدول تحديات متزايدة في ضبط حدودها الطويلة، وتعتمد على التقنيات الحديثة والتعاون الإقليمي."
ARTICLE = f"{TITLE}\n\n{BODY}\n"


def load(path: Path) -> list:
    return list(load_file(path))


def docs(path: Path) -> list[SourceDoc]:
    out = load(path)
    assert all(isinstance(d, SourceDoc) for d in out), out
    return out


def failures(path: Path) -> list[FileFailure]:
    out = load(path)
    assert out and all(isinstance(f, FileFailure) for f in out), out
    return out
