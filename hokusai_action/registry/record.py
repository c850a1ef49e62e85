"""The benchmark of record: the yardstick of a token, kept in the registry, not in a pull request.

A DeltaOne pays tokens, and every line under `benchmark:` in a pull request's manifest is the
contributor's to write. So the metric, its direction and range, the dataset, the rule, the
threshold and the models whose versions make the token's history are fixed per token, in the
registry, by its owner:

- **Where.** The registered model `hokusai-record.<TOKEN>`: each version is a revision, its tag
  `hokusai_record` the record as JSON. Version numbers are never reused, so revisions are
  numbered and kept; the newest readable one is in force.
- **Who.** The owner, with `hokusai-action benchmark set`. The first `register` of a token that
  has neither versions nor a record creates one from its manifest (trust on first use) and
  says so loudly. A pull request never opens a revision.
- **What a manifest may still say.** A manifest is judged against the record: a field that
  disagrees but does not change what was measured (the dataset's name or version when the
  data's hash is the record's, the sample count) is a notice; one that does (another metric,
  direction, range or data) is `benchmark_mismatch`, with the `benchmark set` command that
  would change it.

Pure: data in, data out. `mlflow_store` reads and writes the registered model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hokusai_action.registry.deltaone import DEFAULT_THRESHOLD, Rule, rule_for
from hokusai_action.validation import metrics
from hokusai_action.validation.metrics import Direction

RECORD_MODEL_PREFIX = "hokusai-record."  # reserved by the validation rule `model-name-reserved`
RECORD_TAG = "hokusai_record"
FORMAT = 1
MAX_MODELS = 50  # a record's model names; a tag holds at most 100,000 characters
MEASUREMENT = ("off", "required")


def record_model(token_id: str) -> str:
    return f"{RECORD_MODEL_PREFIX}{token_id}"


class RecordError(ValueError):
    """A record that cannot be used as it is: the message says what and how to fix it."""


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str | None = None
    version: str | None = None
    sha256: str | None = None
    samples: int | None = None
    path: str | None = None  # in the repository, from its root
    artifact: str | None = None  # or in the registry (an artifact URI with restricted read)

    def label(self) -> str:
        if self.name is None:
            return "no named dataset"
        return self.name + (f" {self.version}" if self.version else "")


@dataclass(frozen=True, slots=True)
class BenchmarkRecord:
    """A token's benchmark of record, one revision of it."""

    token_id: str
    metric: str  # the catalogue's name (aliases mapped) or a custom metric's
    direction: str
    minimum: float
    maximum: float
    models: tuple[str, ...]
    dataset: Dataset = field(default_factory=Dataset)
    rule: str = ""  # a Rule's value; "" -> by metric
    threshold: str = str(DEFAULT_THRESHOLD)  # decimal text, compared exactly
    floor: str | None = None  # relative rule: the smallest |baseline| a gain is measured from
    require_significance: bool = False
    target: str | None = None  # the label column (read by measurement)
    measurement: str = "off"  # `required`: the value is measured by hokusai-action
    revision: int = 0  # set when read from the registry
    origin: str = ""  # "first registration of <model>" or "benchmark set"
    set_by: str = ""
    set_at: str = ""

    # -- as the verdict needs it ----------------------------------------------------------
    @property
    def as_metric(self) -> metrics.Metric:
        known = metrics.lookup(self.metric).metric
        family = known.family if known else "custom"
        return metrics.Metric(self.metric, Direction(self.direction), self.minimum,
                              self.maximum, family)  # fmt: skip

    @property
    def the_rule(self) -> Rule:
        return Rule(self.rule) if self.rule else rule_for(self.as_metric)

    def range_text(self) -> str:
        return self.as_metric.range_text()

    def summary(self) -> str:
        """`accuracy (higher is better, [0, 1]) on holdout v1 (sha256 1a2b3c4d…)`."""
        sha = f", sha256 {self.dataset.sha256[:12]}…" if self.dataset.sha256 else ""
        return (
            f"{self.metric} ({self.direction} is better, {self.range_text()}) on "
            f"{self.dataset.label()}{sha}"
        )

    def rule_summary(self) -> str:
        rule = self.the_rule
        threshold = Decimal(self.threshold) * 100
        text = (
            f"improvement >= {threshold.normalize():f} percentage point(s)"
            if rule is Rule.POINTS
            else f"relative improvement >= {threshold.normalize():f}% of max(|baseline|, "
            f"floor {self.floor})"
        )
        return text + (", significant at 95%" if self.require_significance else "")

    # -- as stored ------------------------------------------------------------------------
    def to_json(self) -> str:
        data = asdict(self)
        for key in ("revision",):
            data.pop(key)
        data["format"] = FORMAT
        data["minimum"] = _bound_text(self.minimum)
        data["maximum"] = _bound_text(self.maximum)
        data["models"] = list(self.models)
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, token_id: str, revision: int) -> BenchmarkRecord:
        """Read a stored revision; RecordError when it is not one (the registry is shared:
        anything may be in a tag)."""
        try:
            data = json.loads(text)
        except ValueError as e:
            raise RecordError(f"revision {revision} is not JSON") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecordError(f"revision {revision} is not a format-{FORMAT} record")
        try:
            dataset = data.get("dataset") or {}
            record = cls(
                token_id=_text(data["token_id"]),
                metric=_text(data["metric"]),
                direction=Direction(data["direction"]).value,
                minimum=_bound(data["minimum"]),
                maximum=_bound(data["maximum"]),
                models=tuple(_text(m) for m in data["models"]),
                dataset=Dataset(
                    **{
                        k: _optional(dataset.get(k))
                        for k in ("name", "version", "path", "artifact")
                    },
                    sha256=_sha(dataset.get("sha256")),
                    samples=_count(dataset.get("samples")),
                ),
                rule=Rule(data["rule"]).value if data.get("rule") else "",
                threshold=_decimal_text(data.get("threshold", str(DEFAULT_THRESHOLD))),
                floor=_decimal_text(data["floor"]) if data.get("floor") is not None else None,
                require_significance=data.get("require_significance") is True,
                target=_optional(data.get("target")),
                measurement=data.get("measurement")
                if data.get("measurement") in MEASUREMENT
                else "off",
                revision=revision,
                origin=str(data.get("origin", ""))[:200],
                set_by=str(data.get("set_by", ""))[:200],
                set_at=str(data.get("set_at", ""))[:40],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise RecordError(f"revision {revision} is malformed: {e}") from e
        if record.token_id != token_id:
            raise RecordError(f"revision {revision} is the record of `{record.token_id}`")
        if not record.models:
            raise RecordError(f"revision {revision} names no model")
        return record

    def to_dict(self) -> dict[str, Any]:
        data = json.loads(self.to_json())
        data["revision"] = self.revision
        return data


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected text, found {type(value).__name__}")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)


def _sha(value: Any) -> str | None:
    if value is None:
        return None
    text = _text(value).lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("dataset sha256 is not 64 hex digits")
    return text


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("dataset samples is not a positive whole number")
    return value


def _bound_text(value: float) -> str:
    return "inf" if value == math.inf else "-inf" if value == -math.inf else repr(value)


def _bound(value: Any) -> float:
    number = float(_text(value))
    if math.isnan(number):
        raise ValueError("a range bound is NaN")
    return number


def _decimal_text(value: Any) -> str:
    """A finite, non-negative decimal, as text (so it is compared exactly)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation as e:
        raise ValueError(f"{str(value)[:40]!r} is not a number") from e
    if not number.is_finite() or number < 0 or isinstance(value, bool):
        raise ValueError(f"{str(value)[:40]!r} is not a finite number >= 0")
    return str(value)


# -- what a manifest asks, against the record ----------------------------------------------
@dataclass(frozen=True, slots=True)
class Reconciled:
    """A plan judged against a record: what it is measured as, and what the manifest said
    differently (notices), or why it cannot be judged against the record at all."""

    mismatches: tuple[str, ...] = ()  # fields that change what was measured
    notices: tuple[str, ...] = ()  # fields overridden by the record


def reconcile(record: BenchmarkRecord, metric: metrics.Metric, dataset: Mapping[str, Any],
              dataset_sha256: str | None) -> Reconciled:  # fmt: skip
    """Compare a manifest's benchmark with the record, field by field."""
    mismatches: list[str] = []
    notices: list[str] = []
    if metric.name != record.metric:
        mismatches.append(
            f"metric: the manifest says `{metric.name}`, the record `{record.metric}`"
        )
    if str(metric.direction) != record.direction:
        mismatches.append(
            f"direction: the manifest says {metric.direction} is better, the record "
            f"{record.direction}"
        )
    if metric.range_text() != record.range_text():
        mismatches.append(
            f"range: the manifest says {metric.range_text()}, the record {record.range_text()}"
        )
    ours = record.dataset
    name, version = _opt_text(dataset.get("name")), _opt_text(dataset.get("version"))
    if ours.sha256 is not None:
        if dataset_sha256 is None:
            mismatches.append(
                f"dataset: the record's data has sha256 {ours.sha256}; the manifest names no "
                "data (dataset.path or dataset.sha256), so its value may be measured on other data"
            )
        elif dataset_sha256 != ours.sha256:
            mismatches.append(
                f"dataset sha256: the manifest's data hashes to {dataset_sha256}, the record's "
                f"to {ours.sha256}"
            )
        else:
            for what, theirs, mine in (
                ("name", name, ours.name),
                ("version", version, ours.version),
            ):
                if theirs != mine:
                    notices.append(
                        f"dataset {what} `{theirs}` is `{mine}` in the record (same data, by "
                        "its hash): judged as the record's"
                    )
    else:
        if (name, version) != (ours.name, ours.version):
            mismatches.append(
                f"dataset: the manifest names {_label(name, version)}, the record "
                f"{ours.label()} (the record has no sha256 to tell whether they are the same data)"
            )
        elif dataset_sha256 is not None:
            notices.append(
                "the record names no dataset sha256, so the manifest's is not checked against "
                "it: the owner can pin it with `hokusai-action benchmark set`"
            )
    target = _opt_text(dataset.get("target"))
    if target is not None and target != record.target:
        notices.append(
            f"dataset target `{target}` is `{record.target}` in the record: the record's label "
            "column is measured"
        )
    samples = dataset.get("samples")
    if samples is not None and samples != ours.samples:
        notices.append(
            f"dataset samples {samples} is {ours.samples or 'unknown'} in the record: the "
            "record's count is used for significance"
        )
    return Reconciled(tuple(mismatches), tuple(notices))


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _label(name: str | None, version: str | None) -> str:
    return Dataset(name, version).label()


def from_manifest(
    token_id: str,
    model_name: str,
    metric: metrics.Metric,
    dataset: Mapping[str, Any],
    dataset_sha256: str | None,
    path: str | None = None,
    **settings: Any,
) -> BenchmarkRecord:
    """A record as a manifest describes it (trust on first use, or `benchmark set --from`);
    `path` is the data's path from the repository's root."""
    samples = dataset.get("samples")
    return BenchmarkRecord(
        token_id=token_id,
        metric=metric.name,
        direction=str(metric.direction),
        minimum=metric.minimum,
        maximum=metric.maximum,
        models=(model_name,),
        dataset=Dataset(
            name=_opt_text(dataset.get("name")),
            version=_opt_text(dataset.get("version")),
            sha256=dataset_sha256,
            samples=samples if isinstance(samples, int) and not isinstance(samples, bool) else None,
            path=path,
        ),
        target=_opt_text(dataset.get("target")),
        **settings,
    )


ZERO_FLOOR = (
    "a floor of 0 under the relative rule measures gains from the baseline alone, so a baseline "
    "near zero (a subnormal number) pays on noise: pass --floor greater than 0, the smallest "
    "|baseline| a gain is measured from"
)


def who(env: Mapping[str, str]) -> str:
    """Who sets a revision, as people would name them: the registry account, the GitHub
    actor, or the local user."""
    import getpass

    for name in ("MLFLOW_TRACKING_USERNAME", "GITHUB_ACTOR"):
        if value := env.get(name, "").strip():
            return value[:100]
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):
        return "unknown"


def default_floor(value: Decimal) -> str | None:
    """For a record created by a first registration under the relative rule: gains are
    measured from at least 1% of the value the token started at, so a baseline driven
    towards zero (or a subnormal number) never pays on noise. None when the value is 0:
    then the owner must state a floor."""
    if value == 0:
        return None
    return str(abs(value) / 100)


def fields_changed(old: BenchmarkRecord | None, new: BenchmarkRecord) -> list[str]:
    """Which fields a new revision changes, for `benchmark set` and `lineage`."""
    if old is None:
        return ["(new record)"]
    a, b = old.to_dict(), new.to_dict()
    skip = {"revision", "origin", "set_by", "set_at"}
    return [k for k in sorted(b) if k not in skip and a.get(k) != b.get(k)]


def changes_benchmark(old: BenchmarkRecord, new: BenchmarkRecord) -> bool:
    """Whether a revision changes what is measured (a new benchmark, opened by anchoring)."""
    return (old.metric, old.direction, old.minimum, old.maximum, old.dataset.name,
            old.dataset.version, old.dataset.sha256, old.measurement, old.target) != (
        new.metric, new.direction, new.minimum, new.maximum, new.dataset.name,
        new.dataset.version, new.dataset.sha256, new.measurement, new.target)  # fmt: skip
