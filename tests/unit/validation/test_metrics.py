from __future__ import annotations

import math

import pytest

from hokusai_action.validation import metrics
from hokusai_action.validation.metrics import Direction
from tests.conftest import VALID, rules_of

REQUIRED = {
    "accuracy": Direction.HIGHER, "precision": Direction.HIGHER, "recall": Direction.HIGHER,
    "f1_score": Direction.HIGHER, "auc": Direction.HIGHER, "auroc": Direction.HIGHER,
    "mse": Direction.LOWER, "rmse": Direction.LOWER, "mae": Direction.LOWER,
    "r2_score": Direction.HIGHER, "mape": Direction.LOWER, "perplexity": Direction.LOWER,
    "bleu_score": Direction.HIGHER, "rouge_score": Direction.HIGHER,
    "exact_match": Direction.HIGHER, "ndcg": Direction.HIGHER, "map": Direction.HIGHER,
    "mrr": Direction.HIGHER,
}  # fmt: skip


@pytest.mark.parametrize(("name", "direction"), REQUIRED.items())
def test_catalogue_knows_each_standard_metric_and_its_direction(name, direction):
    found = metrics.lookup(name)
    assert found.metric is not None
    assert found.metric.direction is direction
    assert found.alias_of is None


def test_proportions_are_bounded_in_zero_one_and_errors_are_never_negative():
    assert metrics.lookup("accuracy").metric.is_proportion  # type: ignore[union-attr]
    rmse = metrics.lookup("rmse").metric
    assert rmse is not None
    assert (rmse.minimum, rmse.maximum, rmse.is_proportion) == (0, math.inf, False)
    assert metrics.lookup("r2_score").metric.maximum == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("f1", "f1_score"), ("r2", "r2_score"), ("roc_auc", "auroc"), ("ACCURACY", "accuracy")],
)
def test_aliases_resolve_to_the_canonical_name(alias, canonical):
    found = metrics.lookup(alias)
    assert found.alias_of == canonical


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("acuracy", "accuracy"),
        ("f1_scor", "f1_score"),
        ("rocauc", "auroc"),
        ("perplexty", "perplexity"),
    ],
)
def test_unknown_names_get_a_did_you_mean_of_a_canonical_name(typo, suggestion):
    found = metrics.lookup(typo)
    assert found.metric is None
    assert found.suggestion == f"; did you mean `{suggestion}`?"


def test_custom_metrics_are_found_with_their_declared_direction_and_range():
    custom = metrics.custom_metrics({"latency": {"direction": "lower", "min": 0}})
    found = metrics.lookup("latency", custom)
    assert found.metric is not None
    assert found.metric.direction is Direction.LOWER
    assert found.metric.range_text() == "[0, inf]"


def test_malformed_custom_metric_entries_are_skipped_not_crashed_on():
    assert (
        metrics.custom_metrics(
            {"a": {"direction": "sideways"}, "b": "x", "c": {"direction": "higher", "min": "0"}}
        )
        == {}
    )
    assert metrics.custom_metrics(["not", "a", "mapping"]) == {}


def test_unknown_metric_in_manifest_fails_until_declared(repo):
    text = VALID.replace("accuracy", "latency_ms").replace("0.9312", "12")
    assert rules_of(repo.check(text)) == ["metric-unknown"]
    declared = text + "custom_metrics:\n  latency_ms: {direction: lower, min: 0}\n"
    assert repo.check(declared) == []


def test_custom_metric_range_is_enforced(repo):
    text = (
        VALID
        + "metrics:\n  share: 1.5\ncustom_metrics:\n  share: {direction: higher, min: 0, max: 1}\n"
    )
    problems = repo.check(text)
    assert rules_of(problems) == ["metric-value"]
    assert "[0, 1]" in problems[0].message


@pytest.mark.parametrize(
    ("value", "ok"), [(0, True), (1, True), (0.5, True), (1.0001, False), (-0.01, False)]
)
def test_accuracy_must_lie_in_zero_one(repo, value, ok):
    problems = repo.check(VALID.replace("0.9312", str(value)))
    assert (problems == []) is ok


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_values_are_rejected(repo, value):
    problems = repo.check(VALID.replace("0.9312", value))
    assert rules_of(problems) == ["number-not-finite"]
    assert "finite" in problems[0].message


@pytest.mark.parametrize("value", ["true", '"0.9"', "[0.9]"])
def test_values_must_be_numbers(repo, value):
    assert rules_of(repo.check(VALID.replace("0.9312", value))) == ["schema-type"]


def test_percentage_given_for_a_proportion_gets_the_fraction_hint(repo):
    problems = repo.check(VALID.replace("0.9312", "93.12"))
    assert "0.9312" in problems[0].message


def test_alias_is_a_warning_naming_the_canonical_name(repo):
    problems = repo.check(VALID + "metrics:\n  f1: 0.9\n")
    assert [(p.rule, str(p.severity)) for p in problems] == [("metric-alias", "warning")]
    assert "`f1_score`" in problems[0].message


def test_benchmark_value_disagreeing_with_metrics_entry_is_a_warning(repo):
    problems = repo.check(VALID + "metrics:\n  accuracy: 0.5\n")
    assert [(p.rule, str(p.severity)) for p in problems] == [("metric-conflict", "warning")]


def test_value_from_file_is_checked_when_present(repo):
    repo.write("reports/m.json", '{"test": {"acc": 1.7}}')
    text = VALID.replace(
        "  value: 0.9312\n", "  value_from: {file: reports/m.json, key: test.acc}\n"
    )
    problems = repo.check(text)
    assert rules_of(problems) == ["metric-value"]
    assert "read from `m.json`" in problems[0].message
    repo.write("reports/m.json", '{"test": {"acc": 0.7}}')
    assert repo.check(text) == []


def test_value_from_missing_key_is_located_at_the_key(repo):
    repo.write("m.json", '{"accuracy": 0.9}')
    text = VALID.replace("  value: 0.9312\n", "  value_from:\n    file: m.json\n    key: acc\n")
    problems = repo.check(text)
    assert [(p.rule, p.line) for p in problems] == [("value-from", 10)]
