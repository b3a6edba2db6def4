"""The fitted models of the answering stage, as data: the JSON files beside this loader.

Weights are fitted by evals.fit_answerer (answerer.json) and evals.calibrate (refusal.json),
which write these files with their provenance; the code only reads them. Each file is read and
validated once: feature names must be the ones the code computes, numbers finite, required keys
present; a malformed file is a ConfigError naming the file and the fix, never a silent default.
`load(directory)` reads another folder (tests, refits); the packaged one is the default.
"""
from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

PACKAGED = Path(__file__).resolve().parent
ANSWERER, REFUSAL = "answerer.json", "refusal.json"
ANSWERER_RULES = ("sentence", "rerank")
REFUSAL_RULES = ("dense", "lexical", "cross", "cross_dense")
FALLBACK_RULES = ("lexical", "cross_dense")  # without an embedder the cosine rules were fitted for
RERANK_FEATURES = ("first_stage", "sentence_cosine")


@dataclass(frozen=True, slots=True)
class Rule:
    """One fitted linear model: ordered feature weights, bias, and (refusal rules) a threshold."""

    name: str
    weights: Mapping[str, float]  # feature -> weight, in the file's (and the sum's) order
    bias: float
    threshold: float | None = None
    cosine_model: str | None = None  # the model whose cosine scale the weights are on, if any
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.weights)

    @property
    def vector(self) -> tuple[float, ...]:
        return tuple(self.weights.values())

    def score(self, features: Mapping[str, float]) -> float:
        """Logistic support in (0, 1) for the refusal rules."""
        return 1.0 / (1.0 + math.exp(-(self.bias + sum(w * features[k] for k, w in self.weights.items()))))

    def fits(self, embedder) -> bool:
        """Whether this rule may weigh `embedder`'s cosines: a rule fitted for another model's
        cosine scale must not silently apply (rules that weigh no cosine fit any embedder)."""
        if self.cosine_model is None:
            return True
        from rag.index.embeddings import cosine_scale

        return cosine_scale(str(getattr(embedder, "model_id", ""))) == self.cosine_model

    def as_json(self) -> dict:
        out: dict[str, Any] = {"features": dict(self.weights), "bias": self.bias}
        if self.threshold is not None or self.name in REFUSAL_RULES:
            out["threshold"], out["cosine_model"] = self.threshold, self.cosine_model
        out["provenance"] = dict(self.provenance)
        return out


@dataclass(frozen=True, slots=True)
class Models:
    """Everything the answerer and the refusal rule weigh, and where it was read from."""

    sentence: Rule
    rerank: Rule
    refusal: Mapping[str, Rule]
    directory: Path


def load(directory: str | Path | None = None) -> Models:
    """The models in `directory` (default: the packaged ones, read once per process)."""
    if directory is None:
        return _packaged()
    return _read(Path(directory))


@functools.cache
def _packaged() -> Models:
    return _read(PACKAGED)


def _read(directory: Path) -> Models:
    from rag.answering.refusal import REFUSAL_FEATURES
    from rag.answering.sentences import SENTENCE_FEATURES

    answerer, refusal = _json(directory / ANSWERER), _json(directory / REFUSAL)
    sentence = _rule(directory / ANSWERER, answerer, "sentence", exact=SENTENCE_FEATURES)
    rerank = _rule(directory / ANSWERER, answerer, "rerank", exact=RERANK_FEATURES)
    rules = _section(directory / REFUSAL, refusal, "rules")
    return Models(sentence, rerank, {name: _rule(directory / REFUSAL, rules, name, allowed=REFUSAL_FEATURES,
                                                 refusal=True) for name in REFUSAL_RULES}, directory)


def write(directory: str | Path, *, sentence: Rule | None = None, rerank: Rule | None = None,
          refusal: Mapping[str, Rule] | None = None, base: str | Path | None = None) -> list[Path]:
    """Write the given rules into `directory`, the others copied from `base` (default packaged);
    the files written are validated by reading them back. Returns the paths written."""
    old = load(base)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if sentence is not None or rerank is not None or not (directory / ANSWERER).is_file():
        body = {"about": _json(old.directory / ANSWERER).get("about", ""),
                "sentence": (sentence or old.sentence).as_json(), "rerank": (rerank or old.rerank).as_json()}
        written.append(_dump(directory / ANSWERER, body))
    if refusal is not None or not (directory / REFUSAL).is_file():
        rules = {**old.refusal, **(refusal or {})}
        body = {"about": _json(old.directory / REFUSAL).get("about", ""),
                "rules": {name: rules[name].as_json() for name in REFUSAL_RULES}}
        written.append(_dump(directory / REFUSAL, body))
    _read(directory)
    return written


def _dump(path: Path, body: dict) -> Path:
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _json(path: Path) -> dict:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"fitted weights {path} are missing; restore the file from the package "
                          "or refit (python -m evals.fit_answerer / evals.calibrate --write)") from e
    except (OSError, ValueError) as e:
        raise ConfigError(f"fitted weights {path} are not valid JSON ({e}); restore the file or refit") from e
    if not isinstance(body, dict):
        raise ConfigError(f"fitted weights {path}: expected a JSON object; restore the file or refit")
    return body


def _section(path: Path, body: Mapping, key: str) -> Mapping:
    got = body.get(key)
    if not isinstance(got, dict):
        raise ConfigError(f"fitted weights {path}: '{key}' is missing or not an object; restore the file or refit")
    return got


def _number(path: Path, where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"fitted weights {path}: {where} must be a finite number, not {value!r}; "
                          "restore the file or refit")
    return float(value)


def _rule(path: Path, body: Mapping, name: str, *, exact: tuple[str, ...] | None = None,
          allowed: tuple[str, ...] = (), refusal: bool = False) -> Rule:
    raw = _section(path, body, name)
    weights = _section(path, raw, "features")
    names = tuple(weights)
    if exact is not None and names != exact:
        raise ConfigError(f"fitted weights {path}: {name}.features must be {', '.join(exact)} in this order "
                          f"(the code's features), not {', '.join(names)}; refit with the current code")
    unknown = [n for n in names if exact is None and n not in allowed]
    if unknown or not names:
        raise ConfigError(f"fitted weights {path}: {name}.features: unknown or no features {unknown}; "
                          f"choose from {', '.join(allowed)}")
    parsed = {n: _number(path, f"{name}.features.{n}", w) for n, w in weights.items()}
    if "bias" not in raw:
        raise ConfigError(f"fitted weights {path}: {name}.bias is missing; restore the file or refit")
    bias = _number(path, f"{name}.bias", raw["bias"])
    threshold = cosine_model = None
    if refusal:
        threshold = _number(path, f"{name}.threshold", raw.get("threshold"))
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"fitted weights {path}: {name}.threshold must lie in [0, 1], not {threshold}; "
                              "restore the file or refit")
        cosine_model = raw.get("cosine_model")
        if name in FALLBACK_RULES and ("sentence_cosine" in parsed or cosine_model is not None):
            raise ConfigError(f"fitted weights {path}: {name} is the rule for any embedder, so it cannot weigh "
                              "sentence_cosine or name a cosine_model; refit it without that feature")
        if "sentence_cosine" in parsed and not (isinstance(cosine_model, str) and cosine_model):
            raise ConfigError(f"fitted weights {path}: {name} weighs sentence_cosine, so cosine_model must name "
                              "the embedding model it was fitted for")
    provenance = raw.get("provenance")
    if not isinstance(provenance, dict) or "model" not in provenance:
        raise ConfigError(f"fitted weights {path}: {name}.provenance (with the model it was fitted for) is missing")
    return Rule(name, parsed, bias, threshold, cosine_model, provenance)
