"""The DeltaOne decision: values in, verdict out. No I/O, so every rule is unit-tested.

DeltaOne is an improvement of at least one percentage point on the benchmark. That is
well defined for metrics capped at 1 (accuracy, F1, AUROC, and R², a share of variance
explained): the improvement is counted in points. For metrics with no upper bound (RMSE, MAE,
perplexity) a "point" means nothing, so the rule there is explicit and relative: by default
an improvement of at least 1% of the baseline. Every verdict states which rule applied.

A DeltaOne pays tokens, so the numbers that decide it are compared as decimals, from the
value's text as written (its shortest round-trip form): 0.815 - 0.805 is exactly one point,
where binary floats make it 0.009999999999999898, and 0.8099999999995 - 0.80 is short of it.
A difference too large for a float (1.7e308 - -1.7e308) is not comparable.
Which value is the baseline is decided elsewhere (`baseline.py`): this module only compares.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from hokusai_action.validation.metrics import Direction, Metric

DEFAULT_THRESHOLD = 0.01  # 1 percentage point, or 1% for the relative rule
Z_95 = 1.959963984540054


class Rule(enum.StrEnum):
    POINTS = "percentage_points"  # improvement = new - baseline (sign by direction), >= threshold
    RELATIVE = "relative"  # improvement / |baseline| >= threshold


class Outcome(enum.StrEnum):
    FIRST = "first_registration"
    NEW_BENCHMARK = "new_benchmark"  # the token's first version on this metric and dataset
    DELTAONE = "deltaone"
    NOT_SIGNIFICANT = "improved_not_significant"  # enough points, but significance required
    BELOW_THRESHOLD = "improved_below_threshold"
    UNCHANGED = "unchanged"
    REGRESSION = "regression"
    # Judged against the benchmark of record (record.py), and never paid:
    SAME_MODEL = "same_model"  # model files equal to an earlier version of the token
    BENCHMARK_MISMATCH = "benchmark_mismatch"  # measured as something the record is not
    MODEL_NOT_IN_RECORD = "model_not_in_record"  # a model name the record does not list


# The outcomes that were paid for (or set the starting value of a benchmark): only these may
# become a baseline, so that no improvement is rewarded twice.
REWARDED = frozenset({Outcome.FIRST, Outcome.NEW_BENCHMARK, Outcome.DELTAONE})


@dataclass(frozen=True, slots=True)
class Baseline:
    value: float
    version: int | None = None  # None when the manifest pins a value instead of a version
    samples: int | None = None
    model: str | None = None  # the registered model it is a version of (tokens span models)
    why: str = ""  # "best rewarded value on holdout v1", said in notes and the comment
    what_if: bool = False  # pinned in the manifest: a what-if, never a verdict of record
    text: str | None = None  # the value as recorded, compared exactly (see `exact`)


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
    reason: str = ""  # why an improvement at the threshold is not a DeltaOne, when it is not
    delta_text: str | None = None  # the exact decimal difference, as recorded
    floor: str | None = None  # relative rule: gains are measured from max(|baseline|, floor)

    @property
    def achieved(self) -> bool:
        return self.outcome is Outcome.DELTAONE

    @property
    def rule_text(self) -> str:
        if self.rule is Rule.POINTS:
            return f"improvement >= {self.threshold * 100:g} percentage point(s)"
        of = f"max(|baseline|, {self.floor})" if self.floor else "the baseline"
        return f"relative improvement >= {self.threshold * 100:g}% of {of}"

    def improvement_text(self) -> str:
        """`+1.20 pp` or `-3.4%`: the improvement in the rule's own unit."""
        if self.improvement is None:
            return "n/a"
        if self.rule is Rule.POINTS:
            return f"{self.improvement * 100:+.2f} pp"
        return f"{self.improvement * 100:+.2f}%"

    def improvement_significant(self) -> bool | None:
        """Whether the 95% interval of the improvement lies above zero; None when unknown."""
        if self.ci is None:
            return None
        if self.direction is Direction.HIGHER:
            return self.ci.low > 0
        return self.ci.high < 0


def round_sig(value: float, digits: int = 12) -> float:
    """A float as people write it: 12 significant digits drop the noise of binary floats
    (0.815 - 0.8 is 0.015000000000000013) and keep every digit a benchmark has."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def rule_for(metric: Metric) -> Rule:
    """Points for metrics capped at 1; relative for metrics with no upper bound."""
    return Rule.POINTS if metric.maximum == 1 else Rule.RELATIVE


def rule_problem(metric: Metric, rule: Rule | None, threshold: float) -> str | None:
    """Why a rule or threshold means nothing for this metric (a usage error), or None.

    Percentage points are a unit only where the metric is capped at 1 (a share of something);
    a points threshold wider than the metric's whole range can never be reached."""
    if (rule or rule_for(metric)) is not Rule.POINTS:
        return None
    if metric.maximum != 1:
        return (
            f"--rule points needs a metric capped at 1; `{metric.name}` ranges over "
            f"{metric.range_text()}, where a percentage point means nothing: use --rule "
            "relative (or auto)"
        )
    width = metric.maximum - metric.minimum
    if threshold > width:
        return (
            f"a DeltaOne threshold of {threshold:g} ({threshold * 100:g} points) is more than "
            f"the whole range {metric.range_text()} of `{metric.name}`: write it as a fraction, "
            "e.g. 0.01 for one point"
        )
    return None


class NotComparable(ValueError):
    """Two values whose difference is beyond what can be recorded (a float's range)."""


def exact(value: float, text: str | None = None) -> Decimal:
    """A value as a decimal: from its recorded text when it has one, else from the shortest
    text that reads back as the same float (`0.815`, never 0.81499999999999994671)."""
    if text is not None:
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
    return Decimal(repr(float(value)))


def decide(
    metric: Metric,
    value: float,
    baseline: Baseline | None,
    *,
    threshold: float | str = DEFAULT_THRESHOLD,
    rule: Rule | None = None,
    samples: int | None = None,
    new_benchmark: bool = False,
    require_significance: bool = False,
    value_text: str | None = None,
    floor: str | None = None,
    baseline_samples: int | None = None,
) -> Verdict:
    """The verdict for `value` against `baseline`.

    `new_benchmark`: there is no baseline because the token's earlier versions were measured
    on another benchmark, not because the token is new. `require_significance`: a DeltaOne
    also needs the 95% interval of the improvement above zero. `floor` (relative rule): gains
    are measured from max(|baseline|, floor), so a baseline near zero cannot pay on noise.
    Raises NotComparable when the difference is beyond a float's range.
    """
    rule = rule or rule_for(metric)
    limit = Decimal(str(threshold))
    threshold = float(limit)
    if baseline is None:
        outcome = Outcome.NEW_BENCHMARK if new_benchmark else Outcome.FIRST
        return Verdict(outcome, metric.name, metric.direction, rule, threshold, value,
                       None, None, None, floor=floor)  # fmt: skip
    if baseline_samples is not None:
        baseline = dataclasses.replace(baseline, samples=baseline_samples)
    new, old = exact(value, value_text), exact(baseline.value, baseline.text)
    with localcontext(prec=200):  # exact for any value a manifest writes, not 28 digits
        delta = new - old
        better = delta if metric.direction is Direction.HIGHER else -delta
        lowest = Decimal(floor) if floor else Decimal(0)
        base = max(abs(old), lowest)
        if rule is Rule.POINTS:
            improvement = better
        elif base == 0:
            # Relative change from zero is undefined: any gain is infinite, any loss too.
            improvement = Decimal("Infinity").copy_sign(better) if better else Decimal(0)
        else:
            improvement = better / base
    if not math.isfinite(float(delta)) or (improvement.is_finite() and not math.isfinite(
        float(improvement)
    )):  # fmt: skip
        raise NotComparable(
            f"`{metric.name}` {new} against a baseline of {old} differs by {delta}, beyond "
            "what a registry can record: check both values"
        )
    ci = None
    if metric.is_proportion and samples and baseline.samples:
        ci = proportion_difference_ci(value, samples, baseline.value, baseline.samples)
    # `> 0` too: a threshold of 0 (any gain) must not pay an unchanged value
    if improvement >= limit and improvement > 0 and not (rule is Rule.RELATIVE and base == 0):
        outcome = Outcome.DELTAONE
    elif improvement > 0:
        outcome = Outcome.BELOW_THRESHOLD  # a gain from a zero baseline has no relative size
    elif improvement < 0:
        outcome = Outcome.REGRESSION
    else:
        outcome = Outcome.UNCHANGED
    verdict = Verdict(outcome, metric.name, metric.direction, rule, threshold, value, baseline,
                      float(delta), float(improvement), ci, delta_text=str(delta),
                      floor=floor)  # fmt: skip
    reason = _not_significant(verdict, metric, samples) if require_significance else ""
    if outcome is Outcome.DELTAONE and reason:
        return dataclasses.replace(verdict, outcome=Outcome.NOT_SIGNIFICANT, reason=reason)
    return verdict


def _not_significant(verdict: Verdict, metric: Metric, samples: int | None) -> str:
    """Why significance was required and not shown; empty when it was shown."""
    if not metric.is_proportion:
        return (
            "significance was required, and it can be tested only for proportions; "
            f"`{metric.name}` is not one"
        )
    baseline_samples = verdict.baseline.samples if verdict.baseline else None
    if verdict.ci is None:
        missing = [side for side, n in (("this", samples), ("the baseline", baseline_samples))
                   if not n]  # fmt: skip
        return (
            "significance was required, and the sample count of "
            f"{' and '.join(missing)} version is unknown (benchmark.dataset.samples)"
        )
    if samples != baseline_samples:  # one test set cannot have two sizes: a claim, not data
        return (
            f"significance was required, and this version claims {samples} samples where the "
            f"baseline, on the same dataset, has {baseline_samples}"
        )
    if verdict.improvement_significant():
        return ""
    return "significance was required, and the 95% interval of the difference includes zero"


def proportion_difference_ci(
    p_new: float, n_new: int, p_old: float, n_old: int, z: float = Z_95
) -> ConfidenceInterval:
    """Wald interval for the difference of two independent proportions (p_new - p_old).

    Wald, because a manifest carries only each side's value and sample count. A paired test
    (McNemar's), which is stronger when both models saw the same examples, needs the
    per-example predictions, which no manifest carries."""
    se = math.sqrt(p_new * (1 - p_new) / n_new + p_old * (1 - p_old) / n_old)
    diff = p_new - p_old
    return ConfidenceInterval(round_sig(diff - z * se), round_sig(diff + z * se))
