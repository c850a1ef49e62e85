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


def test_r2_is_capped_at_one_and_so_judged_in_points():
    """A share of variance explained: points mean something, and the relative rule would
    pay noise on a baseline near zero (1e-12 -> 2e-12 is +100%)."""
    assert rule_for(R2) is Rule.POINTS
    assert decide(R2, -0.5, Baseline(-0.52, 1)).outcome is Outcome.DELTAONE
    assert not decide(R2, 2e-12, Baseline(1e-12, 1)).achieved


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


def test_points_are_refused_for_metrics_not_bounded_by_0_and_1():
    from hokusai_action.registry.deltaone import rule_problem

    problem = rule_problem(RMSE, Rule.POINTS, 0.01)
    assert problem is not None
    assert "[0, inf]" in problem
    assert rule_problem(R2, Rule.POINTS, 0.01) is None  # (-inf, 1]: capped at 1, a share
    assert rule_problem(ACCURACY, Rule.POINTS, 0.01) is None
    assert rule_problem(RMSE, Rule.RELATIVE, 0.5) is None
    assert rule_problem(RMSE, None, 0.5) is None  # auto: relative


def test_a_points_threshold_wider_than_the_range_is_refused():
    from hokusai_action.registry.deltaone import rule_problem

    assert "whole range [0, 1]" in (rule_problem(ACCURACY, None, 5) or "")
    assert rule_problem(ACCURACY, None, 1) is None


def test_require_significance_needs_the_interval_above_zero():
    base = Baseline(0.80, 1, 5000)
    lenient = decide(ACCURACY, 0.815, base, samples=5000)
    strict = decide(ACCURACY, 0.815, base, samples=5000, require_significance=True)
    assert lenient.outcome is Outcome.DELTAONE
    assert lenient.improvement_significant() is False  # shown even when not required
    assert strict.outcome is Outcome.NOT_SIGNIFICANT
    assert not strict.achieved
    assert "includes zero" in strict.reason
    clear = decide(ACCURACY, 0.84, base, samples=5000, require_significance=True)
    assert clear.outcome is Outcome.DELTAONE
    assert clear.reason == ""


def test_require_significance_without_samples_or_on_other_metrics_gives_the_reason():
    missing = decide(ACCURACY, 0.9, Baseline(0.8, 1), samples=5000, require_significance=True)
    assert missing.outcome is Outcome.NOT_SIGNIFICANT
    assert "the baseline version is unknown" in missing.reason
    rmse = decide(RMSE, 9.0, Baseline(10.0, 1), require_significance=True)
    assert rmse.outcome is Outcome.NOT_SIGNIFICANT
    assert "only for proportions" in rmse.reason


def test_require_significance_leaves_other_outcomes_alone():
    verdict = decide(ACCURACY, 0.79, Baseline(0.80, 1), require_significance=True)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.reason == ""


def test_deltas_and_intervals_carry_no_float_noise():
    verdict = decide(ACCURACY, 0.815, Baseline(0.8, 1, 5000), samples=5000)
    assert verdict.delta == 0.015
    assert verdict.improvement == 0.015
    assert verdict.ci is not None
    for bound in (verdict.ci.low, verdict.ci.high):
        assert float(f"{bound:.12g}") == bound  # 12 significant digits at most
