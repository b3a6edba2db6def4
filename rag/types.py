"""Our own dataclasses between stages; library types stay inside the adapters."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceDoc:
    """One article as loaded (raw) or cleaned (body + metadata).

    `key` identifies the document in its source (path, or path#record id) and is what makes
    re-ingestion incremental; `doc_id` is the stable id derived from it (or a record's own id).
    """

    doc_id: str
    key: str
    path: str
    text: str
    title: str = ""
    date: str = ""  # ISO 8601, "" when unknown
    author: str = ""
    publisher: str = ""
    source: str = ""
    url: str = ""
    keywords: tuple[str, ...] = ()
    # (char offset into `text`, heading) pairs: the heading applies from that offset on.
    sections: tuple[tuple[int, str], ...] = ()
    raw_html: bool = False  # text is HTML still to be extracted by ingest.clean
    line: int | None = None  # a record's line (JSONL) or position (JSON) in its file, for messages


@dataclass(frozen=True)
class ClusterCopy:
    """Another copy of the same story (rag.index.cluster): what a source card names."""

    doc_id: str
    title: str = ""
    source: str = ""
    date: str = ""
    url: str = ""  # the copy's address, when its source gave one


@dataclass(frozen=True)
class Chunk:
    id: str  # content hash of (doc_id, ordinal, text)
    doc_id: str
    text: str
    ordinal: int
    start: int  # char span in the cleaned document text
    end: int
    section: str = ""
    title: str = ""
    date: str = ""
    author: str = ""
    source: str = ""  # publisher or news source
    path: str = ""
    url: str = ""
    # The document's wire-copy cluster (rag.index.cluster; "" when unclustered) and the other
    # documents in it, oldest first.
    cluster_id: str = ""
    also_in: tuple[ClusterCopy, ...] = ()
    # Sentences of this chunk that recur across the archive as boilerplate (rag.index.boilerplate),
    # normalised: never quoted or counted as support.
    boilerplate: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score, higher is better (not a probability)
    dense_score: float | None = None  # cosine similarity when the dense side found it
    dense_rank: int | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None  # BM25 over stems (higher better) when lexical found it
    root_rank: int | None = None


@dataclass(frozen=True)
class Filters:
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive
    authors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    title: str
    date: str
    author: str
    source: str
    text: str
    score: float
    quote: str = ""  # the sentence(s) of `text` the answer relies on, for highlighting
    instructions: tuple[str, ...] = ()  # sentences of `text` addressed to an assistant: shown as a warning
    cluster_id: str = ""  # the cited document's wire-copy cluster
    also_in: tuple[ClusterCopy, ...] = ()  # the other copies of the story, not cited again


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    mode: str  # "extractive" | "llm"
    refused: bool
    citations: tuple[Citation, ...] = ()
    standalone_question: str = ""
    nearest: tuple[Hit, ...] = ()  # shown with a refusal
    flagged: tuple[str, ...] = ()  # claims whose markers were invalid and were dropped


@dataclass
class FileFailure:
    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class IdNotice:
    """A record whose own id another source's document already has: that document keeps the id
    and its content, and this record is stored under an id scoped to its own file (ingest.ids)."""

    path: str
    line: int | None
    record_id: str  # the id the record gave
    doc_id: str  # the id it is stored under
    kept: str  # the path of the document that keeps record_id

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (f"{where}: record id {self.record_id!r} is already used by a document from {self.kept}, "
                f"which is kept; this record is stored as {self.doc_id!r}")


@dataclass
class IngestReport:
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    removed: int = 0
    failed: int = 0
    chunks: int = 0  # chunks written in this run
    total_chunks: int = 0  # chunks in the index after the run
    seconds: float = 0.0
    failures: list[FileFailure] = field(default_factory=list)
    notices: list[IdNotice] = field(default_factory=list)  # records stored under a scoped id

    def as_dict(self) -> dict:
        return {
            "added": self.added, "unchanged": self.unchanged, "updated": self.updated,
            "removed": self.removed, "failed": self.failed, "chunks": self.chunks,
            "total_chunks": self.total_chunks, "seconds": round(self.seconds, 3),
            "failures": [{"path": f.path, "line": f.line, "reason": f.reason} for f in self.failures],
            "notices": [{"path": n.path, "line": n.line, "record_id": n.record_id, "doc_id": n.doc_id,
                         "kept": n.kept, "message": str(n)} for n in self.notices],
        }


@dataclass(frozen=True)
class DocInfo:
    """A document as the index knows it (archive table in the UI, pruning, evals)."""

    doc_id: str
    key: str
    path: str
    title: str
    date: str
    author: str
    source: str
    chunks: int
    content_hash: str
    ingested_at: str
    cluster_id: str = ""  # its wire-copy cluster (rag.index.cluster); "" before clustering
    cluster_size: int = 1  # documents in that cluster, this one included

    @property
    def record_id(self) -> str:
        """The id a JSON record gave itself (its key is "<path>#<record id>"), which its doc id
        differs from when it was scoped to its file (ingest.ids); "" for a whole-file document."""
        return self.key[len(self.path) + 1:] if self.key.startswith(self.path + "#") else ""


@dataclass(frozen=True)
class BriefSentence:
    text: str
    citations: tuple[int, ...]  # numbers into Briefing.sources
    passages: tuple[str, ...] = ()  # ids of the chunks it was taken from (or written from)


@dataclass(frozen=True)
class BriefSection:
    heading: str
    sentences: tuple[BriefSentence, ...]
    aspect: bool = True  # False: the closing section of on-topic sentences under no aspect


@dataclass(frozen=True)
class TimelineEvent:
    date: str  # ISO date (YYYY-MM-DD or YYYY-MM or YYYY)
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class KeyFigure:
    value: str  # the number with its unit as written ("80 مليون دولار", "5 في المئة")
    text: str  # the clause it comes from
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Briefing:
    topic: str
    title: str
    since: str  # over all cited documents' dates (or the filter's bounds)
    until: str
    n_articles: int  # documents cited
    source_names: tuple[str, ...]
    summary: tuple[BriefSentence, ...]
    sections: tuple[BriefSection, ...]
    timeline: tuple[TimelineEvent, ...]
    sources: tuple[Citation, ...]  # numbered by Citation.n, 1-based
    language: str = "ar"
    n_considered: int = 0  # documents retrieved within the filters and judged
    n_undated: int = 0  # cited documents without a date
    n_unsourced: int = 0  # cited documents without a publisher / source
    figures: tuple[KeyFigure, ...] = ()
    open_questions: tuple[str, ...] = ()  # aspects asked for that the archive does not support
    coverage_note: str = ""  # said when the archive barely covers the topic
    dropped_aspects: tuple[str, ...] = ()  # aspects dropped for too little support (all kinds)
