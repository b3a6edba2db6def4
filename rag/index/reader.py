"""The built-in reader: a small cross-encoder over e5-small, trained on our tune halves.

It reads question and text together ("<s> query: Q </s></s> passage: S </s>") and scores how
well the text answers the question. Its lower layers are the prepared e5-small's own first
`frozen_layers` layers, unchanged; on top sit `trained_layers` BERT layers (initialised from
e5's next ones and trained, evals.train_reader) and a linear head over their mean-pooled
states. Only the trained layers and the head are shipped (READER_WEIGHTS, fp16 safetensors, a
few MB, with their provenance in READER_INFO): the e5 weights come from the offline model.

At run time the reader is one ONNX Runtime session. Its ONNX file is built once from the
prepared BertModel plus the shipped weights (torch and onnx at build time only, as for the
embedding model's ONNX files), by `rag prepare-model` or lazily on first use, into
`<model_dir>/reader-<key>/`; the key hashes the weight file, the spec and the base model's PREPARED.json,
so retraining or re-preparing builds a new one. This module and rag.index.embeddings are the
only ones that import torch / onnxruntime.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import ModelUnavailableError

PACKAGED = Path(__file__).resolve().parent / "reader_weights"
READER_WEIGHTS, READER_INFO = "reader.safetensors", "reader.json"
ONNX_NAME = "reader.onnx"
BUILD_VERSION = 1  # bump when the exported graph changes
BOS, PAD, EOS = 0, 1, 2  # XLM-R special tokens of e5's tokenizer
_HINT = ("building the reader's ONNX file needs torch, transformers and onnx (pip install torch==2.13.0 "
         "onnx==1.23.2 onnxruntime==1.32.0); or set RAG_READER=off")


@dataclass(frozen=True)
class ReaderSpec:
    """The shape of a reader; stored in its READER_INFO file."""

    frozen_layers: int = 4
    trained_layers: int = 1
    max_tokens: int = 64  # the whole pair, special tokens included
    query_tokens: int = 24
    hidden: int = 384
    heads: int = 12
    intermediate: int = 1536
    eps: float = 1e-12

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> ReaderSpec:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in dict(info.get("spec", {})).items() if k in names})


def spec_for(base: Path, **shape: int) -> ReaderSpec:
    """A spec over the base model folder's dimensions (config.json) with the given layer counts."""
    cfg = json.loads((Path(base) / "config.json").read_text(encoding="utf-8"))
    return ReaderSpec(hidden=cfg["hidden_size"], heads=cfg["num_attention_heads"],
                      intermediate=cfg["intermediate_size"], eps=float(cfg.get("layer_norm_eps", 1e-12)), **shape)


def read_info(directory: Path = PACKAGED) -> dict:
    try:
        return json.loads((Path(directory) / READER_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelUnavailableError(f"cannot read the reader's {Path(directory) / READER_INFO} ({e}); "
                                    "reinstall, retrain with `python -m evals.train_reader`, or set RAG_READER=off") from e


# --- tokens ------------------------------------------------------------------------------

def load_tokenizer(base: Path):
    """The base model's tokenizer, untruncated and unpadded (pair_ids cuts the pairs itself)."""
    from rag.index.embeddings import _fast_tokenizer

    tok = _fast_tokenizer(str(base))
    if tok is None:
        raise ModelUnavailableError(f"{Path(base) / 'tokenizer.json'} is missing; prepare the model with "
                                    "`rag prepare-model`, or set RAG_READER=off")
    return tok


def pair_ids(tokenizer, query: str, texts: Sequence[str], spec: ReaderSpec) -> list[list[int]]:
    """Token ids of each (query, text) pair: <s> query: Q </s></s> passage: T </s>, the query cut
    to spec.query_tokens (at most half of spec.max_tokens) and the text to what is left."""
    q = tokenizer.encode("query: " + query, add_special_tokens=False).ids[:min(spec.query_tokens, spec.max_tokens // 2)]
    room = max(1, spec.max_tokens - len(q) - 4)
    encoded = tokenizer.encode_batch(["passage: " + t for t in texts], add_special_tokens=False)
    return [[BOS, *q, EOS, EOS, *e.ids[:room], EOS] for e in encoded]


def pad(batch: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(x) for x in batch)
    ids = np.full((len(batch), width), PAD, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for i, x in enumerate(batch):
        ids[i, :len(x)] = x
        mask[i, :len(x)] = 1
    return ids, mask


# --- the torch model (build and training time only) ---------------------------------------

def torch_modules(spec: ReaderSpec):
    """(Layer, Upper, Reader) torch classes; defined on call so importing this module needs no torch."""
    import torch
    from torch import nn

    class Layer(nn.Module):
        """A BERT layer (post-LayerNorm, exact GELU), the math of transformers' BertLayer."""

        def __init__(self):
            super().__init__()
            h, f = spec.hidden, spec.intermediate
            self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
            self.aln = nn.LayerNorm(h, eps=spec.eps)
            self.fi, self.fo = nn.Linear(h, f), nn.Linear(f, h)
            self.oln = nn.LayerNorm(h, eps=spec.eps)

        def forward(self, x, bias):  # bias: (B, 1, 1, T), 0 or -1e4
            b, t, h = x.shape
            nh, d = spec.heads, h // spec.heads

            def heads(y):
                return y.view(b, t, nh, d).transpose(1, 2)

            att = heads(self.q(x)) @ heads(self.k(x)).transpose(-1, -2) / math.sqrt(d) + bias
            ctx = (att.softmax(-1) @ heads(self.v(x))).transpose(1, 2).reshape(b, t, h)
            x = self.aln(x + self.ao(ctx))
            return self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))

    class Upper(nn.Module):
        """The trained part: layers over the frozen states, mean pooling, a linear head."""

        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(Layer() for _ in range(spec.trained_layers))
            self.head = nn.Linear(spec.hidden, 1)

        def forward(self, states, mask):
            m = mask.to(states.dtype)
            bias = (1.0 - m)[:, None, None, :] * -10000.0
            x = states
            for layer in self.layers:
                x = layer(x, bias)
            pooled = (x * m[:, :, None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    class Reader(nn.Module):
        def __init__(self, lower, upper):
            super().__init__()
            self.lower, self.upper = lower, upper

        def forward(self, input_ids, attention_mask):
            states = self.lower(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.upper(states, attention_mask)

    _ = torch
    return Layer, Upper, Reader


_E5_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}


def lower_model(base: Path, spec: ReaderSpec):
    """e5's embeddings and first spec.frozen_layers layers as a transformers BertModel (eval mode)."""
    try:
        from transformers import BertConfig, BertModel
    except ImportError as e:
        raise ModelUnavailableError(_HINT) from e
    from safetensors.torch import load_file

    cfg = BertConfig.from_pretrained(str(base))
    cfg.num_hidden_layers = spec.frozen_layers
    cfg._attn_implementation = "eager"
    model = BertModel(cfg, add_pooling_layer=False)
    state = load_file(str(Path(base) / "model.safetensors"))
    state = {k.removeprefix("bert."): v for k, v in state.items()}
    keep = {k: v for k, v in state.items()
            if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < spec.frozen_layers}
    missing, _ = model.load_state_dict(keep, strict=False)
    if [m for m in missing if "position_ids" not in m]:
        raise ModelUnavailableError(f"{base}: the prepared model lacks {missing[:3]}; run `rag prepare-model`")
    return model.eval()


def upper_from_base(base: Path, spec: ReaderSpec):
    """The trainable part initialised from e5's layers frozen_layers.. (the head at zero)."""
    import torch
    from safetensors.torch import load_file

    _, Upper, _ = torch_modules(spec)
    upper = Upper()
    state = {k.removeprefix("bert."): v for k, v in load_file(str(Path(base) / "model.safetensors")).items()}
    own = {}
    for i in range(spec.trained_layers):
        src = spec.frozen_layers + i
        for short, name in _E5_NAMES.items():
            for p in ("weight", "bias"):
                own[f"layers.{i}.{short}.{p}"] = state[f"encoder.layer.{src}.{name}.{p}"]
    own["head.weight"] = torch.zeros(1, spec.hidden)
    own["head.bias"] = torch.zeros(1)
    upper.load_state_dict(own)
    return upper


def upper_from_weights(weights: Path, spec: ReaderSpec):
    from safetensors.torch import load_file

    _, Upper, _ = torch_modules(spec)
    upper = Upper()
    try:
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        upper.load_state_dict(state)
    except Exception as e:  # library edge: a corrupt or foreign file
        raise ModelUnavailableError(f"cannot load the reader weights {weights} ({e}); retrain with "
                                    "`python -m evals.train_reader` or set RAG_READER=off") from e
    return upper.eval()


def save_weights(upper, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().to("cpu").half().contiguous() for k, v in upper.state_dict().items()}, str(path))


def torch_reader(base: Path, directory: Path = PACKAGED):
    """The whole reader in torch (parity checks, export)."""
    spec = ReaderSpec.from_info(read_info(directory))
    _, _, Reader = torch_modules(spec)
    return Reader(lower_model(base, spec), upper_from_weights(Path(directory) / READER_WEIGHTS, spec)).eval(), spec


def export_onnx(module, path: Path, output: str = "score") -> None:
    import warnings

    import torch

    ids = torch.tensor([[BOS, 5, 6, 7, EOS], [BOS, 5, EOS, PAD, PAD]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (ids, mask), str(path), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=[output],
                          dynamic_axes=dyn, do_constant_folding=True)


# --- the ONNX file ------------------------------------------------------------------------

def base_folder(settings: Settings) -> Path:
    """The prepared e5-small folder the reader builds on (whatever the embedding model is)."""
    from rag.index.model_prep import prepare_default_model

    return prepare_default_model(settings)


def build_key(base: Path, directory: Path = PACKAGED) -> str:
    h = hashlib.sha256(f"v{BUILD_VERSION}".encode())
    h.update(json.dumps(read_info(directory).get("spec", {}), sort_keys=True).encode())  # not the rest: refits keep the file
    for p in (Path(directory) / READER_WEIGHTS, Path(base) / "PREPARED.json"):
        try:
            h.update(p.read_bytes())
        except OSError as e:
            raise ModelUnavailableError(f"the reader needs {p} ({e}); run `rag prepare-model` or set RAG_READER=off") from e
    return h.hexdigest()[:12]


def onnx_path(settings: Settings, base: Path, directory: Path = PACKAGED) -> Path:
    return Path(settings.model_dir) / f"reader-{build_key(base, directory)}" / ONNX_NAME


def build_onnx(settings: Settings, directory: Path = PACKAGED, base: Path | None = None) -> Path:
    """The reader's ONNX file, built once (in a temp folder renamed into place)."""
    base = Path(base) if base is not None else base_folder(settings)
    target = onnx_path(settings, base, directory)
    if target.is_file():
        return target
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise ModelUnavailableError(_HINT) from e
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.parent.name}.tmp-{os.getpid()}-", dir=target.parent.parent))
    try:
        model, _ = torch_reader(base, directory)
        export_onnx(model, tmp / ONNX_NAME)
        (tmp / "BUILT.json").write_text(json.dumps({"base": str(base), "weights": str(Path(directory) / READER_WEIGHTS),
                                                    "version": BUILD_VERSION}), encoding="utf-8")
        tmp.chmod(0o755)
        try:
            tmp.rename(target.parent)
        except OSError:
            if not target.is_file():
                raise
    except ModelUnavailableError:
        raise
    except Exception as e:  # library edge: export failures
        raise ModelUnavailableError(f"cannot build the reader's ONNX file ({e}); {_HINT}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# --- run time -----------------------------------------------------------------------------

class BuiltinReader:
    """score(query, texts) -> one float per text, higher is better (a logit, not a probability).

    Scores are memoised per (query, text) for the last CACHE pairs: the passage rerank and the
    answerer's sentence rerank of one question share their sentences."""

    CACHE = 512
    name = "builtin"

    def __init__(self, settings: Settings, directory: Path = PACKAGED, base: Path | None = None):
        try:
            import onnxruntime  # noqa: F401  (a clear message before any work)
        except ImportError as e:
            raise ModelUnavailableError("the reader needs onnxruntime: pip install onnxruntime==1.32.0 "
                                        "(or set RAG_READER=off)") from e
        from rag.index.embeddings import cpu_session

        self.info = read_info(directory)
        self.spec = ReaderSpec.from_info(self.info)
        base = Path(base) if base is not None else base_folder(settings)
        path = build_onnx(settings, directory, base)
        self.session = cpu_session(path, "delete it to rebuild, or set RAG_READER=off", what="the reader ")
        self.tokenizer = load_tokenizer(base)
        combine = self.info.get("combine", {})
        # How the pipeline weighs the scores (fitted on tune halves by evals.fit_reader).
        # None: the passage rerank did not beat the fused order on the tune halves, so it is not run.
        prior = combine.get("passage_prior", 1.0)
        self.passage_prior = None if prior is None else float(prior)
        self.sentence_weight = float(combine.get("sentence_weight", 1.0))
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        texts = list(texts)
        with self._lock:
            known = {t: self._cache[(query, t)] for t in texts if (query, t) in self._cache}
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            ids, mask = pad(pair_ids(self.tokenizer, query, todo, self.spec))
            out = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            with self._lock:
                for t, s in zip(todo, out.tolist()):
                    known[t] = float(s)
                    self._cache[(query, t)] = float(s)
                while len(self._cache) > self.CACHE:
                    self._cache.popitem(last=False)
        return [known[t] for t in texts]


def reader_directory(settings: Settings) -> Path:
    """Where the reader's weights are read: settings.reader_dir, else the packaged ones."""
    return Path(settings.reader_dir).expanduser() if settings.reader_dir.strip() else PACKAGED


_READERS: dict[tuple, BuiltinReader] = {}
_READERS_LOCK = threading.Lock()


def get_reader(settings: Settings) -> BuiltinReader | None:
    """The built-in reader when settings.reader is "builtin" (one per model dir and process)."""
    if settings.reader != "builtin":
        return None
    directory = reader_directory(settings)
    key = (str(settings.model_dir), str(directory))
    with _READERS_LOCK:
        if key not in _READERS:
            _READERS[key] = BuiltinReader(settings, directory)
        return _READERS[key]
