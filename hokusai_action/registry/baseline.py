"""Which registered value a new one is judged against: the token's rewarded high-water mark.

A DeltaOne pays tokens, so the baseline is chosen to make every improvement count exactly once:

- **Same benchmark only.** Two values are comparable when their metric (aliases mapped to the
  catalogue's name), its direction and range, and the dataset's name, version and hash are
  equal. Equal, not "agreeing where known": with unknowns that agree with anything,
  comparability stops being transitive, and a value hidden behind one hash could be paid
  again behind another. A switch to another test set is a new benchmark, not an improvement.
- **Only rewarded versions set the bar.** The baseline is the best value (direction-aware)
  among the versions whose verdict was a first registration, a new benchmark or a DeltaOne.
  Below-threshold, unchanged, regressed and not-significant versions never become the
  baseline, so registering a bad version cannot lower the bar, and two small steps add up.

So the rewarded improvements of a token on one benchmark add up to exactly its best rewarded
value minus its first.

- **A new benchmark starts from the token's rewarded model.** Anyone can name a new dataset,
  so the first value on a new benchmark could be set low on purpose, and the climb back paid
  again. A new benchmark is therefore *anchored* only when its first version is the token's
  latest rewarded model (the same model files) measured on the new data. A first version that
  is not is recorded as not anchoring (`hokusai_benchmark_anchored: false`), is never a
  baseline, and the benchmark stays unopened until the rewarded model is measured on it.

Versions written by other tools carry no verdict tag: they count as rewarded when
`deltaone_achieved` is `true`, or when they are the token's first version on that benchmark.

Pure: versions in, a choice out. The registry is read elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hokusai_action.registry.deltaone import REWARDED, Baseline, Outcome, exact
from hokusai_action.validation import metrics
from hokusai_action.validation.metrics import Direction

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import VersionRecord

VERDICT_TAG = "hokusai_verdict"
MODEL_TAG = "hokusai_model_sha256"
CONTENT_TAG = "hokusai_model_content_sha256"  # the files' contents, their names left out
ANCHORED_TAG = "hokusai_benchmark_anchored"
DIRECTION_TAG = "hokusai_metric_direction"
RANGE_TAG = "hokusai_metric_range"
MEASURED_TAG = "hokusai_benchmark_measured"  # `true`: measured by hokusai-action, not claimed
MEASURED_TARGET_TAG = "hokusai_measured_target"  # the label column it was measured against
DATASET_TAGS = ("hokusai_dataset_name", "hokusai_dataset_version", "hokusai_dataset_sha256")
# Versions judged as something other than the benchmark of record: they are in no history.
UNJUDGED = frozenset({Outcome.BENCHMARK_MISMATCH, Outcome.MODEL_NOT_IN_RECORD})


@dataclass(frozen=True, slots=True)
class Benchmark:
    """What a value was measured as: the metric, its direction and range, on a dataset."""

    metric: str
    direction: str | None = None  # None: a custom metric written before it was recorded
    dataset: str | None = None
    dataset_version: str | None = None
    sha256: str | None = None
    range: str | None = None  # `[0, 1]`: a redeclared range could pick a cheaper rule
    # measured by hokusai-action: claimed and measured values never share a high-water mark
    measured: bool = False
    # the label column a measured value was scored against: another is another benchmark
    target: str | None = None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Benchmark:
        """As a version's tags describe it. Other tools write a metric as typed (`acc`) and no
        direction or range: a catalogue metric's own are used for them."""
        name, version, sha = ((tags.get(t) or "").strip() or None for t in DATASET_TAGS)
        metric = (tags.get("benchmark_metric") or "").strip()
        known = metrics.lookup(metric).metric if metric else None  # the catalogue only
        if known is not None:
            metric = known.name
        direction = tags.get(DIRECTION_TAG) or (str(known.direction) if known else None)
        bounds = tags.get(RANGE_TAG) or (known.range_text() if known else None)
        measured = tags.get(MEASURED_TAG, "").strip().lower() == "true"
        target = tags.get(MEASURED_TARGET_TAG) if measured else None
        return cls(metric, direction, name, version, sha.lower() if sha else None, bounds,
                   measured, target)  # fmt: skip

    @classmethod
    def of(
        cls, metric: metrics.Metric, dataset: Mapping[str, object], sha256: str | None
    ) -> Benchmark:
        """As a plan describes it."""

        def text(key: str) -> str | None:
            value = dataset.get(key)
            return str(value) if value is not None else None

        return cls(metric.name, str(metric.direction), text("name"), text("version"), sha256,
                   metric.range_text())  # fmt: skip

    def comparable(self, other: Benchmark) -> bool:
        return self == other

    def label(self) -> str:
        """`holdout v1`, `holdout`, or `no named dataset`: what people call the test set."""
        if self.dataset is None:
            return "no named dataset"
        label = self.dataset + (f" {self.dataset_version}" if self.dataset_version else "")
        return label + (" (measured)" if self.measured else "")


@dataclass(slots=True)
class Choice:
    """The baseline for a new value, and what the token's history says about it."""

    baseline: Baseline | None
    record: VersionRecord | None
    new_benchmark: bool  # no baseline because earlier versions used another benchmark
    history: list[tuple[int, float]] = field(default_factory=list)  # same benchmark
    notes: list[str] = field(default_factory=list)
    anchors: bool = True  # with new_benchmark: whether this version opens the benchmark


def is_rewarded(record: VersionRecord, first_on_benchmark: bool) -> bool:
    """Whether this version was paid for (or opened its benchmark). A verdict tag we wrote
    decides; otherwise (another tool, or a value we do not know) `deltaone_achieved`, read as
    other tools write it (`True`, ` true`), or being the first on the benchmark."""
    verdict = recorded_outcome(record)
    if record.tags.get(ANCHORED_TAG, "").strip().lower() == "false":
        return False  # a first value on a new benchmark that was not the rewarded model's
    if verdict is not None:
        return verdict in REWARDED
    achieved = record.tags.get("deltaone_achieved", "").strip().lower() == "true"
    return achieved or first_on_benchmark


def better(a: VersionRecord, b: VersionRecord, direction: Direction) -> bool:
    """Whether `a`'s value beats `b`'s, compared exactly as recorded."""
    x, y = _exact(a), _exact(b)
    return x > y if direction is Direction.HIGHER else x < y


def _exact(record: VersionRecord) -> object:
    return exact(record.benchmark_value or 0.0, record.tags.get("benchmark_value"))


def choose(
    records: Iterable[VersionRecord],
    benchmark: Benchmark,
    direction: Direction,
    exclude_key: str | None = None,
    model_sha256: str | None = None,
) -> Choice:
    """The rewarded high-water mark among `records` (oldest first) on `benchmark`, for a
    version whose model files hash to `model_sha256`.

    Ties go to the oldest version: the one that was rewarded for that value."""
    notes: list[str] = []
    others: list[Benchmark] = []
    best: VersionRecord | None = None
    reference: VersionRecord | None = None  # the token's latest rewarded version, anywhere
    seen_on_benchmark = False
    history: list[tuple[int, float]] = []
    for record in records:
        if exclude_key and record.tags.get("hokusai_registration_key") == exclude_key:
            continue
        if recorded_outcome(record) in UNJUDGED:
            continue
        value = record.benchmark_value
        if value is None:
            notes.append(
                f"{record.name} v{record.version} skipped: {'; '.join(record.tag_problems())}"
            )
            continue
        if reference is None or is_rewarded(record, False):
            reference = record
        theirs = Benchmark.from_tags(record.tags)
        if not benchmark.comparable(theirs):
            others.append(theirs)
            continue
        history.append((record.version, value))
        first = not seen_on_benchmark
        seen_on_benchmark = True
        if not is_rewarded(record, first):
            continue
        if best is None or better(record, best, direction):
            best = record
    if best is not None:
        why = f"best rewarded value on {benchmark.label()}"
        if best.benchmark_value is not None:
            baseline = baseline_of(best, why)
            notes.append(f"baseline: {best.name} v{best.version}, the {why}")
            return Choice(baseline, best, False, history, notes)
    new_benchmark = bool(others) or seen_on_benchmark
    anchors = True
    if new_benchmark and reference is not None:
        ours = (model_sha256 or "").lower()
        anchors = bool(ours) and reference.tags.get(MODEL_TAG, "").strip().lower() == ours
        if not anchors:
            notes.append(
                f"this version does not open {benchmark.label()} as a benchmark: that needs "
                f"the token's latest rewarded model ({reference.name} v{reference.version}, the "
                "same model files) measured on it; until then nothing on it is a DeltaOne"
            )
    if new_benchmark:
        before = others[-1] if others else benchmark
        notes.append(
            f"first rewarded version on {benchmark.metric} / {benchmark.label()}: earlier "
            f"versions of the token were measured on {before.metric} / {before.label()}, "
            "which is not comparable; the next version is compared with this one"
            if others
            else f"no rewarded version on {benchmark.label()} yet: this one opens the benchmark"
        )
    return Choice(None, None, new_benchmark, history, notes, anchors=anchors)


def baseline_of(record: VersionRecord, why: str) -> Baseline:
    samples = record.tags.get("hokusai_dataset_samples", "")
    assert record.benchmark_value is not None
    return Baseline(
        record.benchmark_value,
        record.version,
        int(samples) if samples.isascii() and samples.isdigit() else None,
        record.name,
        why,
        text=record.tags.get("benchmark_value"),
    )


def recorded_outcome(record: VersionRecord) -> Outcome | None:
    """The verdict a version was registered with, when hokusai-action wrote it."""
    try:
        return Outcome(record.tags.get(VERDICT_TAG, ""))
    except ValueError:
        return None
