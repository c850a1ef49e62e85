"""Which registered value a new one is judged against: the token's rewarded high-water mark.

A DeltaOne pays tokens, so the baseline is chosen to make every improvement count exactly once:

- **Same benchmark only.** Two values are comparable when their metric, its direction, and the
  dataset's name and version agree, and so do the dataset hashes where both have one. A
  switch to another test set is a new benchmark, not an improvement.
- **Only rewarded versions set the bar.** The baseline is the best value (direction-aware)
  among the versions whose verdict was a first registration, a new benchmark or a DeltaOne.
  Below-threshold, unchanged, regressed and not-significant versions never become the
  baseline, so registering a bad version cannot lower the bar, and two small steps add up.

So the rewarded improvements of a token on one benchmark add up to exactly its best rewarded
value minus its first. Versions written by other tools carry no verdict tag: they count as
rewarded when `deltaone_achieved` is `true`, or when they are the token's first version on
that benchmark.

Pure: versions in, a choice out. The registry is read elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hokusai_action.registry.deltaone import REWARDED, Baseline, Outcome
from hokusai_action.validation.metrics import Direction

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import VersionRecord

VERDICT_TAG = "hokusai_verdict"
DIRECTION_TAG = "hokusai_metric_direction"
DATASET_TAGS = ("hokusai_dataset_name", "hokusai_dataset_version", "hokusai_dataset_sha256")


@dataclass(frozen=True, slots=True)
class Benchmark:
    """What a value was measured as: the metric (and its direction) on a dataset."""

    metric: str
    direction: str | None = None  # None on versions written before it was recorded
    dataset: str | None = None
    dataset_version: str | None = None
    sha256: str | None = None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Benchmark:
        name, version, sha = (tags.get(t) or None for t in DATASET_TAGS)
        return cls(tags.get("benchmark_metric", ""), tags.get(DIRECTION_TAG), name, version, sha)

    def comparable(self, other: Benchmark) -> bool:
        def agree(a: str | None, b: str | None) -> bool:  # unknown on either side: agree
            return a is None or b is None or a == b

        return (
            self.metric == other.metric
            and (self.dataset, self.dataset_version) == (other.dataset, other.dataset_version)
            and agree(self.direction, other.direction)
            and agree(self.sha256, other.sha256)
        )

    def label(self) -> str:
        """`holdout v1`, `holdout`, or `no named dataset`: what people call the test set."""
        if self.dataset is None:
            return "no named dataset"
        return self.dataset + (f" {self.dataset_version}" if self.dataset_version else "")


@dataclass(slots=True)
class Choice:
    """The baseline for a new value, and what the token's history says about it."""

    baseline: Baseline | None
    record: VersionRecord | None
    new_benchmark: bool  # no baseline because earlier versions used another benchmark
    history: list[tuple[int, float]] = field(default_factory=list)  # same benchmark
    notes: list[str] = field(default_factory=list)


def is_rewarded(record: VersionRecord, first_on_benchmark: bool) -> bool:
    """Whether this version was paid for (or opened its benchmark)."""
    verdict = record.tags.get(VERDICT_TAG)
    if verdict is not None:
        return verdict in {str(o) for o in REWARDED}
    return record.tags.get("deltaone_achieved") == "true" or first_on_benchmark


def better(a: float, b: float, direction: Direction) -> bool:
    return a > b if direction is Direction.HIGHER else a < b


def choose(
    records: Iterable[VersionRecord],
    benchmark: Benchmark,
    direction: Direction,
    exclude_key: str | None = None,
) -> Choice:
    """The rewarded high-water mark among `records` (oldest first) on `benchmark`.

    Ties go to the oldest version: the one that was rewarded for that value."""
    notes: list[str] = []
    others: list[Benchmark] = []
    best: VersionRecord | None = None
    seen_on_benchmark = False
    history: list[tuple[int, float]] = []
    for record in records:
        if exclude_key and record.tags.get("hokusai_registration_key") == exclude_key:
            continue
        value = record.benchmark_value
        if value is None:
            notes.append(
                f"{record.name} v{record.version} skipped: {'; '.join(record.tag_problems())}"
            )
            continue
        theirs = Benchmark.from_tags(record.tags)
        if not benchmark.comparable(theirs):
            others.append(theirs)
            continue
        history.append((record.version, value))
        first = not seen_on_benchmark
        seen_on_benchmark = True
        if not is_rewarded(record, first):
            continue
        if best is None or better(value, best.benchmark_value or 0.0, direction):
            best = record
    if best is not None:
        why = f"best rewarded value on {benchmark.label()}"
        if best.benchmark_value is not None:
            baseline = baseline_of(best, why)
            notes.append(f"baseline: {best.name} v{best.version}, the {why}")
            return Choice(baseline, best, False, history, notes)
    new_benchmark = bool(others) or seen_on_benchmark
    if new_benchmark:
        before = others[-1] if others else benchmark
        notes.append(
            f"first rewarded version on {benchmark.metric} / {benchmark.label()}: earlier "
            f"versions of the token were measured on {before.metric} / {before.label()}, "
            "which is not comparable; the next version is compared with this one"
            if others
            else f"no rewarded version on {benchmark.label()} yet: this one opens the benchmark"
        )
    return Choice(None, None, new_benchmark, history, notes)


def baseline_of(record: VersionRecord, why: str) -> Baseline:
    samples = record.tags.get("hokusai_dataset_samples", "")
    assert record.benchmark_value is not None
    return Baseline(
        record.benchmark_value,
        record.version,
        int(samples) if samples.isascii() and samples.isdigit() else None,
        record.name,
        why,
    )


def recorded_outcome(record: VersionRecord) -> Outcome | None:
    """The verdict a version was registered with, when hokusai-action wrote it."""
    try:
        return Outcome(record.tags.get(VERDICT_TAG, ""))
    except ValueError:
        return None
