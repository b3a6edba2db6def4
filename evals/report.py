"""An eval run on disk: results.jsonl, summary.json, report.md, report.html and PNG plots.

Everything needed to compare two runs later is written next to the report, so a comparison
reads two run folders and nothing else. All text is escaped: questions, answers and passages
come from the archive and may contain markup. Plots use matplotlib's Agg canvas directly (no
pyplot global state), which is safe in a server thread and needs no display.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from evals.metrics import QuestionResult, question_metrics, recall_curve
from rag.errors import MissingExtraError
from rag.text.arabic import is_arabic

RESULTS, SUMMARY, COMPARISON = "results.jsonl", "summary.json", "comparison.json"
RECALL_PNG, METRICS_PNG = "recall_at_k.png", "metrics.png"
FLIP_FIELDS = ("hit@1", "contains_gold", "refused")
MAX_ROWS = 50  # per-question rows shown in the report; results.jsonl has them all


@dataclass(frozen=True)
class Run:
    run_dir: Path
    results: list[QuestionResult]
    summary: dict
    config: dict
    manifest: dict

    @property
    def name(self) -> str:
        return self.run_dir.name


def load_run(run_dir: str | Path) -> Run:
    """Read a run folder written by write_report."""
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))
    with open(run_dir / RESULTS, encoding="utf-8") as f:
        results = [QuestionResult.from_dict(json.loads(line)) for line in f if line.strip()]
    return Run(run_dir, results, meta["summary"], meta.get("config", {}), meta.get("manifest", {}))


def write_report(run_dir: str | Path, results: list[QuestionResult], summary: dict, config: dict,
                 manifest: dict, compare_to: str | Path | None = None) -> Path:
    """Write the run's files (and a comparison with `compare_to`); returns report.html's path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / RESULTS, "w", encoding="utf-8") as f:
        for r in results:
            row = {**r.to_dict(), "metrics": question_metrics(r)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    meta = {"summary": summary, "config": config, "manifest": manifest}
    _write_json(run_dir / SUMMARY, meta)
    runs = [Run(run_dir, list(results), summary, config, manifest)]
    comparison = None
    if compare_to is not None:
        comparison = compare_runs(compare_to, run_dir)
        _write_json(run_dir / COMPARISON, comparison)
        runs.insert(0, load_run(compare_to))
    _plot_recall(run_dir / RECALL_PNG, {run.name: recall_curve(run.results) for run in runs})
    _plot_metrics(run_dir / METRICS_PNG, {run.name: _flat(run.summary) for run in runs})
    (run_dir / "report.md").write_text(_markdown(runs[-1], comparison), encoding="utf-8")
    out = run_dir / "report.html"
    out.write_text(_html(runs[-1], comparison), encoding="utf-8")
    return out


def compare_runs(run_a: str | Path, run_b: str | Path) -> dict:
    """Per-metric deltas (b - a) and the questions whose hit@1, contains_gold or refusal flipped.

    Only questions present in both runs (by id) are compared, and a field only when both runs
    define it (a retrieval-only run has no contains_gold).
    """
    a, b = load_run(run_a), load_run(run_b)
    fa, fb = _flat(a.summary), _flat(b.summary)
    metrics = {}
    for key in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(key), fb.get(key)
        delta = None if va is None or vb is None else round(vb - va, 4)
        metrics[key] = {"a": va, "b": vb, "delta": delta}
    by_id_b = {r.id: r for r in b.results}
    ids_a = {r.id for r in a.results}
    flipped = []
    for ra in a.results:
        rb = by_id_b.get(ra.id)
        if rb is None:
            continue
        qa, qb = question_metrics(ra), question_metrics(rb)
        changed = [m for m in FLIP_FIELDS
                   if qa[m] is not None and qb[m] is not None and qa[m] != qb[m]]
        if changed:
            flipped.append({"id": ra.id, "question": ra.question, "changed": changed,
                            "a": {m: qa[m] for m in FLIP_FIELDS},
                            "b": {m: qb[m] for m in FLIP_FIELDS}})
    return {
        "run_a": str(a.run_dir), "run_b": str(b.run_dir), "metrics": metrics,
        "n_common": len(ids_a & set(by_id_b)), "flipped": flipped,
        "only_a": sorted(ids_a - set(by_id_b)), "only_b": sorted(set(by_id_b) - ids_a),
    }


# --- helpers -----------------------------------------------------------------------------

def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _flat(summary: dict) -> dict:
    """{"retrieval.recall@1": 0.5, ...} from the nested summary."""
    return {f"{group}.{name}": value for group in ("retrieval", "answers", "leads", "citation_errors")
            for name, value in summary.get(group, {}).items()}


def _to_look_at(results: list[QuestionResult]) -> list[tuple[QuestionResult, dict]]:
    """Questions that went wrong somewhere: retrieval miss, gold not in answer, wrong refusal."""
    rows = []
    for r in results:
        m = question_metrics(r)
        wrong_refusal = m["refused"] is not None and m["refused"] != r.expects_refusal
        if (r.context_id and m["hit_rank"] is None) or m["contains_gold"] is False or wrong_refusal:
            rows.append((r, m))
    return rows


def _figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # matplotlib is an optional extra
        raise MissingExtraError("plots in eval reports", "export") from e
    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _plot_recall(path: Path, curves: dict[str, list]) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    ks = list(range(1, 11))
    for label, ys in curves.items():
        ax.plot(ks, [float("nan") if y is None else y for y in ys], marker="o", label=label)
    ax.set(xlabel="k (passages)", ylabel="recall@k", ylim=(0, 1.02), xticks=ks,
           title="Retrieval recall@k")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def _plot_metrics(path: Path, runs: dict[str, dict]) -> None:
    names = list(dict.fromkeys(k for flat in runs.values() for k in flat))
    fig = _figure()
    fig.set_size_inches(max(7, 0.7 * len(names) * max(1, len(runs))), 4.5)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(runs))
    for i, (label, flat) in enumerate(runs.items()):
        xs = [n + i * width for n in range(len(names))]
        ys = [flat.get(k) for k in names]
        bars = ax.bar(xs, [0.0 if y is None else y for y in ys], width, label=label)
        ax.bar_label(bars, ["n/a" if y is None else f"{y:.2f}" for y in ys], fontsize=7)
    ax.set_xticks([n + width * (len(runs) - 1) / 2 for n in range(len(names))])
    ax.set_xticklabels([k.split(".", 1)[1] for k in names], rotation=35, ha="right")
    ax.set(ylim=(0, 1.1), title="Main metrics (n/a: undefined for this run)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _signed(delta) -> str:
    return "—" if delta is None else f"{delta:+.4f}"


def _flip_rows(comparison: dict) -> list[list[str]]:
    """One row per flipped question: "hit@1: yes → no; refused: no → yes"."""
    yes_no = {True: "yes", False: "no", None: "—"}
    return [[f["id"], f["question"],
             "; ".join(f"{m}: {yes_no[f['a'][m]]} → {yes_no[f['b'][m]]}" for m in f["changed"])]
            for f in comparison["flipped"][:MAX_ROWS]]


def _gold(r: QuestionResult) -> str:
    return " / ".join(r.answers) if r.answers else "(refusal expected)"


def _answer(r: QuestionResult) -> str:
    if r.answer is None:
        return "(retrieval only)"
    return ("[refused] " if r.refused else "") + r.answer


# --- markdown ----------------------------------------------------------------------------

def _md(text) -> str:
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _markdown(run: Run, comparison: dict | None) -> str:
    flat = _flat(run.summary)
    out = [f"# Eval run {_md(run.name)}", "", f"Questions: {run.summary.get('n_questions')}", ""]
    out += _md_table(["metric", "value"], [[k, _fmt(v)] for k, v in flat.items()])
    out += [f"![recall@k]({RECALL_PNG})", "", f"![metrics]({METRICS_PNG})", ""]
    if comparison:
        out += [f"## Compared with {_md(Path(comparison['run_a']).name)}", ""]
        out += _md_table(["metric", "before", "after", "delta"],
                         [[k, _fmt(m["a"]), _fmt(m["b"]), _signed(m["delta"])]
                          for k, m in comparison["metrics"].items()])
        out += [f"Flipped questions ({len(comparison['flipped'])}, first {MAX_ROWS} shown)", ""]
        out += _md_table(["id", "question", "change"], _flip_rows(comparison))
    look = _to_look_at(run.results)
    out += [f"## Questions to look at ({len(look)}, first {MAX_ROWS} shown)", ""]
    out += _md_table(["id", "question", "gold", "answer", "rank", "contains"],
                     [[r.id, r.question, _gold(r), _answer(r), _fmt(m["hit_rank"]),
                       _fmt(m["contains_gold"])] for r, m in look[:MAX_ROWS]])
    for title, data in (("Config", run.config), ("Index manifest", run.manifest)):
        out += [f"## {title}", "", "```json", _md_code(data), "```", ""]
    return "\n".join(out)


def _md_code(data: dict) -> str:
    """JSON for a fenced block: shown literally, so only a closing fence needs breaking."""
    return json.dumps(data, ensure_ascii=False, indent=2).replace("```", "`\u200b``")


# --- html --------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,'Noto Naskh Arabic',sans-serif;margin:2em;max-width:75em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
vertical-align:top}th{background:#f3f3f3}[dir=rtl]{text-align:right}
.pos{color:#070}.neg{color:#a00}pre{background:#f7f7f7;padding:1em;white-space:pre-wrap}"""


def _td(value) -> str:
    text = _fmt(value) if not isinstance(value, str) else value
    attrs = ' dir="rtl" lang="ar"' if is_arabic(text) else ' dir="auto"'
    return f"<td{attrs}>{html.escape(text)}</td>"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _delta_td(delta) -> str:
    if delta is None:
        return "<td>—</td>"
    cls = "pos" if delta > 0 else "neg" if delta < 0 else ""
    return f'<td class="{cls}">{delta:+.4f}</td>'


def _html(run: Run, comparison: dict | None) -> str:
    e = html.escape
    parts = [f"<h1>Eval run {e(run.name)}</h1>",
             f"<p>Questions: {e(_fmt(run.summary.get('n_questions')))}</p>",
             _table(["metric", "value"], [[k, v] for k, v in _flat(run.summary).items()]),
             f'<p><img src="{RECALL_PNG}" alt="recall@k curve"> '
             f'<img src="{METRICS_PNG}" alt="main metrics"></p>']
    if comparison:
        rows = "".join(f"<tr><td>{e(k)}</td><td>{e(_fmt(m['a']))}</td><td>{e(_fmt(m['b']))}</td>"
                       f"{_delta_td(m['delta'])}</tr>" for k, m in comparison["metrics"].items())
        parts += [f"<h2>Compared with {e(Path(comparison['run_a']).name)}</h2>",
                  "<table><tr><th>metric</th><th>before</th><th>after</th><th>delta</th></tr>"
                  f"{rows}</table>",
                  f"<h3>Flipped questions ({len(comparison['flipped'])}, "
                  f"first {MAX_ROWS} shown)</h3>",
                  _table(["id", "question", "change"], _flip_rows(comparison))]
    look = _to_look_at(run.results)
    parts += [f"<h2>Questions to look at ({len(look)}, first {MAX_ROWS} shown)</h2>",
              _table(["id", "question", "gold", "answer", "rank", "contains"],
                     [[r.id, r.question, _gold(r), _answer(r), m["hit_rank"],
                       m["contains_gold"]] for r, m in look[:MAX_ROWS]]),
              "<h2>Config</h2>",
              f"<pre>{e(json.dumps(run.config, ensure_ascii=False, indent=2))}</pre>",
              "<h2>Index manifest</h2>",
              f"<pre>{e(json.dumps(run.manifest, ensure_ascii=False, indent=2))}</pre>"]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Eval run {e(run.name)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
