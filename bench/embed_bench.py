"""Embedding-backend benchmark (not a test): each backend against the fp32 torch
sentence-transformers model, measured in the same run, interleaved, reported as ratios.

  python bench/embed_bench.py [--passages 200] [--rounds 3] [--questions 1400] [--speed-only]
                              [--extra LABEL=FILE.onnx ...]

1. speed: passages/s on N ARCD paragraphs of 60-130 words ("passage: " prompt, batch 32);
   each round times every backend once, in turn, and the ratio to torch is taken per round
   (median over rounds), so load from other processes hits all backends alike;
2. fidelity: cosine of each backend's vectors to fp32 torch's (min and mean);
3. retrieval: recall@1 / recall@5 of ARCD questions ("query: ") over all ARCD paragraphs,
   per backend, and the difference to fp32 torch in points (all 1395 questions by default: on an
   evenly spaced 200 the int8 differences swung from -6.5 to +0 points between int8 variants
   whose cosines to fp32 were the same, while on all 1395 they stayed within 0.4).
Reads ../shared/data/qa at run time (nothing is copied into the repo).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QA = ROOT.parent / "shared" / "data" / "qa"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class _Torch:
    def __init__(self, folder: str, batch: int):
        from rag.index.embeddings import _load

        self.model, self.batch = _load(folder, "cpu"), batch

    def encode(self, texts, prompt):
        return np.asarray(self.model.encode(list(texts), prompt=prompt, batch_size=self.batch, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)


class _Onnx:
    def __init__(self, folder: str, file_name: str, batch: int):
        from rag.index.embeddings import OnnxEncoder

        self.model, self.batch = OnnxEncoder(Path(folder), file_name), batch

    def encode(self, texts, prompt):
        return self.model.encode(list(texts), prompt, self.batch)


def _recall(q: np.ndarray, c: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    top = np.argsort(-(q @ c.T), axis=1)[:, :5]
    return float(np.mean(top[:, 0] == gold)) * 100, float(np.mean((top == gold[:, None]).any(axis=1))) * 100


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=200)
    ap.add_argument("--questions", type=int, default=1400)  # all 1395: 200 flip a point or more by chance
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--speed-only", action="store_true", help="skip the retrieval part (cosine is still reported)")
    ap.add_argument("--extra", action="append", default=[], help="LABEL=PATH of another ONNX file to compare")
    args = ap.parse_args()
    if not (QA / "arcd.contexts.jsonl").is_file():
        print(f"skipped: {QA / 'arcd.contexts.jsonl'} is absent (the benchmark reads the shared ARCD sample)")
        return 0
    from rag.config import load_settings
    from rag.index.model_prep import ONNX_FILES, resolve_model

    folder = resolve_model(load_settings(embedding_model="intfloat/multilingual-e5-small"))
    contexts = _jsonl(QA / "arcd.contexts.jsonl")
    passages = [c["text"] for c in contexts if 60 <= len(c["text"].split()) <= 130][:args.passages]
    words = statistics.mean(len(p.split()) for p in passages)
    print(f"{len(passages)} passages, {words:.0f} words on average; model {folder}")

    backends = {"torch": _Torch(folder, args.batch)}
    for name, file_name in ONNX_FILES.items():
        backends[name] = _Onnx(folder, file_name, args.batch)
    for spec in args.extra:
        label, path = spec.split("=", 1)
        backends[label] = _Onnx(str(Path(path).parent), Path(path).name, args.batch)
    for b in backends.values():  # warm-up: first-run allocations and lazy initialisation
        b.encode(passages[:8], "passage: ")

    times: dict[str, list[float]] = {k: [] for k in backends}
    vecs: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        for name, b in backends.items():
            t0 = time.perf_counter()
            vecs[name] = b.encode(passages, "passage: ")
            times[name].append(time.perf_counter() - t0)
        print(f"round {r + 1}: " + "  ".join(f"{k} {len(passages) / t[-1]:.1f}/s" for k, t in times.items()), flush=True)

    questions = _jsonl(QA / "arcd.questions.jsonl")
    step = max(1, len(questions) // args.questions)
    questions = questions[::step][:args.questions]
    ids = {c["context_id"]: i for i, c in enumerate(contexts)}
    gold = np.array([ids[q["context_id"]] for q in questions])
    results = {}
    ref = vecs["torch"]
    for name, b in backends.items():
        cos = np.sum(vecs[name] * ref, axis=1)
        ratio = statistics.median(t_ref / t for t_ref, t in zip(times["torch"], times[name]))
        r1 = r5 = float("nan")
        if not args.speed_only:
            c = b.encode([x["text"] for x in contexts], "passage: ")
            q = b.encode([x["question"] for x in questions], "query: ")
            r1, r5 = _recall(q, c, gold)
        results[name] = {"passages_per_s": len(passages) / statistics.median(times[name]), "ratio_to_torch": ratio,
                         "cos_min": float(cos.min()), "cos_mean": float(cos.mean()), "recall@1": r1, "recall@5": r5}
    base = results["torch"]
    print(f"\n{'backend':14} {'pass/s':>7} {'x torch':>8} {'cos min':>8} {'cos mean':>9} {'R@1':>6} {'R@5':>6} "
          f"{'dR@1':>6} {'dR@5':>6}   ({len(questions)} questions, {len(contexts)} paragraphs)")
    for name, x in results.items():
        print(f"{name:14} {x['passages_per_s']:7.1f} {x['ratio_to_torch']:7.2f}x {x['cos_min']:8.4f} {x['cos_mean']:9.4f} "
              f"{x['recall@1']:6.1f} {x['recall@5']:6.1f} {x['recall@1'] - base['recall@1']:+6.1f} "
              f"{x['recall@5'] - base['recall@5']:+6.1f}")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "embed.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
