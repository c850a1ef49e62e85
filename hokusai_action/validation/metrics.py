"""The metric catalogue: which names Hokusai knows, which way is better, what range is valid.

DeltaOne is measured against these facts, so they live in one place: the validator, the
registry and the DeltaOne decision all read them from here.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hokusai_action.validation.suggest import did_you_mean_canonical


class Direction(enum.StrEnum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    direction: Direction
    minimum: float = -math.inf
    maximum: float = math.inf
    family: str = "custom"
    description: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def is_proportion(self) -> bool:
        """Bounded in [0, 1]: improvements are measured in percentage points."""
        return self.minimum == 0 and self.maximum == 1

    def range_text(self) -> str:
        low = "-inf" if self.minimum == -math.inf else f"{self.minimum:g}"
        high = "inf" if self.maximum == math.inf else f"{self.maximum:g}"
        return f"[{low}, {high}]"


def _proportion(name: str, family: str, description: str, *aliases: str) -> Metric:
    return Metric(name, Direction.HIGHER, 0.0, 1.0, family, description, aliases)


def _error(name: str, description: str, *aliases: str, minimum: float = 0.0) -> Metric:
    return Metric(name, Direction.LOWER, minimum, math.inf, "regression", description, aliases)


CATALOGUE: tuple[Metric, ...] = (
    # classification
    _proportion("accuracy", "classification", "share of correct predictions", "acc"),
    _proportion("precision", "classification", "true positives / predicted positives"),
    _proportion("recall", "classification", "true positives / actual positives", "sensitivity"),
    _proportion("f1_score", "classification", "harmonic mean of precision and recall", "f1"),
    _proportion("auc", "classification", "area under a curve (state which in the description)"),
    _proportion(
        "auroc", "classification", "area under the ROC curve", "roc_auc", "auc_roc", "roc_auc_score"
    ),
    # regression
    _error("mse", "mean squared error", "mean_squared_error"),
    _error("rmse", "root mean squared error", "root_mean_squared_error"),
    _error("mae", "mean absolute error", "mean_absolute_error"),
    Metric(
        "r2_score",
        Direction.HIGHER,
        -math.inf,
        1.0,
        "regression",
        "coefficient of determination",
        ("r2", "r_squared"),
    ),
    _error(
        "mape",
        "mean absolute percentage error, as a fraction (0.05 = 5%)",
        "mean_absolute_percentage_error",
    ),
    # NLP
    _error("perplexity", "exp of the mean negative log-likelihood", "ppl", minimum=1.0),
    _proportion("bleu_score", "nlp", "BLEU on a 0-1 scale", "bleu"),
    _proportion("rouge_score", "nlp", "ROUGE on a 0-1 scale", "rouge"),
    _proportion("exact_match", "nlp", "share of answers matching exactly", "em"),
    # ranking
    _proportion("ndcg", "ranking", "normalised discounted cumulative gain", "ndcg_score"),
    _proportion("map", "ranking", "mean average precision", "mean_average_precision"),
    _proportion("mrr", "ranking", "mean reciprocal rank", "mean_reciprocal_rank"),
)

_BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}
ALIASES: dict[str, str] = {alias: m.name for m in CATALOGUE for alias in m.aliases}


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a metric name in a manifest refers to."""

    metric: Metric | None
    alias_of: str | None = None  # set when the name is an alias of a catalogue name
    suggestion: str = ""  # did-you-mean text, when the name is unknown


def custom_metrics(declared: Any) -> dict[str, Metric]:
    """Metrics a manifest declares under `custom_metrics` (malformed entries are skipped:
    the schema reports them)."""
    result: dict[str, Metric] = {}
    if not isinstance(declared, Mapping):
        return result
    for name, spec in declared.items():
        if not isinstance(spec, Mapping) or spec.get("direction") not in ("higher", "lower"):
            continue
        low, high = spec.get("min", -math.inf), spec.get("max", math.inf)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
            continue
        try:
            low, high = float(low), float(high)
        except OverflowError:  # an integer beyond a float: `number-not-finite` reports it
            continue
        if math.isnan(low) or math.isnan(high):
            continue
        result[name] = Metric(
            name,
            Direction(spec["direction"]),
            low,
            high,
            "custom",
            str(spec.get("description", "")),
        )
    return result


def lookup(name: str, custom: Mapping[str, Metric] | None = None) -> Lookup:
    custom = custom or {}
    if name in custom:
        return Lookup(custom[name])
    if name in _BY_NAME:
        return Lookup(_BY_NAME[name])
    canonical = ALIASES.get(name) or ALIASES.get(name.lower())
    if canonical is None and name.lower() in _BY_NAME:
        canonical = name.lower()
    if canonical is not None:
        return Lookup(_BY_NAME[canonical], alias_of=canonical)
    return Lookup(None, suggestion=_suggestion(name, tuple(custom)))


@lru_cache(maxsize=256)
def _suggestion(name: str, custom_names: tuple[str, ...]) -> str:
    """Did-you-mean for an unknown name. Cached: the rules look the same names up more than
    once per manifest, and a repository's manifests share their custom metric names."""
    return did_you_mean_canonical(name, [*_BY_NAME, *custom_names], ALIASES)
