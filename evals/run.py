"""Run an eval: gold questions -> retrieval (and answers) -> QuestionResults -> summary.

With a contexts file the run builds its own index (the contexts, whose doc ids are their
context_ids, plus any distractors) under data_dir/eval-index/<hash of what shapes it>, so the
user's archive is never touched and a repeat run with the same inputs embeds nothing (ingest is
incremental). Without one, the user's index is read as it is. Questions are streamed and only
small QuestionResult records are kept, so memory grows with the question set, not the index.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from evals.gold import SPLITS, GoldQuestion, load_questions, split_of
from evals.metrics import CitedPassage, QuestionResult, aggregate
from rag.config import Settings
from rag.errors import BadDocumentError, ConfigError, RagError
from rag.index.manifest import CHUNKER_VERSION
from rag.index.store import Store
from rag.retrieval.hybrid import HybridRetriever
from rag.services import make_assistant, open_archive, open_index
from rag.types import FileFailure, Hit

Progress = Callable[[float, str], None]
RETRIEVAL_MODES = ("hybrid", "dense", "lexical")
ANALYZERS = ("arabic", "plain")  # plain: lower-cased whitespace terms, the baseline
EVAL_INDEX = "eval-index"


@dataclass
class EvalRun:
    run_id: str
    results: list[QuestionResult]
    summary: dict
    config: dict
    manifest: dict
    skipped: list[FileFailure] = field(default_factory=list)  # distractor files not indexed
    splits: dict = field(default_factory=dict)  # the summary of each fixed half: "tune", "check"

    def as_json(self) -> dict:
        """The public `rag eval --json` shape: n_questions, retrieval, [answers], config."""
        return {**self.summary, "config": self.config}


# --- the index ---------------------------------------------------------------------------

def eval_index_dir(settings: Settings, model_id: str, contexts: Path,
                   distractors: Sequence[Path] = ()) -> Path:
    """Where the isolated index for these inputs lives; anything that changes vectors or chunks
    gives a new folder, so a cached index is never reused with the wrong shape."""
    # The same set of inputs shares one index whichever file is "contexts": ARCD with XQuAD and
    # the news as distractors, and XQuAD with ARCD and the news, embed the 5,000 articles once.
    # The normalizer is not part of the key: a change re-analyzes the lexical side in place.
    key = json.dumps([model_id, settings.document_prompt, settings.chunk_tokens,
                      settings.chunk_overlap_tokens, CHUNKER_VERSION,
                      sorted({str(Path(p).resolve()) for p in (contexts, *distractors)})])
    return Path(settings.data_dir) / EVAL_INDEX / hashlib.sha256(key.encode()).hexdigest()[:12]


def _require_file(path: Path, what: str) -> None:
    if not Path(path).exists():
        raise BadDocumentError(str(path), f"{what}: no such file or folder; check the path")


def build_eval_index(settings: Settings, contexts: Path, distractors: Sequence[Path], analyzer: str,
                     embedder, *, show_progress: bool = False,
                     progress: Progress | None = None) -> tuple[Store, list[FileFailure]]:
    """Ingest contexts + distractors into the isolated index (incrementally) and set the analyzer.

    A context that cannot be indexed stops the run (it would silently count as a miss); a bad
    distractor is only reported back.
    """
    from ingest.pipeline import run_ingest

    for p in (contexts, *distractors):
        _require_file(p, "eval input")
    eval_dir = eval_index_dir(settings, embedder.model_id, contexts, distractors)
    # Opening re-analyzes the lexical side when the analyzer differs, so ingest sees the index it expects.
    store = open_index(settings.replace(data_dir=eval_dir, chroma_url="", lexical_analyzer=analyzer),
                       embedder=embedder)
    report = run_ingest(store.settings, [contexts, *distractors], embedder=embedder, store=store,
                        show_progress=show_progress,
                        progress=(lambda f, m: progress(f, f"index: {m}")) if progress else None)
    ctx = Path(contexts).resolve()
    bad = [f for f in report.failures if Path(f.path).resolve() == ctx]
    if bad:
        raise BadDocumentError(bad[0].path, f"context not indexed: {bad[0].reason}", bad[0].line)
    return store, report.failures


def asked_as_the_chain_asks(settings: Settings, contexts: Path, distractors: Sequence[Path], embedder,
                            questions: Iterable[GoldQuestion], limit: int | None = None,
                            ) -> Iterator[tuple[GoldQuestion, str, list[Hit]]]:
    """(question, the query searched, its settings.k hits) for each of the first `limit`
    questions over the eval index of `contexts` + `distractors`, spelling repaired first as the
    chain does: what the refitting scripts read."""
    store, _ = build_eval_index(settings, contexts, distractors, "arabic", embedder)
    retriever = open_archive(settings, store=store).retriever
    for q in itertools.islice(questions, limit):
        asked = retriever.repair(q.question)
        yield q, asked, retriever.search(asked, k=settings.k)


def open_user_index(settings: Settings, analyzer: str, embedder) -> Store:
    """The user's own index, read only: refuse what would need a write (another analyzer)."""
    store = Store(settings, embedder)  # checked below without the analyzer: evals compare analyzers
    have = store.manifest()
    if not have:
        raise RagError(f"no index in {settings.index_dir} yet: run `rag ingest PATH...`, "
                       "or give the eval its own with --contexts")
    store.check_manifest(store.expected_manifest() | {"lexical_analyzer": ""},
                         writing=False)
    if have.get("lexical_analyzer", "arabic") != analyzer:
        raise ConfigError(f"the archive index uses the {have.get('lexical_analyzer')!r} analyzer; "
                          f"comparing with {analyzer!r} needs an isolated index: pass --contexts")
    return store


# --- one question ------------------------------------------------------------------------

def evaluate_question(q: GoldQuestion, retriever: HybridRetriever, k: int, retrieval: str,
                      assistant=None, *, history: Sequence[str] = (), gold_id=lambda d: d) -> QuestionResult:
    """Retrieve (and answer) one gold question; keeps doc ids and cited passages, nothing more.

    A follow-up is asked after `history` (the user turns it continues): retrieval then searches
    the standalone question the assistant would search. `gold_id` maps an index doc id to the
    gold set's id for that document."""
    turns = [(role, text) for h in history for role, text in (("user", h), ("assistant", ""))]
    query = q.question
    if turns:  # retrieval-only runs search what the default (extractive) chain would search
        from rag.answering.condense import condense_extractive

        query = condense_extractive(q.question, turns)
    hits = retriever.search(query, k=k, mode=retrieval)
    result = QuestionResult(id=q.id, question=q.question, answers=q.answers, context_id=q.context_id,
                            expects_refusal=q.expects_refusal,
                            retrieved_doc_ids=tuple(_as_gold(h.chunk, q.context_id, gold_id) for h in hits))
    if assistant is None:
        return result
    a = assistant.ask(q.question, history=turns)
    cited = tuple(CitedPassage(gold_id(c.doc_id), c.text) for c in a.citations)
    return dataclasses.replace(result, answer=a.text, refused=a.refused, cited=cited)


def _as_gold(chunk, context_id: str | None, gold_id) -> str:
    """The gold id a retrieved passage counts as: its document's, or the question's gold document
    when that is a wire copy the passage stands for (retrieval shows one passage per story)."""
    own = gold_id(chunk.doc_id)
    if context_id and own != context_id and any(gold_id(c.doc_id) == context_id for c in chunk.also_in):
        return context_id
    return own


def gold_ids_of(store: Store, wanted: set[str], sources: Sequence[Path] = ()):
    """doc id -> the gold set's id of that document. Gold sets over a folder archive name an
    article by its file ("03_deradicalization_masar") or by the id in its file name
    ("00012_BB-culture-99-20180405.txt" -> "BB-culture-99-20180405"), while the index knows it
    by a hash of its path; ids the gold set does not use map to themselves.

    A gold record whose id another source's document already had is stored under an id scoped to
    its file (ingest.ids) and counts by the id it gave when it comes from one of `sources` (the
    contexts file or folder); the other document then counts as no gold document at all."""
    aliases: dict[str, str] = {}
    roots = [str(Path(p).resolve()) for p in sources]
    docs = store.documents()
    for d in docs:
        rid = d.record_id
        if (rid and rid != d.doc_id and rid in wanted and d.doc_id not in wanted
                and any(d.path == r or d.path.startswith(r + "/") for r in roots)):
            aliases[d.doc_id] = rid
    displaced = set(aliases.values())
    for d in docs:
        if d.doc_id in aliases:
            continue
        if d.doc_id in displaced:
            aliases[d.doc_id] = d.key  # holds a gold id, but is not that gold record: never gold
            continue
        stem = Path(d.path).stem if d.path else ""
        for alias in (stem, stem.split("_", 1)[-1]):
            if alias in wanted and d.doc_id not in wanted:
                aliases[d.doc_id] = alias
                break
    return lambda doc_id: aliases.get(doc_id, doc_id)


# --- the run -----------------------------------------------------------------------------

def refusal_precision(results: Sequence[QuestionResult]) -> float | None:
    """Refusals that were expected / refusals; None when nothing was refused."""
    refused = [r for r in results if r.answer is not None and r.refused]
    return round(sum(r.expects_refusal for r in refused) / len(refused), 4) if refused else None


def run_eval(settings: Settings, questions: Path, contexts: Path | None = None,
             distractors: Sequence[Path] = (), *, k: int = 10, answers: bool = False,
             retrieval: str = "hybrid", analyzer: str = "arabic", limit: int | None = None,
             embedder=None, progress: Progress | None = None,
             show_progress: bool = False, split: str | None = None) -> EvalRun:
    """Evaluate a gold question set; progress(fraction, message) feeds a UI, tqdm the terminal.
    `split` ("tune" or "check") asks only that fixed half; a follow-up still finds the question
    it follows in the other half."""
    if retrieval not in RETRIEVAL_MODES or analyzer not in ANALYZERS:
        raise ConfigError(f"retrieval must be one of {RETRIEVAL_MODES} and analyzer one of "
                          f"{ANALYZERS}; got {retrieval!r}, {analyzer!r}")
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    if split not in (None, *SPLITS):
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
    _require_file(questions, "question set")
    if embedder is None:
        from rag.index.embeddings import get_embedder

        embedder = get_embedder(settings)
    skipped: list[FileFailure] = []
    if contexts is not None:
        store, skipped = build_eval_index(settings, contexts, distractors, analyzer, embedder,
                                          show_progress=show_progress, progress=progress)
    else:
        store = open_user_index(settings, analyzer, embedder)
    archive = open_archive(store.settings, store=store)
    retriever = archive.retriever
    # The chat assistant, retrieving the way this run does (extractive unless an LLM is set).
    assistant = make_assistant(store.settings, archive, retrieval=retrieval) if answers else None
    texts = {q.id: q for q in load_questions(questions)}  # small: follow-ups look up what they follow
    asked = [q for q in texts.values() if split is None or split_of(q.id) == split][:limit]
    total = len(asked)
    gold_id = gold_ids_of(store, {q.context_id for q in texts.values() if q.context_id},
                          [contexts] if contexts is not None else ())
    results = []
    bar = _bar(total, show_progress)
    for i, q in enumerate(asked):
        history = [texts[q.follows].question] if q.follows in texts else []
        results.append(evaluate_question(q, retriever, k, retrieval, assistant, history=history, gold_id=gold_id))
        if bar:
            bar.update(1)
        if progress:
            progress((i + 1) / max(1, total), f"questions: {i + 1}/{total}")
    if bar:
        bar.close()
    summary = aggregate(results)
    if "answers" in summary:
        summary["answers"]["refusal_precision"] = refusal_precision(results)
    halves = {half: [r for r in results if split_of(r.id) == half] for half in SPLITS}
    splits = {half: aggregate(rs) for half, rs in halves.items() if rs}
    run_id = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]  # ms: runs a second apart differ
    config = _config(store, questions, contexts, distractors, k, answers, retrieval, analyzer,
                     limit, assistant, run_id)
    stats = store.stats()
    manifest = {**store.manifest(), "documents": stats["documents"], "chunks": stats["chunks"]}
    return EvalRun(run_id, results, summary, config, manifest, skipped, splits)


def _config(store: Store, questions, contexts, distractors, k, answers, retrieval, analyzer, limit,
            assistant, run_id) -> dict:
    """What the run depended on, so two runs can be told apart (never secrets)."""
    s = store.settings
    return {
        "run_id": run_id, "questions": str(questions), "contexts": str(contexts) if contexts else None,
        "distractors": [str(p) for p in distractors], "isolated_index": contexts is not None,
        "index_dir": str(store.dir), "k": k, "retrieval": retrieval, "analyzer": analyzer,
        "limit": limit, "answers": answers,
        "answer_mode": assistant.mode if assistant else None,
        "answer_k": s.k if assistant else None,
        "llm_model": (s.llm_model or s.gguf_path) if assistant and assistant.mode == "llm" else None,
        "embedding_model": store.embedder.model_id, "chunk_tokens": s.chunk_tokens,
        "chunk_overlap_tokens": s.chunk_overlap_tokens, "fetch_k": s.fetch_k, "rrf_k": s.rrf_k,
        "dense_weight": s.dense_weight, "lexical_weight": s.lexical_weight, "root_weight": s.root_weight,
        "per_doc_cap": s.per_doc_cap, "reranker_model": s.reranker_model,
        "refusal_threshold": s.refusal_threshold,
    }


def _bar(total: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="q", desc="eval", file=sys.stderr)


# --- the CLI -----------------------------------------------------------------------------

def script_main(main: Callable[[], int]) -> int:
    """Run a `python -m evals.X` script: our errors become one line naming the fix, exit 2."""
    try:
        return main()
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def cli_eval(args, settings: Settings) -> int:
    """`rag eval`: run, print a table (or the JSON summary), write the report when asked."""
    if args.compare and not args.report:
        raise ConfigError("--compare needs --report DIR: the comparison is written next to the new run")
    run = run_eval(settings, args.questions, args.contexts, args.distractors or (), k=args.k,
                   answers=args.answers, retrieval=args.retrieval, analyzer=args.analyzer,
                   limit=args.limit, show_progress=not args.json and sys.stderr.isatty(),
                   split=args.split)
    for f in run.skipped:
        print(f"skipped distractor {f}", file=sys.stderr)
    report = comparison = None
    if args.report:
        from evals.report import COMPARISON, write_report

        report = write_report(args.report, run.results, run.summary, run.config, run.manifest,
                              compare_to=args.compare)
        (Path(args.report) / "splits.json").write_text(json.dumps(run.splits, ensure_ascii=False, indent=2),
                                                       encoding="utf-8")
        if args.compare:
            comparison = json.loads((Path(args.report) / COMPARISON).read_text(encoding="utf-8"))
    if args.json:
        json.dump(run.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(format_summary(run))
    if comparison:
        print(format_comparison(comparison))
    if report:
        print(f"\nreport: {report}")
    return 0


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def format_summary(run: EvalRun) -> str:
    """A readable metrics table for the terminal."""
    c = run.config
    lines = [f"{run.summary['n_questions']} questions · retrieval {c['retrieval']} · analyzer "
             f"{c['analyzer']} · k {c['k']}" + (f" · answers {c['answer_mode']}" if c["answers"] else "")]
    rows = [(f"{group}.{name}", value) for group in ("retrieval", "answers", "leads", "citation_errors")
            for name, value in run.summary.get(group, {}).items()]
    width = max((len(label) for label, _ in rows), default=0)
    lines += [f"  {label:<{width}} {_fmt(value):>8}" for label, value in rows]
    return "\n".join(lines)


def format_comparison(comparison: dict, max_flips: int = 20) -> str:
    """Metric deltas and flipped questions against the earlier run."""
    lines = [f"\ncompared with {comparison['run_a']} ({comparison['n_common']} common questions)"]
    for name, m in comparison["metrics"].items():
        delta = "—" if m["delta"] is None else f"{m['delta']:+.4f}"
        lines.append(f"  {name:<30} {_fmt(m['a']):>8} → {_fmt(m['b']):>8}  {delta}")
    flips = comparison["flipped"]
    lines.append(f"flipped questions: {len(flips)}")
    for f in flips[:max_flips]:
        change = "; ".join(f"{m}: {f['a'][m]} → {f['b'][m]}" for m in f["changed"])
        lines.append(f"  {f['id']}: {change}  ({f['question'][:60]})")
    return "\n".join(lines)
