"""Check the hand-written development sets: `python -m evals.check_devset`.

Two kinds of check:
- format (always): every line parses with our gold loader, required fields are present and typed,
  ids are unique, `follows` points to an earlier question of the same file, kinds and languages are
  known, unanswerable lines have no answers and no context, answer spans are short;
- article (needs ../shared beside the repository): every answer span occurs in its article after a
  light normalisation (diacritics and tatweel dropped, alef forms unified, spaces collapsed), the
  context ids exist, and the `absent_terms` recorded on each unanswerable question occur in none of
  the documents (the 5,000 news articles for the news set; the demo archive and the seed for the
  research set). Skipped with a message when ../shared is absent.

Prints counts per kind, source and language; exits 1 when a check fails.
"""
from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from evals.gold import load_questions

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "evals" / "data"
SHARED = REPO.parent / "shared"
NEWS_DIR = SHARED / "data" / "news" / "ant5000"
SEED = SHARED / "seeds" / "000_678fdbfc4279e1ed.txt"
DEMO_DIR = REPO / "demo" / "archive"

NEWS = DATA / "news.questions.jsonl"
RESEARCH = DATA / "research.questions.jsonl"

KINDS = frozenset({"date", "number", "person", "organisation", "place", "why", "how", "what", "unanswerable"})
LANGS = frozenset({"ar", "en"})
MAX_ANSWER_WORDS = 12
REQUIRED = ("id", "question", "answers", "context_id", "kind")

_DIACRITICS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")  # tashkeel + tatweel
_ALEF = re.compile(r"[\u0622\u0623\u0625\u0671]")
_SPACE = re.compile(r"\s+")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_LATIN = re.compile(r"[A-Za-z]")


def light_normalize(text: str) -> str:
    """The normalisation a "contains gold" metric can be expected to apply, and no more."""
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text)
    text = _ALEF.sub("ا", text)
    return _SPACE.sub(" ", text).strip().lower()


def read_records(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- format checks

def format_problems(path: Path) -> list[str]:
    """Problems that need no article text; [] when the file is sound."""
    name = path.name
    problems: list[str] = []
    try:
        list(load_questions(path))  # the project's own loader must accept every line
    except Exception as e:  # noqa: BLE001 - report whatever the loader rejects
        return [f"{name}: the gold loader rejects the file: {e}"]
    records = read_records(path)
    seen: dict[str, dict] = {}
    for n, r in enumerate(records, start=1):
        where = f"{name}:{n} ({r.get('id', '?')})"
        for key in REQUIRED:
            if key not in r:
                problems.append(f"{where}: missing field {key!r}")
        rid = r.get("id")
        if rid in seen:
            problems.append(f"{where}: duplicate id")
        kind, answers, ctx = r.get("kind"), r.get("answers"), r.get("context_id")
        lang = r.get("lang", "ar")
        if kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
        if lang not in LANGS:
            problems.append(f"{where}: unknown lang {lang!r}")
        question = r.get("question", "")
        if lang == "en" and (_ARABIC.search(question) or not _LATIN.search(question)):
            problems.append(f"{where}: lang is en but the question is not English")
        if lang == "ar" and not _ARABIC.search(question):
            problems.append(f"{where}: lang is ar but the question has no Arabic")
        if kind == "unanswerable":
            if answers or ctx is not None:
                problems.append(f"{where}: unanswerable questions need answers [] and context_id null")
            if not r.get("absent_terms"):
                problems.append(f"{where}: unanswerable question without the absent_terms it was checked with")
        else:
            if not answers or not ctx:
                problems.append(f"{where}: kind {kind!r} needs answers and a context_id")
            for a in answers or ():
                if not a.strip():
                    problems.append(f"{where}: empty answer span")
                elif len(a.split()) > MAX_ANSWER_WORDS:
                    problems.append(f"{where}: answer span longer than {MAX_ANSWER_WORDS} words: {a!r}")
            if len(set(answers or ())) != len(answers or ()):
                problems.append(f"{where}: repeated answer variant")
        if "follows" in r:
            first = seen.get(r["follows"])
            if first is None:
                problems.append(f"{where}: follows {r['follows']!r}, which is not an earlier id of this file")
            elif "follows" in first:
                problems.append(f"{where}: follows a follow-up ({first['id']}); chains are not allowed")
            if not str(r.get("standalone", "")).strip():
                problems.append(f"{where}: a follow-up needs its standalone rewrite")
        elif "standalone" in r:
            problems.append(f"{where}: standalone given on a line that follows nothing")
        if rid is not None:
            seen[rid] = r
    questions = Counter(light_normalize(r.get("question", "")) for r in records)
    problems += [f"{name}: question asked twice: {q!r}" for q, c in questions.items() if c > 1]
    return problems


# ---------------------------------------------------------------- article checks

def news_documents() -> dict[str, tuple[str, str]]:
    """docno -> (source, light-normalised title + body) for the 5,000 news articles."""
    docs = {}
    with open(NEWS_DIR / "manifest.jsonl", encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            text = (NEWS_DIR / m["file"]).read_text(encoding="utf-8")
            docs[m["docno"]] = (m["source"], light_normalize(text))
    return docs


def research_documents() -> dict[str, tuple[str, str]]:
    """context id -> (origin, light-normalised text): demo files by stem, JSONL records by id, the seed."""
    docs = {}
    for p in sorted(DEMO_DIR.iterdir()):
        if p.name == "README.md" or not p.is_file():
            continue
        if p.suffix == ".jsonl":
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    docs[rec["id"]] = ("demo", light_normalize(rec.get("title", "") + "\n" + rec["text"]))
        else:
            text = p.read_text(encoding="utf-8")
            if p.suffix == ".html":
                text = re.sub(r"<[^>]+>", " ", text)
            docs[p.stem] = ("demo", light_normalize(text))
    docs["seed"] = ("seed", light_normalize(SEED.read_text(encoding="utf-8")))
    return docs


def article_problems(path: Path, docs: dict[str, tuple[str, str]]) -> list[str]:
    problems = []
    for r in read_records(path):
        where = f"{path.name} ({r['id']})"
        if r["kind"] == "unanswerable":
            for term in r.get("absent_terms", ()):
                t = light_normalize(term)
                hits = [d for d, (_, text) in docs.items() if t in text]
                if hits:
                    problems.append(f"{where}: absent term {term!r} occurs in {len(hits)} document(s): "
                                    f"{', '.join(hits[:3])}")
            for d in r.get("related_docs", ()):
                if d not in docs:
                    problems.append(f"{where}: related document {d!r} is not in the corpus")
            continue
        doc = docs.get(r["context_id"])
        if doc is None:
            problems.append(f"{where}: context_id {r['context_id']!r} is not in the corpus")
            continue
        for a in r["answers"]:
            if light_normalize(a) not in doc[1]:
                problems.append(f"{where}: answer {a!r} does not occur in {r['context_id']}")
    return problems


# ---------------------------------------------------------------- report

def summary(path: Path, docs: dict[str, tuple[str, str]] | None) -> str:
    records = read_records(path)
    answerable = [r for r in records if r["answers"]]
    kinds = Counter(r["kind"] for r in records)
    langs = Counter(r.get("lang", "ar") for r in records)
    follow = sum(1 for r in records if "follows" in r)
    unans = kinds.get("unanswerable", 0)
    lines = [f"{path.name}: {len(records)} questions, {len({r['context_id'] for r in answerable})} documents, "
             f"{unans} unanswerable ({unans / max(len(records), 1):.0%}), {follow} follow-ups",
             "  kind:     " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
             "  language: " + ", ".join(f"{k} {v}" for k, v in sorted(langs.items()))]
    if docs is not None:
        qs = Counter(docs[r["context_id"]][0] for r in answerable if r["context_id"] in docs)
        arts: dict[str, set] = {}
        for r in answerable:
            if r["context_id"] in docs:
                arts.setdefault(docs[r["context_id"]][0], set()).add(r["context_id"])
        lines.append("  source:   " + ", ".join(f"{s} {qs[s]} questions/{len(arts[s])} documents"
                                                for s in sorted(qs)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    files = [p for p in (NEWS, RESEARCH) if p.exists()]
    problems = [p for f in files for p in format_problems(f)]
    shared = NEWS_DIR.is_dir() and SEED.is_file()
    docs_for: dict[Path, dict | None] = {NEWS: None, RESEARCH: None}
    if shared:
        docs_for = {NEWS: news_documents(), RESEARCH: research_documents()}
        for f in files:
            problems += article_problems(f, docs_for[f])
    for f in files:
        print(summary(f, docs_for[f]))
    if not shared:
        print(f"article checks skipped: {SHARED} is absent (the news articles and the seed live there); "
              "only the format was checked")
    for p in problems:
        print("PROBLEM", p)
    print(f"{len(problems)} problem(s)" if problems else "all checks passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
