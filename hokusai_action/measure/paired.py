"""Is the new version better than its baseline on the same rows? Paired tests over per-row
predictions, pure functions.

Accuracy-like metrics (accuracy, exact_match) use McNemar's exact test on the rows where one
version is right and the other wrong; every other measurable metric uses a paired bootstrap
(both versions scored on the same resampled rows). Both decide the same way:

    `significant` means the 95% two-sided test rejects "no difference" AND the difference
    favours the new version: for McNemar, p < 0.05 with more rows won than lost; for the
    bootstrap, the 95% percentile interval of (new - baseline, signed so positive = better)
    lies above zero. Either is a one-sided test at 2.5% in the better direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hokusai_action.measure import scoring
from hokusai_action.measure.measurement import MeasureError, Predictions
from hokusai_action.validation import metrics

if TYPE_CHECKING:
    import numpy as np

ALPHA = 0.05
MCNEMAR_METRICS = ("accuracy", "exact_match")
DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True, slots=True)
class PairedResult:
    test: str  # "mcnemar-exact", "mcnemar-mid-p" or "bootstrap"
    significant: bool  # the new version is better at 95% (see the module's docstring)
    p_value: float | None  # two-sided; None for the bootstrap
    low: float | None  # the bootstrap's 95% interval of the signed difference; None otherwise
    high: float | None
    n: int  # rows compared
    detail: str  # one line a reader can check


def _same_rows(y: np.ndarray, a: Predictions, b: Predictions) -> None:
    for side, pred in (("baseline", a), ("new version", b)):
        if pred.rows != len(y):
            raise MeasureError(
                f"the {side}'s predictions hold {pred.rows} rows, the data {len(y)}: they were "
                "made on other data, so the versions cannot be compared row by row"
            )


def mcnemar(y: np.ndarray, a: Predictions, b: Predictions, mid_p: bool = True) -> PairedResult:
    """McNemar's exact test of baseline `a` against new version `b`: among the rows where
    exactly one is right, is the new one right more often than chance (p = 1/2) would say?

    The exact p is scipy's two-sided binomial test; the mid-p (Fagerland, Lydersen and Laake,
    2013) is 2 P(X <= k) - P(X = k) with k the smaller discordant count, capped at 1: less
    conservative, and the exact p minus P(X = k) whenever the counts differ.
    """
    import numpy as np
    from scipy import stats

    _same_rows(y, a, b)
    y_a, labels_a = scoring.aligned(y, a.labels)
    y_b, labels_b = scoring.aligned(y, b.labels)
    right_a, right_b = np.asarray(y_a == labels_a), np.asarray(y_b == labels_b)
    lost = int(np.sum(right_a & ~right_b))  # baseline right, new wrong
    won = int(np.sum(~right_a & right_b))  # baseline wrong, new right
    n = won + lost
    if n == 0:
        p = 1.0
    else:
        k = min(won, lost)
        p = float(stats.binomtest(k, n, 0.5).pvalue)
        if mid_p:
            p = min(1.0, 2 * float(stats.binom.cdf(k, n, 0.5)) - float(stats.binom.pmf(k, n, 0.5)))
    p = max(0.0, min(1.0, p))
    return PairedResult(
        test="mcnemar-mid-p" if mid_p else "mcnemar-exact",
        significant=won > lost and p < ALPHA,
        p_value=p,
        low=None,
        high=None,
        n=len(y),
        detail=(
            f"{won} rows the new version gets right and the baseline wrong, {lost} the reverse; "
            f"{'mid-p' if mid_p else 'exact'} p = {p:.3g} (two-sided)"
        ),
    )


def _subset(pred: Predictions, rows: np.ndarray) -> Predictions:
    proba = None if pred.proba is None else pred.proba[rows]
    return Predictions(pred.labels[rows], proba, pred.classes)


def paired_bootstrap(
    metric: str,
    y: np.ndarray,
    a: Predictions,
    b: Predictions,
    *,
    seed: int,
    resamples: int = DEFAULT_RESAMPLES,
) -> PairedResult:
    """The 95% percentile interval of the difference new - baseline (signed so that positive
    is better for the metric), over `resamples` resamplings of the rows drawn with NumPy's
    default_rng(seed): the same seed gives the same interval. Resamples on which the metric
    is undefined (one class drawn, for auroc) are skipped and counted."""
    import numpy as np
    import sklearn

    _same_rows(y, a, b)
    looked_up = metrics.lookup(metric).metric
    sign = -1.0 if looked_up is not None and looked_up.direction == metrics.Direction.LOWER else 1.0
    try:
        observed = sign * (scoring.score(metric, y, b).value - scoring.score(metric, y, a).value)
    except scoring.Unmeasured as e:
        return PairedResult("bootstrap", False, None, None, None, len(y), f"not compared: {e}")
    rng = np.random.default_rng(seed)
    differences = []
    skipped = 0
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        for _ in range(resamples):
            rows = rng.integers(0, len(y), len(y))
            try:
                new = scoring.score(metric, y[rows], _subset(b, rows)).value
                old = scoring.score(metric, y[rows], _subset(a, rows)).value
            except scoring.Unmeasured:
                skipped += 1
                continue
            differences.append(sign * (new - old))
    if len(differences) < resamples / 2:
        return PairedResult(
            "bootstrap", False, None, None, None, len(y),
            f"not compared: {metric} is undefined on {skipped} of {resamples} resamples",
        )  # fmt: skip
    low, high = (
        float(v) for v in np.percentile(differences, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    )
    better = "higher" if sign > 0 else "lower"
    return PairedResult(
        test="bootstrap",
        significant=bool(low > 0),
        p_value=None,
        low=low,
        high=high,
        n=len(y),
        detail=(
            f"{metric}: new - baseline = {observed:+.4g} ({better} is better, shown so that + is "
            f"better); 95% interval [{low:+.4g}, {high:+.4g}] over {len(differences)} paired "
            f"resamples (seed {seed}{f', {skipped} skipped' if skipped else ''})"
        ),
    )


def paired_test(
    metric: str, y: np.ndarray, a: Predictions, b: Predictions, seed: int
) -> PairedResult:
    """McNemar (mid-p) for accuracy and exact_match, the paired bootstrap for the rest."""
    if metric in MCNEMAR_METRICS:
        return mcnemar(y, a, b, mid_p=True)
    return paired_bootstrap(metric, y, a, b, seed=seed)
