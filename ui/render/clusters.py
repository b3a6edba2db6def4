"""Wire-copy clusters on a source card: who else carried the story (rag.index.cluster).

A pure function the source card (ui.render.chat) uses:

    also_in_label(citation.also_in, citation.source)  ->  "نشرته أيضًا: BBC، CNN (+2)"
"""
from __future__ import annotations

from collections.abc import Iterable

from rag.types import ClusterCopy


def also_in_label(copies: Iterable[ClusterCopy], own_source: str = "", *, names: int = 2,
                  arabic: bool = True) -> str:
    """The card line naming the other outlets that carried the story: up to `names` distinct
    sources (oldest copy first, the card's own source left out), then "(+n)" for the other
    copies. Copies only from the card's own outlet (an updated article) read "نسخ أخرى: n".
    "" when there are no copies."""
    copies = list(copies)
    if not copies:
        return ""
    own = own_source.strip()
    outlets = list(dict.fromkeys(c.source.strip() for c in copies if c.source.strip() and c.source.strip() != own))
    if not outlets:
        return f"نسخ أخرى: {len(copies)}" if arabic else f"other copies: {len(copies)}"
    shown = outlets[:names]
    rest = len(copies) - sum(1 for c in copies if c.source.strip() in shown)
    sep = "، " if arabic else ", "
    label = ("نشرته أيضًا: " if arabic else "also carried by: ") + sep.join(shown)
    return f"{label} (+{rest})" if rest else label
