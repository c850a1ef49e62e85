"""Metric values come from scikit-learn, on labels made comparable, and what cannot be
measured says why."""

from __future__ import annotations

import numpy as np
from sklearn import metrics

from hokusai_action.measure import Predictions
from hokusai_action.measure.scoring import NO_PROBABILITIES, aligned, score, score_all

Y = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1, 1])
LABELS = np.array([0, 1, 0, 0, 1, 1, 1, 0, 1, 1])
PROBA1 = np.array([0.1, 0.9, 0.4, 0.2, 0.8, 0.7, 0.6, 0.3, 0.95, 0.85])
BINARY = Predictions(LABELS, np.column_stack([1 - PROBA1, PROBA1]), np.array([0, 1]))


def test_binary_metrics_equal_scikit_learns_with_the_greater_label_positive():
    values, unmeasured, how = score_all(
        ["accuracy", "precision", "recall", "f1_score", "auroc", "exact_match"], Y, BINARY
    )
    assert unmeasured == {}
    assert values == {
        "accuracy": metrics.accuracy_score(Y, LABELS),
        "precision": metrics.precision_score(Y, LABELS),
        "recall": metrics.recall_score(Y, LABELS),
        "f1_score": metrics.f1_score(Y, LABELS),
        "auroc": metrics.roc_auc_score(Y, PROBA1),
        "exact_match": metrics.accuracy_score(Y, LABELS),
    }
    assert how["f1_score"] == "binary, positive label 1"


def test_string_labels_use_the_greater_label_as_positive():
    y = np.array(["no", "yes", "yes", "no"])
    pred = Predictions(np.array(["no", "yes", "no", "no"]), None, None)
    assert score("recall", y, pred).value == metrics.recall_score(y, pred.labels, pos_label="yes")


def test_more_than_two_classes_are_macro_averaged_and_auroc_is_one_vs_rest():
    y = np.array([0, 1, 2, 2, 1, 0, 2, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.1, 0.3, 0.6],
                      [0.3, 0.4, 0.3], [0.5, 0.4, 0.1], [0.4, 0.3, 0.3],
                      [0.2, 0.5, 0.3]])  # fmt: skip
    pred = Predictions(proba.argmax(axis=1), proba, np.array([0, 1, 2]))
    f1 = score("f1_score", y, pred)
    assert f1.value == metrics.f1_score(y, pred.labels, average="macro")
    assert f1.how == "macro average over 3 classes"
    auroc = score("auroc", y, pred).value
    assert auroc == metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro")


def test_regression_metrics_equal_scikit_learns():
    y = np.array([3.0, -0.5, 2.0, 7.0])
    pred = Predictions(np.array([2.5, 0.0, 2.0, 8.0]), None, None)
    values, unmeasured, _ = score_all(["mse", "rmse", "mae", "r2_score", "mape"], y, pred)
    assert unmeasured == {}
    assert values == {
        "mse": metrics.mean_squared_error(y, pred.labels),
        "rmse": metrics.root_mean_squared_error(y, pred.labels),
        "mae": metrics.mean_absolute_error(y, pred.labels),
        "r2_score": metrics.r2_score(y, pred.labels),
        "mape": metrics.mean_absolute_percentage_error(y, pred.labels),
    }


def test_what_cannot_be_measured_is_listed_with_the_reason():
    _, unmeasured, _ = score_all(["auc", "perplexity", "ndcg", "my_custom", "auroc"], Y,
                                 Predictions(LABELS, None, None))  # fmt: skip
    assert "use auroc" in unmeasured["auc"]
    assert "offline" in unmeasured["perplexity"]
    assert "offline" in unmeasured["ndcg"]
    assert "custom metric" in unmeasured["my_custom"]
    assert unmeasured["auroc"] == NO_PROBABILITIES


def test_labels_read_as_text_match_a_model_predicting_numbers():
    y_text = np.array(["0", "1", "1", "0"])
    pred = Predictions(np.array([0.0, 1.0, 0.0, 0.0]), None, None)
    assert score("accuracy", y_text, pred).value == 0.75
    y, labels = aligned(np.array([True, False]), np.array([1, 0]))
    assert (y == labels).all()


def test_regression_on_text_labels_is_unmeasured_not_guessed():
    _, unmeasured, _ = score_all(["rmse"], np.array(["a", "b"]),
                                 Predictions(np.array([1.0, 2.0]), None, None))  # fmt: skip
    assert unmeasured["rmse"] == "the target column holds text, not numbers"


def test_auroc_on_one_class_is_unmeasured():
    y = np.ones(4, dtype=int)
    pred = Predictions(np.ones(4, dtype=int), np.full((4, 2), 0.5), np.array([0, 1]))
    _, unmeasured, _ = score_all(["auroc"], y, pred)
    assert "one class" in unmeasured["auroc"]


def test_an_alias_is_measured_as_its_catalogue_metric():
    values, _, _ = score_all(["roc_auc", "acc"], Y, BINARY)
    assert values == {"roc_auc": metrics.roc_auc_score(Y, PROBA1),
                      "acc": metrics.accuracy_score(Y, LABELS)}  # fmt: skip
