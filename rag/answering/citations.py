"""Parse and verify [n] citation markers against the passages an answer was given.

An answer is trusted only as far as its markers are: a marker must point to a passage that was
actually shown (1..len(hits)); invalid ones are dropped and their claim flagged; a claim left
without any valid marker is removed. Citations are renumbered in order of first use so the
reader sees [1], [2], ... whatever numbers the model used. An answer with no valid citation
left is the caller's signal to refuse.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from rag.text.arabic import analyze, normalize, sentences
from rag.types import Citation, Hit

_DIGITS = "0-9\u0660-\u0669\u06F0-\u06F9"
# [1] / [1, 2] / [1،2] / [١] ; adjacent markers [1][2] are simply two matches.
MARKER = re.compile(rf"\[\s*([{_DIGITS}]+(?:\s*[,،؛;]\s*[{_DIGITS}]+)*)\s*\]")
_CLAIM_END = re.compile(r"(?<=[.!?؟!؛])\s+(?!\[)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,،؛;:!?؟])")


def marker_numbers(text: str) -> list[int]:
    """All marker numbers in order of appearance (Arabic-Indic digits read as ASCII)."""
    out: list[int] = []
    for m in MARKER.finditer(text):
        out.extend(int(normalize(d)) for d in re.split(r"[,،؛;]", m.group(1)))
    return out


def _claims(text: str) -> list[list[str]]:
    """Lines, each split into claims (sentences with the markers that follow them)."""
    return [[c for c in _CLAIM_END.split(line.strip()) if c.strip()] for line in text.split("\n")]


def verify(
    text: str, hits: Sequence[Hit], quotes: Mapping[int, str] | None = None
) -> tuple[str, tuple[Citation, ...], tuple[str, ...]]:
    """Keep valid markers (renumbered by first use), flag and drop unsupported claims.

    A claim without markers is covered by a later marked claim on the same line (models often
    put one marker after two sentences); lead-in lines ending with ':' need no marker.
    `quotes` maps a passage number (as given) to the sentence(s) the answer used from it;
    when absent the quote is the passage sentence closest to the claims citing it.
    Returns (text with renumbered markers, citations, flagged claims).
    """
    renum: dict[int, int] = {}
    claims_of: dict[int, list[str]] = {}
    flagged: list[str] = []
    out_lines: list[str] = []
    for line in _claims(text):
        kept: list[str] = []
        pending: list[str] = []  # unmarked claims waiting for a marker later on the line
        for claim in line:
            nums = marker_numbers(claim)
            bare = _strip_markers(claim)
            if not nums:
                pending.append(claim)
                continue
            valid = [n for n in dict.fromkeys(nums) if 1 <= n <= len(hits)]
            if len(valid) < len(dict.fromkeys(nums)):
                flagged.append(bare)
            if not valid:
                flagged.extend(_strip_markers(p) for p in pending)
                pending = []
                continue
            for n in valid:
                renum.setdefault(n, len(renum) + 1)
                claims_of.setdefault(n, []).extend([bare, *map(_strip_markers, pending)])
            kept.extend(pending)
            kept.append(_renumber(claim, renum, len(hits)))
            pending = []
        for p in pending:
            if p.rstrip().endswith(":") and not kept:
                kept.append(p)
            elif p.strip():
                flagged.append(_strip_markers(p))
        if kept:
            out_lines.append(" ".join(kept))
    # Lead-in lines that introduce nothing (all their claims dropped) are removed too.
    while out_lines and out_lines[-1].rstrip().endswith(":"):
        out_lines.pop()
    cites = tuple(
        _citation(new, hits[old - 1], (quotes or {}).get(old) or _best_quote(hits[old - 1], claims_of[old]))
        for old, new in sorted(renum.items(), key=lambda kv: kv[1])
    )
    return "\n".join(out_lines).strip(), cites, tuple(f for f in flagged if f)


def _renumber(claim: str, renum: Mapping[int, int], n_hits: int) -> str:
    """Rewrite markers in place to their new numbers, dropping invalid ones."""

    def sub(m: re.Match) -> str:
        nums = [int(normalize(d)) for d in re.split(r"[,،؛;]", m.group(1))]
        return "".join(f"[{renum[n]}]" for n in dict.fromkeys(nums) if 1 <= n <= n_hits)

    return re.sub(r"  +", " ", _SPACE_BEFORE_PUNCT.sub(r"\1", MARKER.sub(sub, claim))).strip()


def _strip_markers(claim: str) -> str:
    return _SPACE_BEFORE_PUNCT.sub(r"\1", MARKER.sub("", claim)).strip()


def _best_quote(hit: Hit, claims: Sequence[str]) -> str:
    """The passage sentence sharing most terms with the claims that cite it ("" when none)."""
    text = hit.chunk.text
    wanted = set(analyze(" ".join(claims)))
    best, best_overlap = "", 0
    for s, e in sentences(text):
        overlap = len(wanted & set(analyze(text[s:e])))
        if overlap > best_overlap:
            best, best_overlap = text[s:e], overlap
    return best


def _citation(n: int, hit: Hit, quote: str) -> Citation:
    c = hit.chunk
    return Citation(
        n=n, chunk_id=c.id, doc_id=c.doc_id, title=c.title, date=c.date, author=c.author,
        source=c.source, text=c.text, score=hit.score, quote=quote,
    )
