from __future__ import annotations

import math

import pytest

from hokusai_action.registry.deltaone import (
    Baseline,
    Outcome,
    Rule,
    decide,
    proportion_difference_ci,
    rule_for,
)
from hokusai_action.validation import metrics


def metric(name: str) -> metrics.Metric:
    found = metrics.lookup(name).metric
    assert found is not None
    return found


ACCURACY, RMSE, R2, PERPLEXITY = (
    metric("accuracy"),
    metric("rmse"),
    metric("r2_score"),
    metric("perplexity"),
)


def test_no_baseline_is_a_first_registration_not_deltaone():
    verdict = decide(ACCURACY, 0.93, None)
    assert verdict.outcome is Outcome.FIRST
    assert not verdict.achieved
    assert verdict.delta is None


@pytest.mark.parametrize(
    ("new", "old", "outcome"),
    [
        (0.9412, 0.9312, Outcome.DELTAONE),  # exactly one point, despite float noise
        (0.95, 0.93, Outcome.DELTAONE),
        (0.9411, 0.9312, Outcome.BELOW_THRESHOLD),
        (0.9312, 0.9312, Outcome.UNCHANGED),
        (0.93, 0.9312, Outcome.REGRESSION),
    ],
)
def test_proportions_are_judged_in_percentage_points(new, old, outcome):
    verdict = decide(ACCURACY, new, Baseline(old, 1))
    assert verdict.outcome is outcome
    assert verdict.rule is Rule.POINTS
    assert verdict.delta == pytest.approx(new - old)


@pytest.mark.parametrize(
    ("new", "old", "outcome"),
    [
        (24000.0, 25000.0, Outcome.DELTAONE),  # 4% lower error
        (24750.0, 25000.0, Outcome.DELTAONE),  # exactly 1%
        (24800.0, 25000.0, Outcome.BELOW_THRESHOLD),
        (26000.0, 25000.0, Outcome.REGRESSION),
    ],
)
def test_lower_is_better_unbounded_metrics_use_the_relative_rule(new, old, outcome):
    verdict = decide(RMSE, new, Baseline(old, 3))
    assert (verdict.rule, verdict.outcome) == (Rule.RELATIVE, outcome)
    assert verdict.improvement == pytest.approx((old - new) / old)
    assert verdict.rule_text == "relative improvement >= 1% of the baseline"


def test_perplexity_improves_downwards():
    assert decide(PERPLEXITY, 18.0, Baseline(20.0, 1)).outcome is Outcome.DELTAONE


def test_r2_is_unbounded_below_and_so_judged_relative():
    assert rule_for(R2) is Rule.RELATIVE
    verdict = decide(R2, -0.5, Baseline(-0.52, 1))
    assert verdict.outcome is Outcome.DELTAONE
    assert verdict.improvement == pytest.approx(0.02 / 0.52)


def test_threshold_and_rule_are_configurable():
    assert (
        decide(ACCURACY, 0.95, Baseline(0.93, 1), threshold=0.05).outcome is Outcome.BELOW_THRESHOLD
    )
    relative = decide(ACCURACY, 0.505, Baseline(0.5, 1), rule=Rule.RELATIVE)
    assert (relative.rule, relative.outcome) == (Rule.RELATIVE, Outcome.DELTAONE)


def test_relative_change_from_a_zero_baseline_is_infinite_not_a_crash():
    verdict = decide(RMSE, 1.0, Baseline(0.0, 1))
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.improvement == -math.inf
    assert decide(RMSE, 0.0, Baseline(0.0, 1)).outcome is Outcome.UNCHANGED


def test_improvement_text_uses_the_rules_unit():
    assert decide(ACCURACY, 0.9425, Baseline(0.9312, 1)).improvement_text() == "+1.13 pp"
    assert decide(RMSE, 24000.0, Baseline(25000.0, 1)).improvement_text() == "+4.00%"


def test_confidence_interval_needs_sample_counts_on_both_sides():
    assert decide(ACCURACY, 0.95, Baseline(0.93, 1), samples=5000).ci is None
    assert decide(ACCURACY, 0.95, Baseline(0.93, 1, samples=5000)).ci is None
    verdict = decide(ACCURACY, 0.95, Baseline(0.93, 1, samples=5000), samples=5000)
    assert verdict.ci is not None
    assert verdict.ci.excludes_zero


def test_confidence_interval_matches_the_wald_formula():
    ci = proportion_difference_ci(0.9425, 5000, 0.9312, 5000)
    se = math.sqrt(0.9425 * 0.0575 / 5000 + 0.9312 * 0.0688 / 5000)
    assert ci.low == pytest.approx(0.0113 - 1.959964 * se)
    assert ci.high == pytest.approx(0.0113 + 1.959964 * se)


def test_small_samples_give_an_interval_that_includes_zero():
    verdict = decide(ACCURACY, 0.95, Baseline(0.93, 1, samples=100), samples=100)
    assert verdict.outcome is Outcome.DELTAONE
    assert verdict.ci is not None
    assert not verdict.ci.excludes_zero


def test_no_interval_for_unbounded_metrics():
    assert decide(RMSE, 1.0, Baseline(2.0, 1, samples=100), samples=100).ci is None
