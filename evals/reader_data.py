"""Training data for the built-in reader (rag.index.reader), rebuilt from ../shared; never in the repo.

Each record is one group: a query, one positive text and up to NEGATIVES negatives, scored
listwise by evals.train_reader. Texts are sentences, the unit the reader scores at run time
(the answerer's candidate sentences, and a passage's best-matching sentence in the rerank).

- gold groups (`collect_gold`): the TUNE half only of ARCD, XQuAD-ar and our news set, their
  answerable questions. The positive is the gold passage's sentence that holds a gold answer;
  negatives are the sentences of our own hybrid retriever's top non-gold passages that share
  most words with the question (the passages that today win first place or the citation), then
  the gold passage's sentences without the answer.
- weak groups (`collect_weak`): articles of the 31k news file that are not in ant5000 (the news
  set's archive): title -> the article's own sentence that shares most words with it; negatives,
  other articles' sentences sharing most words with the title.

  python -m evals.reader_data gold --data-dir /tmp/evaldata --out /tmp/wt20-reader/gold.jsonl
  python -m evals.reader_data weak --out /tmp/wt20-reader/weak.jsonl --n 2000
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from evals.gold import SHARED_NEWS, SHARED_QA, load_contexts, load_questions, split_of
from rag.text.arabic import analyze, normalize, sentences

NEGATIVES = 7
SEARCH_K = 10
MIN_WORDS = 3
REPO = Path(__file__).resolve().parents[1]

# set name -> (questions, contexts or None, the index's contexts, its distractors)
SETS = {
    "arcd": (SHARED_QA / "arcd.questions.jsonl", SHARED_QA / "arcd.contexts.jsonl"),
    "xquad_ar": (SHARED_QA / "xquad_ar.questions.jsonl", SHARED_QA / "xquad_ar.contexts.jsonl"),
    "news": (REPO / "evals" / "data" / "news.questions.jsonl", None),
}
NEWS_INDEX_CONTEXTS = SHARED_QA / "arcd.contexts.jsonl"  # the news set runs on the ARCD index (it holds ant5000)


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentences(text) if len(text[a:b].split()) >= MIN_WORDS]


def overlap(q_terms: set[str], text: str) -> int:
    return len(q_terms & set(analyze(text)))


def holds_answer(sentence: str, answers: Sequence[str]) -> bool:
    norm = normalize(sentence)
    return any(normalize(a).strip() and normalize(a).strip() in norm for a in answers)


def gold_group(question: str, answers: Sequence[str], gold_texts: Sequence[str],
               other_texts: Sequence[str]) -> dict | None:
    """One group from the gold passage(s) and the retrieved non-gold passages, or None when no
    gold sentence holds an answer."""
    q_terms = set(analyze(question))
    gold_sents = [s for t in gold_texts for s in split_sentences(t)]
    pos = [s for s in gold_sents if holds_answer(s, answers)]
    if not pos:
        return None
    positive = max(pos, key=lambda s: overlap(q_terms, s))
    seen = {normalize(s) for s in gold_sents}
    hard: list[str] = []
    for t in other_texts:
        for s in split_sentences(t):
            if normalize(s) not in seen:
                seen.add(normalize(s))
                hard.append(s)
    hard.sort(key=lambda s: -overlap(q_terms, s))
    same = [s for s in gold_sents if s not in pos]
    same.sort(key=lambda s: -overlap(q_terms, s))
    negatives = hard[:NEGATIVES - 2] + same[:2]
    negatives += [s for s in hard[NEGATIVES - 2:] if s not in negatives][:NEGATIVES - len(negatives)]
    if not negatives:
        return None
    return {"query": question, "pos": positive, "neg": negatives[:NEGATIVES]}


def open_set(settings, embedder, name: str, half: str):
    """(retriever, answerable `half` questions, gold_id, gold context texts) of one gold set over
    its eval index (ARCD / XQuAD-ar paragraphs with the ant5000 distractors; the news set over ARCD's)."""
    from evals.run import build_eval_index, gold_ids_of
    from rag.services import open_archive

    questions, contexts = SETS[name]
    index_contexts = contexts or NEWS_INDEX_CONTEXTS
    store, _ = build_eval_index(settings, index_contexts, [SHARED_NEWS], "arabic", embedder)
    retriever = open_archive(store.settings, store=store).retriever
    ctx_text = {c.context_id: c.text for c in load_contexts(contexts)} if contexts else {}
    qs = [q for q in load_questions(questions) if split_of(q.id) == half and q.answers and q.context_id]
    gold_id = gold_ids_of(store, {q.context_id for q in qs}, [index_contexts] if contexts else ())
    return retriever, qs, gold_id, ctx_text


def collect_gold(data_dir: Path, sets: Iterable[str] = tuple(SETS), half: str = "tune",
                 limit: int | None = None) -> Iterator[dict]:
    """Groups of `half` (tune) of the gold sets, hard negatives from the hybrid retriever over
    the eval indexes."""
    from rag.config import load_settings
    from rag.index.embeddings import get_embedder

    settings = load_settings(data_dir=data_dir, reader="off")
    embedder = get_embedder(settings)
    for name in sets:
        retriever, qs, gold_id, ctx_text = open_set(settings, embedder, name, half)
        n = 0
        for q in qs[:limit]:
            hits = retriever.search(retriever.repair(q.question), k=SEARCH_K)
            gold = [h.chunk.text for h in hits if gold_id(h.chunk.doc_id) == q.context_id]
            other = [h.chunk.text for h in hits if gold_id(h.chunk.doc_id) != q.context_id]
            if q.context_id in ctx_text:
                gold = [ctx_text[q.context_id]]
            g = gold_group(q.question, q.answers, gold, other)
            if g is not None:
                n += 1
                yield {"set": name, "id": q.id, "split": half, **g}
        print(f"{name}: {n} groups of {len(qs[:limit])} {half}-half questions", file=sys.stderr)


def _ant5000_ids() -> set[str]:
    ids = set()
    with open(SHARED_NEWS / "manifest.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                ids.add(r.get("docno", ""))
                ids.add(normalize(r.get("title", "")))
    return ids


def collect_weak(path: Path, n: int, seed: int = 20, pool: int = 6000, lead: int = 8) -> Iterator[dict]:
    """Title -> own sentence groups from `n` articles of the 31k news not in ant5000."""
    exclude = _ant5000_ids()
    arts = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            title = (r.get("title") or "").strip()
            if not title or r.get("docno") in exclude or normalize(title) in exclude:
                continue
            arts.append((title, r.get("text") or ""))
    rng = random.Random(seed)
    rng.shuffle(arts)
    arts = arts[:pool]
    sents = [split_sentences(text)[:lead] for _, text in arts]
    index: dict[str, set[int]] = defaultdict(set)  # term -> articles whose lead sentences hold it
    terms = [[set(analyze(s)) for s in ss] for ss in sents]
    for i, ts in enumerate(terms):
        for t in set().union(*ts) if ts else ():
            index[t].add(i)
    made = 0
    for i, (title, _) in enumerate(arts):
        if made >= n:
            break
        q_terms = set(analyze(title))
        own = [(len(q_terms & t), s) for s, t in zip(sents[i], terms[i]) if normalize(s) != normalize(title)]
        own = [x for x in own if x[0] >= 1]
        if len(q_terms) < 2 or not own:
            continue
        positive = max(own, key=lambda x: x[0])[1]
        cand = defaultdict(int)
        for t in q_terms:
            if len(index[t]) < 300:  # skip very common terms
                for j in index[t]:
                    if j != i:
                        cand[j] += 1
        others = sorted(cand, key=lambda j: -cand[j])[:20]
        negs = []
        for j in others:
            best = max(zip(sents[j], terms[j]), key=lambda x: len(q_terms & x[1]), default=None)
            if best is not None and normalize(best[0]) != normalize(positive):
                negs.append(best[0])
        while len(negs) < NEGATIVES:
            j = rng.randrange(len(arts))
            if j != i and sents[j]:
                negs.append(rng.choice(sents[j]))
        made += 1
        yield {"set": "weak", "id": f"weak-{i}", "split": "weak", "query": title, "pos": positive,
               "neg": negs[:NEGATIVES]}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.reader_data")
    p.add_argument("what", choices=("gold", "weak"))
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/evaldata"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--half", default="tune", choices=("tune", "check"))
    p.add_argument("--limit", type=int)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--news", type=Path, default=SHARED_NEWS.parent / "ant_multisource_all.jsonl.gz")
    a = p.parse_args(argv)
    if str(a.out.resolve()).startswith(str(REPO)):
        raise SystemExit("write the training data outside the repository (it holds article text)")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    rows = (collect_gold(a.data_dir, a.sets.split(","), a.half, a.limit) if a.what == "gold"
            else collect_weak(a.news, a.n))
    with open(a.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    from evals.run import script_main

    raise SystemExit(script_main(main))
