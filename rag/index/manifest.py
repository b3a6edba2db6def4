"""What an index records about how it was built, and the check that refuses to mix vectors or
terms built differently. Lives in rag (not ingest) so readers need no ingest import to open it.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from rag.config import Settings
from rag.index.sqlite import DB_FILE
from rag.text.arabic import NORMALIZER_VERSION

# The chunk format this index stores; ingest.chunk bumps it when chunking output changes.
# Bump only when chunks built before would be wrong, not when boundaries merely shift (as when
# sentences stopped splitting inside brackets): a bump makes every index re-embed from scratch.
CHUNKER_VERSION = "para-sent-1"

# Keys whose change needs only the lexical side re-analyzed (the vectors stay valid).
LEXICAL_KEYS = frozenset({"normalizer_version", "lexical_analyzer"})


def expected(settings: Settings, embedder) -> dict[str, str]:
    """How an index is (to be) built with these settings and this embedder."""
    return {
        "embedding_model": embedder.model_id,
        "dimension": str(embedder.dimension),
        "document_prompt": embedder.document_prompt,
        "normalizer_version": NORMALIZER_VERSION,
        "lexical_analyzer": settings.lexical_analyzer,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": str(settings.chunk_tokens),
        "chunk_overlap_tokens": str(settings.chunk_overlap_tokens),
    }


def recorded(index_dir: Path | str) -> dict[str, str]:
    """What an existing index records ({} when there is none), read from its SQLite file without
    opening the Store: the embedder asks before it picks a backend, so an index keeps the vectors
    it was built with (and `rag ingest --rebuild` rebuilds with them unless the setting says
    otherwise)."""
    path = Path(index_dir) / DB_FILE
    if not path.is_file():
        return {}
    try:
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            return dict(conn.execute("SELECT key, value FROM meta WHERE key != 'generation'").fetchall())
    except sqlite3.Error:  # no meta table yet, or not our file: the Store reports it when opened
        return {}


def changed_keys(have: dict[str, str], expected: dict[str, str], *, writing: bool) -> list[str]:
    """Keys where the index differs from what is expected; an expected "" means "any". Chunking
    only matters for writes (a reader never re-chunks)."""
    keys = expected.keys() if writing else [k for k in expected if not k.startswith("chunk")]
    return [k for k in keys if expected[k] != "" and have.get(k) != expected[k]]


def mismatch_message(index_dir, have: dict[str, str], expected: dict[str, str],
                     changed: list[str], hint: str = "") -> str:
    """hint: what the embedder adds when the model differs (an embedding server names itself)."""
    diff = [f"{k}: index has {have.get(k)!r}, settings ask for {expected[k]!r}" for k in changed]
    lead = f"{hint[0].upper()}{hint[1:]}; or rebuild" if hint and "embedding_model" in changed else "Rebuild"
    return (f"the index in {index_dir} was built differently ({'; '.join(diff)}). "
            f"{lead} it with `rag ingest --rebuild PATH...`, or point --data-dir at another index.")
