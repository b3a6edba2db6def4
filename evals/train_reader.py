"""Train the built-in reader (rag.index.reader) on CPU and write its weights with provenance.

  python -m evals.reader_data gold --out /tmp/wt20-reader/gold_tune.jsonl   # tune halves, hard negatives
  python -m evals.reader_data weak --out /tmp/wt20-reader/weak.jsonl        # 31k-news title pairs
  python -m evals.train_reader --groups /tmp/wt20-reader/gold_tune.jsonl /tmp/wt20-reader/weak.jsonl \
      --out rag/index/reader_weights [--sets arcd,xquad_ar,weak] [--epochs 3]

The e5 layers below the trained ones never change, so their states are computed once (ONNX
Runtime over an export of those layers) and cached under --cache; the trained layers and the
head then run many epochs over the cache: listwise cross-entropy, the positive against its
group's negatives. Only tune-half groups may be given (a check-half group stops the run).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rag.index.reader import (
    READER_INFO,
    READER_WEIGHTS,
    ReaderSpec,
    export_onnx,
    load_tokenizer,
    lower_model,
    pad,
    pair_ids,
    save_weights,
    spec_for,
    upper_from_base,
)


def read_groups(paths: Sequence[Path], sets: set[str] | None = None) -> list[dict]:
    groups = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    g = json.loads(line)
                    if g.get("split") == "check":
                        raise SystemExit(f"{p}: check-half group {g.get('id')}: train on tune halves only")
                    if sets is None or g["set"] in sets:
                        groups.append(g)
    return groups


def validation_of(group_id: str) -> bool:
    """A fixed tenth of the tune groups watches training (never the check halves)."""
    return hashlib.sha256(f"val:{group_id}".encode()).digest()[0] < 26


class StateCache:
    """Frozen-layer states of every sequence, fp16, concatenated (offsets per sequence)."""

    def __init__(self, states: np.ndarray, offsets: np.ndarray):
        self.states, self.offsets = states, offsets

    def batch(self, rows: Sequence[int]):
        import torch

        lens = [int(self.offsets[r + 1] - self.offsets[r]) for r in rows]
        width = max(lens)
        x = np.zeros((len(rows), width, self.states.shape[1]), dtype=np.float32)
        m = np.zeros((len(rows), width), dtype=np.float32)
        for i, (r, n) in enumerate(zip(rows, lens)):
            x[i, :n] = self.states[self.offsets[r]:self.offsets[r] + n]
            m[i, :n] = 1
        return torch.from_numpy(x), torch.from_numpy(m)


def lower_export_path(base: Path, spec: ReaderSpec, work: Path) -> Path:
    """Where the frozen layers' export is cached: keyed by the base folder, its config and its
    PREPARED.json fingerprint (a re-prepared base gets a new export, as the reader's build key does)."""
    from rag.index.model_prep import MARKER

    marker = Path(base) / MARKER
    fingerprint = marker.read_text() if marker.is_file() else ""
    key = hashlib.sha256(f"{Path(base).resolve()}|{(Path(base) / 'config.json').read_text()}|{fingerprint}".encode()
                         ).hexdigest()[:8]
    return work / f"lower-{spec.frozen_layers}-{key}.onnx"


def lower_states(base: Path, spec: ReaderSpec, seqs: list[list[int]], work: Path, batch: int = 64,
                 log=print) -> StateCache:
    """Run the frozen layers over `seqs` with ONNX Runtime (exported once into `work`)."""
    import onnxruntime as ort

    from rag.index.model_prep import last_hidden

    path = lower_export_path(base, spec, work)
    if not path.is_file():
        export_onnx(last_hidden(lower_model(base, spec)), path, output="states")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    lens = np.array([len(s) for s in seqs])
    offsets = np.concatenate([[0], np.cumsum(lens)])
    states = np.zeros((int(offsets[-1]), spec.hidden), dtype=np.float16)
    order = np.argsort(-lens, kind="stable")
    t0 = time.time()
    for b in range(0, len(order), batch):
        rows = order[b:b + batch]
        ids, mask = pad([seqs[r] for r in rows])
        out = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        for i, r in enumerate(rows):
            states[offsets[r]:offsets[r + 1]] = out[i, :lens[r]]
        if b // batch % 50 == 0:
            log(f"  states {b + len(rows)}/{len(seqs)} ({time.time() - t0:.0f} s)")
    return StateCache(states, offsets)


def tokenize_groups(base: Path, spec: ReaderSpec, groups: list[dict]) -> tuple[list[list[int]], list[list[int]]]:
    """Sequences (unique) and, per group, the rows of its positive then its negatives."""
    tok = load_tokenizer(base)
    seqs: list[list[int]] = []
    rows: list[list[int]] = []
    for g in groups:
        ids = pair_ids(tok, g["query"], [g["pos"], *g["neg"]], spec)
        rows.append(list(range(len(seqs), len(seqs) + len(ids))))
        seqs.extend(ids)
    return seqs, rows


def train(cache: StateCache, upper, groups_rows: list[list[int]], val_rows: list[list[int]], *,
          epochs: int, lr: float, batch_groups: int, seed: int, log=print) -> dict:
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    head = [p for n, p in upper.named_parameters() if n.startswith("head.")]
    body = [p for n, p in upper.named_parameters() if not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": lr * 20}], weight_decay=0.01)
    steps = epochs * ((len(groups_rows) + batch_groups - 1) // batch_groups)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, lr * 20], total_steps=steps, pct_start=0.1)
    step, t0, history = 0, time.time(), []
    for epoch in range(epochs):
        upper.train()
        order = list(range(len(groups_rows)))
        rng.shuffle(order)
        total = 0.0
        for b in range(0, len(order), batch_groups):
            loss = group_loss(cache, upper, [groups_rows[i] for i in order[b:b + batch_groups]])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(upper.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            total += float(loss.detach())
            if step % 25 == 0:
                log(f"  epoch {epoch + 1} step {step}/{steps} loss {total / ((b // batch_groups) + 1):.4f} "
                    f"({time.time() - t0:.0f} s)")
        acc = accuracy(cache, upper, val_rows) if val_rows else None
        history.append({"epoch": epoch + 1, "train_loss": round(total / max(1, -(-len(order) // batch_groups)), 4),
                        "val_top1": acc})
        log(f"epoch {epoch + 1}: {history[-1]}")
    return {"steps": step, "seconds": round(time.time() - t0), "history": history}


def group_loss(cache: StateCache, upper, groups: list[list[int]]):
    import torch

    flat = [r for g in groups for r in g]
    x, m = cache.batch(flat)
    scores = upper(x, m)
    width = max(len(g) for g in groups)
    logits = torch.full((len(groups), width), -1e4)
    pos = 0
    for i, g in enumerate(groups):
        logits[i, :len(g)] = scores[pos:pos + len(g)]
        pos += len(g)
    return torch.nn.functional.cross_entropy(logits, torch.zeros(len(groups), dtype=torch.long))


def accuracy(cache: StateCache, upper, groups: list[list[int]], batch_groups: int = 32) -> float:
    import torch

    upper.eval()
    hit = 0
    with torch.no_grad():
        for b in range(0, len(groups), batch_groups):
            chunk = groups[b:b + batch_groups]
            flat = [r for g in chunk for r in g]
            x, m = cache.batch(flat)
            s = upper(x, m).tolist()
            pos = 0
            for g in chunk:
                row = s[pos:pos + len(g)]
                hit += int(row[0] > max(row[1:], default=-np.inf))  # ties are misses
                pos += len(g)
    return round(hit / len(groups), 4)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.train_reader")
    p.add_argument("--groups", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for reader.safetensors and reader.json")
    p.add_argument("--sets", default="", help="comma-separated sets to train on (default: all given)")
    p.add_argument("--base", type=Path, default=None, help="prepared e5-small folder (default: rag prepare-model's)")
    p.add_argument("--work", type=Path, default=Path("/tmp/wt20-reader"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch-groups", type=int, default=16)
    p.add_argument("--frozen-layers", type=int, default=ReaderSpec.frozen_layers)
    p.add_argument("--trained-layers", type=int, default=ReaderSpec.trained_layers)
    p.add_argument("--max-tokens", type=int, default=ReaderSpec.max_tokens)
    p.add_argument("--limit", type=int, help="first N groups only (smoke tests)")
    p.add_argument("--seed", type=int, default=20)
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    if a.base is None:
        from rag.config import load_settings
        from rag.index.reader import base_folder

        a.base = base_folder(load_settings())
    spec = spec_for(a.base, frozen_layers=a.frozen_layers, trained_layers=a.trained_layers, max_tokens=a.max_tokens)
    sets = set(a.sets.split(",")) if a.sets else None
    groups = read_groups(a.groups, sets)[:a.limit]
    if not groups:
        raise SystemExit("no training groups")
    a.work.mkdir(parents=True, exist_ok=True)
    seqs, rows = tokenize_groups(a.base, spec, groups)
    print(f"{len(groups)} groups, {len(seqs)} sequences, {sum(map(len, seqs))} tokens", file=sys.stderr)
    t0 = time.time()
    cache = lower_states(a.base, spec, seqs, a.work, log=lambda m: print(m, file=sys.stderr))
    cache_s = round(time.time() - t0)
    val = [r for g, r in zip(groups, rows) if g["set"] != "weak" and validation_of(g["id"])]
    fit = [r for g, r in zip(groups, rows) if not (g["set"] != "weak" and validation_of(g["id"]))]
    upper = upper_from_base(a.base, spec)
    before = accuracy(cache, upper, val) if val else None
    run = train(cache, upper, fit, val, epochs=a.epochs, lr=a.lr, batch_groups=a.batch_groups, seed=a.seed,
                log=lambda m: print(m, file=sys.stderr))
    a.out.mkdir(parents=True, exist_ok=True)
    save_weights(upper, a.out / READER_WEIGHTS)
    counts: dict[str, int] = {}
    for g in groups:
        counts[g["set"]] = counts.get(g["set"], 0) + 1
    prepared = (Path(a.base) / "PREPARED.json").read_text(encoding="utf-8")
    info = {
        "spec": spec.__dict__,
        "base_model": json.loads(prepared).get("model"),
        "base_prepared": json.loads(prepared),
        "base_prepared_sha256": hashlib.sha256(prepared.encode()).hexdigest()[:16],
        "weights_sha256": hashlib.sha256((a.out / READER_WEIGHTS).read_bytes()).hexdigest()[:16],
        "data": {"groups": counts, "sequences": len(seqs), "tokens": int(sum(map(len, seqs))),
                 "split": "tune halves of the gold sets (validation: a fixed tenth of them); weak: 31k news "
                          "titles not in ant5000", "files": [str(x) for x in a.groups],
                 "built_by": "python -m evals.reader_data"},
        "training": {"epochs": a.epochs, "lr": a.lr, "batch_groups": a.batch_groups, "seed": a.seed,
                     "loss": "listwise cross-entropy (positive vs its group's negatives)",
                     "cache_seconds": cache_s, "val_top1_before": before, **run},
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
        "check": {},
    }
    (a.out / READER_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"out": str(a.out), "val_top1_before": before, **run}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
