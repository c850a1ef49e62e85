"""The DeltaOne decision: values in, verdict out. No I/O, so every rule is unit-tested.

DeltaOne is an improvement of at least one percentage point on the benchmark. That is
well defined for metrics bounded by 1 (accuracy, F1, AUROC, R²): the improvement is counted
in points. For unbounded metrics (RMSE, MAE, perplexity) a "point" means nothing, so the rule
there is explicit and relative: by default an improvement of at least 1% of the baseline.
Every verdict states which rule applied.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from hokusai_action.validation.metrics import Direction, Metric

DEFAULT_THRESHOLD = 0.01  # 1 percentage point, or 1% for the relative rule
Z_95 = 1.959963984540054
# Float noise: 0.9412 - 0.9312 is 0.009999999999999898, which is still one point.
_TOLERANCE = 1e-9


class Rule(enum.StrEnum):
    POINTS = "percentage_points"  # improvement = new - baseline (sign by direction), >= threshold
    RELATIVE = "relative"  # improvement / |baseline| >= threshold


class Outcome(enum.StrEnum):
    FIRST = "first_registration"
    DELTAONE = "deltaone"
    BELOW_THRESHOLD = "improved_below_threshold"
    UNCHANGED = "unchanged"
    REGRESSION = "regression"


@dataclass(frozen=True, slots=True)
class Baseline:
    value: float
    version: int | None = None  # None when the manifest pins a value instead of a version
    samples: int | None = None
    model: str | None = None  # the registered model it is a version of (tokens span models)


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """95% interval of the difference new - baseline, for proportion metrics."""

    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    metric: str
    direction: Direction
    rule: Rule
    threshold: float
    value: float
    baseline: Baseline | None
    delta: float | None  # new - baseline, as measured
    improvement: (
        float | None
    )  # in the rule's unit (points as a fraction, or relative); > 0 is better
    ci: ConfidenceInterval | None = None

    @property
    def achieved(self) -> bool:
        return self.outcome is Outcome.DELTAONE

    @property
    def rule_text(self) -> str:
        if self.rule is Rule.POINTS:
            return f"improvement >= {self.threshold * 100:g} percentage point(s)"
        return f"relative improvement >= {self.threshold * 100:g}% of the baseline"

    def improvement_text(self) -> str:
        """`+1.20 pp` or `-3.4%`: the improvement in the rule's own unit."""
        if self.improvement is None:
            return "n/a"
        if self.rule is Rule.POINTS:
            return f"{self.improvement * 100:+.2f} pp"
        return f"{self.improvement * 100:+.2f}%"


def rule_for(metric: Metric) -> Rule:
    """Points for metrics capped at 1 (proportions, R²); relative for everything else."""
    return Rule.POINTS if metric.maximum == 1 else Rule.RELATIVE


def decide(
    metric: Metric,
    value: float,
    baseline: Baseline | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    rule: Rule | None = None,
    samples: int | None = None,
) -> Verdict:
    rule = rule or rule_for(metric)
    if baseline is None:
        return Verdict(Outcome.FIRST, metric.name, metric.direction, rule, threshold, value,
                       None, None, None)  # fmt: skip
    delta = value - baseline.value
    better = delta if metric.direction is Direction.HIGHER else -delta
    if rule is Rule.POINTS:
        improvement = better
    elif baseline.value == 0:
        # Relative change from zero is undefined: any gain is infinite, any loss too.
        improvement = math.copysign(math.inf, better) if better else 0.0
    else:
        improvement = better / abs(baseline.value)
    if improvement >= threshold - _TOLERANCE:
        outcome = Outcome.DELTAONE
    elif improvement > _TOLERANCE:
        outcome = Outcome.BELOW_THRESHOLD
    elif improvement < -_TOLERANCE:
        outcome = Outcome.REGRESSION
    else:
        outcome = Outcome.UNCHANGED
    ci = None
    if metric.is_proportion and samples and baseline.samples:
        ci = proportion_difference_ci(value, samples, baseline.value, baseline.samples)
    return Verdict(outcome, metric.name, metric.direction, rule, threshold, value, baseline,
                   delta, improvement, ci)  # fmt: skip


def proportion_difference_ci(
    p_new: float, n_new: int, p_old: float, n_old: int, z: float = Z_95
) -> ConfidenceInterval:
    """Wald interval for the difference of two independent proportions (p_new - p_old)."""
    se = math.sqrt(p_new * (1 - p_new) / n_new + p_old * (1 - p_old) / n_old)
    diff = p_new - p_old
    return ConfidenceInterval(diff - z * se, diff + z * se)
