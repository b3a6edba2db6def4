"""Chat feedback as the rating store keeps it: the settings worth recording with it."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.types import Filters

if TYPE_CHECKING:
    from ui.app import Services

# Settings worth recording with a rating; secrets (API key, auth) and paths stay out.
RATED_SETTINGS = ("embedding_model", "lexical_analyzer", "k", "fetch_k", "rrf_k", "dense_weight",
                  "lexical_weight", "root_weight", "per_doc_cap", "reranker_model", "answer_mode", "llm_model",
                  "llm_temperature", "refusal_threshold", "chunk_tokens", "chunk_overlap_tokens")


def rated_settings(s: Settings, filters: Filters | dict | None = None) -> dict:
    out = {k: getattr(s, k) for k in RATED_SETTINGS}
    if filters:
        out["filters"] = dataclasses.asdict(filters) if isinstance(filters, Filters) else filters
    return out


def store_feedback(svc: Services, answer: dict, thumbs: int, comment: str = "", filters=None) -> int:
    from evals.ratings import Feedback

    fb = Feedback(thumbs=int(thumbs), question=answer.get("question", ""),
                  answer=answer.get("answer", ""), comment=(comment or "").strip(),
                  citations=answer.get("citations", []), mode=answer.get("mode", svc.mode),
                  settings=rated_settings(svc.settings, filters))
    return svc.ratings.add_feedback(fb)

