"""The paired tests agree with statsmodels and with exact arithmetic, and decide clear cases."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar

from hokusai_action.measure import MeasureError, Predictions
from hokusai_action.measure.paired import mcnemar, paired_bootstrap, paired_test


def _table(both: int, lost: int, won: int, neither: int):
    """y and two label sets whose per-row correctness makes the 2x2 table: `lost` rows the
    baseline gets right and the new version wrong, `won` the reverse."""
    rows = [(1, 1)] * both + [(1, 0)] * lost + [(0, 1)] * won + [(0, 0)] * neither
    right_a = np.array([r[0] for r in rows], dtype=bool)
    right_b = np.array([r[1] for r in rows], dtype=bool)
    y = np.arange(len(rows)) % 2
    a = Predictions(np.where(right_a, y, 1 - y), None, None)
    b = Predictions(np.where(right_b, y, 1 - y), None, None)
    table = [[both, lost], [won, neither]]
    return y, a, b, table


def _mid_p(lost: int, won: int) -> float:
    """Exact arithmetic: (2 * sum_{i<k} C(n,i) + C(n,k)) / 2^n, capped at 1."""
    n, k = lost + won, min(lost, won)
    p = Fraction(2 * sum(math.comb(n, i) for i in range(k)) + math.comb(n, k), 2**n)
    return float(min(p, Fraction(1)))


TABLES = [(50, 3, 15, 10), (40, 1, 7, 2), (30, 10, 10, 5), (20, 12, 4, 3), (10, 0, 0, 5),
          (100, 25, 45, 30)]  # fmt: skip


@pytest.mark.parametrize("counts", TABLES)
def test_mcnemar_exact_p_equals_statsmodels(counts):
    y, a, b, table = _table(*counts)
    result = mcnemar(y, a, b, mid_p=False)
    assert result.p_value == pytest.approx(statsmodels_mcnemar(table, exact=True).pvalue, abs=1e-12)
    assert result.test == "mcnemar-exact"


@pytest.mark.parametrize("counts", TABLES)
def test_mcnemar_mid_p_equals_exact_arithmetic(counts):
    y, a, b, _ = _table(*counts)
    assert mcnemar(y, a, b).p_value == pytest.approx(_mid_p(counts[1], counts[2]), abs=1e-12)


def test_mcnemar_is_significant_only_when_the_new_version_wins():
    y, a, b, _ = _table(50, 3, 15, 10)
    assert mcnemar(y, a, b).significant
    assert not mcnemar(y, b, a).significant  # the same evidence, but the new version lost
    y, a, b, _ = _table(30, 10, 10, 5)
    assert not mcnemar(y, a, b).significant


def _classifier_pair(better: bool, rows: int = 300):
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, rows)
    base_right = rng.random(rows) < 0.7
    new_right = base_right | (rng.random(rows) < 0.6) if better else base_right
    a = Predictions(np.where(base_right, y, 1 - y), None, None)
    b = Predictions(np.where(new_right, y, 1 - y), None, None)
    return y, a, b


def test_a_strictly_better_model_is_significant_by_bootstrap():
    y, a, b = _classifier_pair(better=True)
    result = paired_bootstrap("f1_score", y, a, b, seed=3, resamples=100)
    assert result.significant
    assert result.low is not None
    assert result.low > 0


def test_identical_predictions_are_not_significant():
    y, a, _ = _classifier_pair(better=False)
    result = paired_bootstrap("f1_score", y, a, a, seed=3, resamples=100)
    assert not result.significant
    assert (result.low, result.high) == (0.0, 0.0)


def test_the_bootstrap_is_deterministic_for_a_seed():
    y, a, b = _classifier_pair(better=True)
    first = paired_bootstrap("recall", y, a, b, seed=11, resamples=100)
    assert first == paired_bootstrap("recall", y, a, b, seed=11, resamples=100)
    assert first != paired_bootstrap("recall", y, a, b, seed=12, resamples=100)


def test_a_lower_error_counts_as_better():
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    a = Predictions(y + rng.normal(scale=1.0, size=200), None, None)
    b = Predictions(y + rng.normal(scale=0.3, size=200), None, None)
    assert paired_bootstrap("rmse", y, a, b, seed=0, resamples=300).significant
    assert not paired_bootstrap("rmse", y, b, a, seed=0, resamples=300).significant


def test_paired_test_uses_mcnemar_for_accuracy_and_the_bootstrap_otherwise():
    y, a, b = _classifier_pair(better=True)
    assert paired_test("accuracy", y, a, b, seed=0).test == "mcnemar-mid-p"
    assert paired_test("exact_match", y, a, b, seed=0).test == "mcnemar-mid-p"
    assert paired_test("mae", y, a, b, seed=0).test == "bootstrap"


def test_predictions_on_other_rows_are_refused():
    y, a, b = _classifier_pair(better=True)
    with pytest.raises(MeasureError, match="made on other data"):
        mcnemar(y[:-1], a, b)
