"""Parse and check [n] citation markers against the passages a text was written from.

One rule for chat answers and briefings alike, since a reader trusts both only as far as their
markers go. A text is split into lines and each line into claims (a sentence with the markers
that follow it); then:
- a marker must point to a passage that was given (1..n); a claim carrying ANY marker that does
  not is dropped whole and flagged, even when another marker on it is valid (a model that cites
  a passage it was not shown may be making the claim up, not just mis-numbering it);
- a claim without markers is covered by the next marked claim on the same line (models often put
  one marker after two sentences) and then rests on the same passages; when that claim is
  dropped, or no marked claim follows, it is dropped and flagged;
- a lead-in line ending with ':' needs no marker (chat keeps it when something follows; a
  briefing, whose every sentence needs a source, leaves it out).
`check` applies the rule; `verify` (chat) renumbers the kept markers in order of first use so
the reader sees [1], [2], ... whatever numbers the model used; an answer with no valid citation
left is the caller's signal to refuse. The briefing writer (rag.briefing.llm_writer) keeps
`check`'s claims as its sentences.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.answering.injection import is_instruction
from rag.text.arabic import analyze, normalize, sentences
from rag.types import Citation, Hit

_DIGITS = "0-9\u0660-\u0669\u06F0-\u06F9"
# [1] / [1, 2] / [1،2] / [١] ; adjacent markers [1][2] are simply two matches.
MARKER = re.compile(rf"\[\s*([{_DIGITS}]+(?:\s*[,،؛;]\s*[{_DIGITS}]+)*)\s*\]")
_CLAIM_END = re.compile(r"(?<=[.!?؟!؛])\s+(?!\[)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,،؛;:!?؟])")


_SUPERSCRIPT = str.maketrans("0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "⁰¹²³⁴⁵⁶⁷⁸⁹" * 3)


def own_footnotes(text: str) -> str:
    """Archive text with its own bracketed footnote numbers ("…الكهرومغناطيسية.[1][2]") written as
    superscripts ("⁽¹⁾⁽²⁾"): the reader still sees the document's footnotes, and no parser of ours
    reads them as our citation markers. Applied to every passage text before it enters an answer
    (quoted sentences, LLM prompts)."""
    return MARKER.sub(lambda m: "".join(f"⁽{n.strip().translate(_SUPERSCRIPT)}⁾" for n in re.split(r"[,،؛;]", m.group(1))),
                      text)


def marker_numbers(text: str) -> list[int]:
    """All marker numbers in order of appearance (Arabic-Indic digits read as ASCII)."""
    out: list[int] = []
    for m in MARKER.finditer(text):
        out.extend(int(normalize(d)) for d in re.split(r"[,،؛;]", m.group(1)))
    return out


def _claims(text: str) -> list[list[str]]:
    """Lines, each split into claims (sentences with the markers that follow them)."""
    return [[c for c in _CLAIM_END.split(line.strip()) if c.strip()] for line in text.split("\n")]


@dataclass(frozen=True)
class Claim:
    """One claim of a checked text and what the rule made of it."""

    text: str  # as written, markers included
    bare: str  # without its markers
    line: int  # index of its line in the text
    passages: tuple[int, ...] = ()  # the passage numbers (as given) it rests on, first use first
    kept: bool = False
    lead_in: bool = False  # an unmarked line ending with ':' (kept, citing nothing)


def check(text: str, n_passages: int) -> list[Claim]:
    """Every claim of `text`, in order, kept or dropped by the rule of the module docstring."""
    out: list[Claim] = []
    for li, line in enumerate(_claims(text)):
        pending: list[str] = []  # unmarked claims waiting for a marker later on the line
        kept_here = False
        for claim in line:
            nums = list(dict.fromkeys(marker_numbers(claim)))
            if not nums:
                pending.append(claim)
                continue
            ok = all(1 <= n <= n_passages for n in nums)
            cited = tuple(nums) if ok else ()
            out.extend(Claim(p, _strip_markers(p), li, cited, ok) for p in pending)
            out.append(Claim(claim, _strip_markers(claim), li, cited, ok))
            kept_here = kept_here or ok
            pending = []
        for p in pending:
            lead_in = p.rstrip().endswith(":") and not kept_here
            kept_here = kept_here or lead_in
            out.append(Claim(p, _strip_markers(p), li, (), lead_in, lead_in))
    return out


def flagged_of(claims: Sequence[Claim]) -> tuple[str, ...]:
    """The dropped claims, as the reader would have seen them (without markers)."""
    return tuple(c.bare for c in claims if not c.kept and c.bare)


def verify(
    text: str, hits: Sequence[Hit], quotes: Mapping[int, str] | None = None
) -> tuple[str, tuple[Citation, ...], tuple[str, ...]]:
    """Check a chat answer against `hits`: keep the supported claims, markers renumbered by
    first use; flag the dropped ones (the rule is the module docstring's).

    `quotes` maps a passage number (as given) to the sentence(s) the answer used from it;
    when absent the quote is the passage sentence closest to the claims citing it.
    Returns (text with renumbered markers, citations, flagged claims).
    """
    claims = check(text, len(hits))
    renum: dict[int, int] = {}
    claims_of: dict[int, list[str]] = {}
    lines: dict[int, list[Claim]] = {}
    for c in claims:
        for n in c.passages:
            renum.setdefault(n, len(renum) + 1)
            claims_of.setdefault(n, []).append(c.bare)
        if c.kept:
            lines.setdefault(c.line, []).append(c)
    out_lines = [" ".join(_renumber(c.text, renum) if MARKER.search(c.text) else c.text for c in cs)
                 for _, cs in sorted(lines.items())]
    # Lead-in lines that introduce nothing (all their claims dropped) are removed too.
    while out_lines and out_lines[-1].rstrip().endswith(":"):
        out_lines.pop()
    cites = tuple(
        _citation(new, hits[old - 1], (quotes or {}).get(old) or _best_quote(hits[old - 1], claims_of[old]))
        for old, new in sorted(renum.items(), key=lambda kv: kv[1])
    )
    return "\n".join(out_lines).strip(), cites, flagged_of(claims)


def _renumber(claim: str, renum: Mapping[int, int]) -> str:
    """Rewrite markers in place to their new numbers ([2, 3] -> [1][2])."""

    def sub(m: re.Match) -> str:
        nums = [int(normalize(d)) for d in re.split(r"[,،؛;]", m.group(1))]
        return "".join(f"[{renum[n]}]" for n in dict.fromkeys(nums))

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
        instructions=tuple(c.text[a:b] for a, b in sentences(c.text) if is_instruction(c.text[a:b])),
        cluster_id=c.cluster_id, also_in=c.also_in,  # wire-copy cluster (rag.index.cluster)
    )
