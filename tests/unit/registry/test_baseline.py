"""The baseline is the token's rewarded high-water mark on the same benchmark: pure tests.

A history is simulated the way `register` writes it: each version gets the verdict tags of
its own decision, and the next one is judged against what those tags say.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokusai_action.registry.baseline import ANCHORED_TAG, MODEL_TAG, Benchmark, choose
from hokusai_action.registry.deltaone import Outcome, Verdict, decide
from hokusai_action.registry.mlflow_store import VersionRecord
from hokusai_action.registry.register import verdict_tags
from hokusai_action.validation import metrics

ACCURACY = metrics.lookup("accuracy").metric
RMSE = metrics.lookup("rmse").metric
assert ACCURACY is not None
assert RMSE is not None
HOLDOUT_V1 = Benchmark("accuracy", "higher", "holdout", "v1", None, "[0, 1]")


def tags_for(benchmark: Benchmark, value: float) -> dict[str, str]:
    tags = {"hokusai_token_id": "TOK-1", "benchmark_metric": benchmark.metric,
            "benchmark_value": repr(value)}  # fmt: skip
    optional = {
        "hokusai_metric_direction": benchmark.direction,
        "hokusai_dataset_name": benchmark.dataset,
        "hokusai_dataset_version": benchmark.dataset_version,
        "hokusai_dataset_sha256": benchmark.sha256,
        "hokusai_metric_range": benchmark.range,
    }
    return tags | {k: v for k, v in optional.items() if v is not None}


class History:
    """A token's versions, registered one after another as `register` does."""

    def __init__(self, metric: metrics.Metric = ACCURACY) -> None:
        self.metric = metric
        self.records: list[VersionRecord] = []

    def add_foreign(self, value: float, benchmark: Benchmark = HOLDOUT_V1, **tags: str) -> None:
        """A version written by another tool: Hokusai's tags, no verdict."""
        n = len(self.records) + 1
        self.records.append(
            VersionRecord("m", n, "run", "src", n, tags_for(benchmark, value) | tags)
        )

    def register(
        self, value: float, benchmark: Benchmark = HOLDOUT_V1, model: str = "model-a"
    ) -> Verdict:
        choice = choose(self.records, benchmark, self.metric.direction, None, model)
        verdict = decide(self.metric, value, choice.baseline, new_benchmark=choice.new_benchmark)
        n = len(self.records) + 1
        tags = tags_for(benchmark, value) | verdict_tags(verdict) | {MODEL_TAG: model}
        if verdict.outcome is Outcome.NEW_BENCHMARK:
            tags[ANCHORED_TAG] = "true" if choice.anchors else "false"
        self.records.append(VersionRecord("m", n, "run", "src", n, tags))
        return verdict


def outcomes(values: list[float], metric: metrics.Metric = ACCURACY) -> list[Outcome]:
    history = History(metric)
    return [history.register(v).outcome for v in values]


def test_the_readme_history_regress_then_recover_is_not_paid_twice():
    assert outcomes([0.80, 0.815, 0.819, 0.79, 0.815, 0.826]) == [
        Outcome.FIRST,
        Outcome.DELTAONE,  # +1.5 pp on 0.80
        Outcome.BELOW_THRESHOLD,  # +0.4 pp on 0.815
        Outcome.REGRESSION,  # 0.79 never becomes the baseline...
        Outcome.UNCHANGED,  # ...so 0.815 again is no improvement on 0.815
        Outcome.DELTAONE,  # +1.1 pp on 0.815
    ]


def test_two_small_steps_add_up_to_a_deltaone():
    history = History()
    history.register(0.80)
    assert history.register(0.806).outcome is Outcome.BELOW_THRESHOLD
    second = history.register(0.812)
    assert second.outcome is Outcome.DELTAONE
    assert second.baseline is not None
    assert second.baseline.value == 0.80
    assert second.delta == 0.012  # rounded: no float noise


def test_lower_is_better_metrics_keep_the_lowest_rewarded_value():
    assert outcomes([10.0, 9.5, 12.0, 9.6, 9.3], RMSE) == [
        Outcome.FIRST,
        Outcome.DELTAONE,  # 5% lower
        Outcome.REGRESSION,
        Outcome.REGRESSION,  # 9.6 is worse than the rewarded 9.5, not better than 12
        Outcome.DELTAONE,  # 2.1% lower than 9.5
    ]


def test_the_baseline_says_which_version_and_why():
    history = History()
    history.register(0.80)
    history.register(0.83)
    history.register(0.70)
    verdict = history.register(0.84)
    assert verdict.baseline is not None
    assert verdict.baseline.version == 2
    assert verdict.baseline.why == "best rewarded value on holdout v1"


def test_another_dataset_is_a_new_benchmark_then_the_next_version_compares_on_it():
    history = History()
    history.register(0.80)
    easier = Benchmark("accuracy", "higher", "holdout", "v2", None, "[0, 1]")
    switched = history.register(0.95, easier)
    assert switched.outcome is Outcome.NEW_BENCHMARK
    assert not switched.achieved
    nxt = history.register(0.951, easier)
    assert nxt.outcome is Outcome.BELOW_THRESHOLD
    assert nxt.baseline is not None
    assert nxt.baseline.value == 0.95
    # and the old benchmark keeps its own mark
    assert history.register(0.82).outcome is Outcome.DELTAONE


def test_a_new_benchmark_opened_by_another_model_pays_nothing_until_the_rewarded_one_opens_it():
    """Anyone can name a dataset: a low first value on it, then the climb back, would be
    paid again. Only the token's rewarded model measured on the new data opens it."""
    history = History()
    history.register(0.80, model="champion")
    renamed = Benchmark("accuracy", "higher", "renamed", "v1", None, "[0, 1]")
    low = history.register(0.50, renamed, model="junk")
    assert low.outcome is Outcome.NEW_BENCHMARK
    assert history.records[-1].tags[ANCHORED_TAG] == "false"
    climb = history.register(0.85, renamed, model="contributor")
    assert climb.outcome is Outcome.NEW_BENCHMARK  # still unopened: judged against nothing
    assert not climb.achieved
    opened = history.register(0.78, renamed, model="champion")  # the rewarded model, re-measured
    assert opened.outcome is Outcome.NEW_BENCHMARK
    assert history.records[-1].tags[ANCHORED_TAG] == "true"
    better = history.register(0.80, renamed, model="contributor-2")
    assert better.outcome is Outcome.DELTAONE
    assert better.baseline is not None
    assert better.baseline.value == 0.78


def test_the_new_benchmark_note_names_both_datasets():
    history = History()
    history.register(0.80)
    choice = choose(history.records, Benchmark("accuracy", "higher", "holdout", "v2", None,
                                               "[0, 1]"), ACCURACY.direction)  # fmt: skip
    assert choice.new_benchmark
    assert any("holdout v1" in n and "holdout v2" in n for n in choice.notes)


OURS = Benchmark("accuracy", "higher", "holdout", "v1", "a" * 64, "[0, 1]")


@pytest.mark.parametrize(
    ("theirs", "comparable"),
    [
        (OURS, True),
        # a hash known on one side only is another benchmark: "agrees with anything" would
        # not be transitive, and a value paid behind one hash could be paid again behind
        # another, anchored on the version without one
        (dataclasses.replace(OURS, sha256=None), False),
        (dataclasses.replace(OURS, sha256="b" * 64), False),
        (dataclasses.replace(OURS, dataset_version=None), False),
        (dataclasses.replace(OURS, dataset="other"), False),
        (dataclasses.replace(OURS, metric="f1_score"), False),
        (dataclasses.replace(OURS, direction="lower"), False),  # a flipped custom direction
        (dataclasses.replace(OURS, range="[0, 10]"), False),  # a widened custom range
    ],
)
def test_values_are_comparable_only_on_the_same_benchmark(theirs, comparable):
    assert OURS.comparable(theirs) is comparable
    assert theirs.comparable(OURS) is comparable


def test_versions_written_by_other_tools_are_read_as_the_catalogue_says():
    """The SDK writes the metric as typed and no direction or range."""
    theirs = Benchmark.from_tags({
        "benchmark_metric": "acc", "hokusai_dataset_name": "holdout",
        "hokusai_dataset_version": "v1", "hokusai_dataset_sha256": "A" * 64,
    })  # fmt: skip
    assert theirs == dataclasses.replace(OURS, sha256="a" * 64)
    custom = Benchmark.from_tags({"benchmark_metric": "reply_rate"})
    assert custom.direction is None  # unknown: comparable with no declared direction
    assert not custom.comparable(Benchmark("reply_rate", "lower", range="[0, 1]"))


def test_versions_without_verdict_tags_count_when_first_or_marked_deltaone():
    history = History()
    history.add_foreign(0.80)  # the first on the benchmark: rewarded
    history.add_foreign(0.90, deltaone_achieved="false")  # never paid: not a baseline
    assert history.register(0.805).baseline.value == 0.80  # type: ignore[union-attr]
    history.add_foreign(0.85, deltaone_achieved="true")
    assert history.register(0.855).baseline.value == 0.85  # type: ignore[union-attr]


def test_malformed_versions_are_skipped_with_a_note():
    history = History()
    history.add_foreign(0.80)
    history.records.append(VersionRecord("m", 2, "run", "src", 2, {"benchmark_value": "nan"}))
    choice = choose(history.records, HOLDOUT_V1, ACCURACY.direction)
    assert choice.baseline is not None
    assert choice.baseline.version == 1
    assert any("m v2 skipped" in n for n in choice.notes)


def test_the_registration_itself_is_never_its_own_baseline():
    history = History()
    history.add_foreign(0.9, hokusai_registration_key="k")
    choice = choose(history.records, HOLDOUT_V1, ACCURACY.direction, exclude_key="k")
    assert choice.baseline is None
    assert not choice.new_benchmark


def test_the_first_version_of_a_token_is_a_first_registration():
    assert History().register(0.5).outcome is Outcome.FIRST


VALUES = st.floats(min_value=0.0, max_value=1.0, allow_nan=False).map(lambda x: round(x, 4))
DATASETS = st.sampled_from([HOLDOUT_V1, Benchmark("accuracy", "higher", "holdout", "v2")])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(VALUES, DATASETS), min_size=1, max_size=25))
def test_rewarded_improvements_add_up_to_best_rewarded_minus_first(steps):
    """Whatever the order of values (regressions, recoveries, small steps, benchmark switches),
    the deltas paid on a benchmark sum to its best rewarded value minus its first, and every
    verdict was judged against a rewarded version."""
    history = History()
    paid: dict[Benchmark, float] = {}
    first: dict[Benchmark, float] = {}
    rewarded: dict[Benchmark, list[float]] = {}
    for value, benchmark in steps:
        verdict = history.register(value, benchmark)
        if verdict.baseline is not None:
            assert verdict.baseline.value in rewarded[benchmark]  # only ever a rewarded value
            assert verdict.baseline.value == max(rewarded[benchmark])  # the high-water mark
        if verdict.outcome in (Outcome.FIRST, Outcome.NEW_BENCHMARK):
            first[benchmark] = value
            rewarded[benchmark] = [value]
            paid[benchmark] = 0.0
        elif verdict.achieved:
            assert verdict.delta is not None
            assert verdict.delta >= 0.01 - 1e-9
            paid[benchmark] += verdict.delta
            rewarded[benchmark].append(value)
    for benchmark, total in paid.items():
        assert math.isclose(total, max(rewarded[benchmark]) - first[benchmark], abs_tol=1e-9)
