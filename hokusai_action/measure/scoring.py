"""Metric values from predictions, with scikit-learn's metric functions and no formula of ours.

Each catalogue metric maps to one scikit-learn function; those that scikit-learn (and MLflow)
cannot compute offline from predictions are not measured, with the reason, never guessed.
A label set of exactly two classes is binary, its positive label the greater one (scikit-learn's
convention for `pos_label`); more classes are macro-averaged. `how` says which was used.
Empty divisions count as 0 (`zero_division=0`), as scikit-learn's default does after its warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hokusai_action.errors import heavy_import
from hokusai_action.inert import shown
from hokusai_action.measure.measurement import Predictions
from hokusai_action.validation import metrics as catalogue

if TYPE_CHECKING:
    import numpy as np

LABEL_METRICS = ("accuracy", "exact_match", "precision", "recall", "f1_score")
PROBABILITY_METRICS = ("auroc",)
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2_score", "mape")
MEASURABLE = (*LABEL_METRICS, *PROBABILITY_METRICS, *REGRESSION_METRICS)
NOT_OFFLINE = "neither scikit-learn nor MLflow computes it offline from predictions"
NOT_MEASURED: dict[str, str] = {
    "auc": "`auc` does not say which curve: use auroc (area under the ROC curve)",
    **dict.fromkeys(("perplexity", "bleu_score", "rouge_score", "ndcg", "map", "mrr"), NOT_OFFLINE),
}
CUSTOM = "a custom metric: hokusai-action has no implementation to measure it with"
NO_PROBABILITIES = "the model gives no probabilities (predict_proba)"


class Unmeasured(Exception):
    """This metric cannot be measured on these predictions; the message says why."""


@dataclass(frozen=True, slots=True)
class Scored:
    value: float
    how: str


def _as_text(values: np.ndarray) -> np.ndarray:
    """Numbers as the strings a CSV would hold them as: 1.0 -> "1", True -> "True"."""
    import numpy as np

    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        texts = [str(int(v)) if w else repr(float(v)) for v, w in zip(values, whole, strict=True)]
        return np.array(texts, dtype=str)
    return values.astype(str)


def aligned(y: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`y` and `labels` of one comparable kind: numbers with numbers (booleans as 0/1 when
    the other side holds numbers), strings with strings (numbers written as a CSV writes
    them), so that scikit-learn compares like with like."""
    y_text, l_text = y.dtype.kind == "U", labels.dtype.kind == "U"
    if y_text and not l_text:
        return y, _as_text(labels)
    if l_text and not y_text:
        return _as_text(y), labels
    if not y_text and (y.dtype.kind == "b") != (labels.dtype.kind == "b"):
        return y.astype(float if y.dtype.kind == "f" else int), labels.astype(
            float if labels.dtype.kind == "f" else int
        )
    return y, labels


def _numbers(y: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    if y.dtype.kind not in "biuf":
        raise Unmeasured("the target column holds text, not numbers")
    if labels.dtype.kind not in "biuf":
        raise Unmeasured("the model predicts text, not numbers")
    return y.astype(np.float64), labels.astype(np.float64)


def _averaging(
    y: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any], str]:
    """Binary when the data holds two classes, whatever the model predicts: a prediction of
    a label the data never holds is a wrong prediction, not a third class that turns the
    positive class's score into a macro average (with the easy negative class in it)."""
    import numpy as np

    truth = np.unique(y)
    classes = truth if len(truth) == 2 else np.union1d(y, labels)
    if len(classes) == 2:
        positive = classes[1]
        how = f"binary, positive label {shown(positive)}"
        return y == positive, labels == positive, {"average": "binary", "pos_label": True}, how
    return y, labels, {"average": "macro"}, f"macro average over {len(classes)} classes"


def _auroc(y: np.ndarray, pred: Predictions) -> Scored:
    import numpy as np
    from sklearn import metrics

    if pred.proba is None or pred.classes is None:
        raise Unmeasured(NO_PROBABILITIES)
    y, classes = aligned(y, pred.classes)
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise Unmeasured(
            f"the data holds labels the model has no probability for: {shown(unknown[:5].tolist())}"
        )
    if len(np.unique(y)) < 2:
        raise Unmeasured("the data holds one class only: the ROC curve needs two")
    if len(classes) == 2:
        positive = int(np.argsort(classes)[-1])  # the greater label, as pos_label elsewhere
        value = metrics.roc_auc_score(y == classes[positive], pred.proba[:, positive])
        return Scored(float(value), f"binary, probability of label {shown(classes[positive])}")
    order = np.argsort(classes)
    value = metrics.roc_auc_score(
        y, pred.proba[:, order], multi_class="ovr", average="macro", labels=classes[order]
    )
    return Scored(float(value), f"one-vs-rest, macro average over {len(classes)} classes")


def score(name: str, y: np.ndarray, pred: Predictions) -> Scored:
    """`name` measured on these predictions; Unmeasured (with the reason) when it cannot be."""
    from sklearn import metrics

    name = catalogue.ALIASES.get(name, name)  # roc_auc is auroc, r2 is r2_score
    if name in NOT_MEASURED:
        raise Unmeasured(NOT_MEASURED[name])
    if name not in MEASURABLE:
        raise Unmeasured(CUSTOM)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's UndefinedMetricWarning and the like
            if name == "auroc":
                return _auroc(y, pred)
            if name in LABEL_METRICS:
                y_true, y_pred = aligned(y, pred.labels)
                if name in ("accuracy", "exact_match"):
                    value = metrics.accuracy_score(y_true, y_pred)
                    return Scored(float(value), "share of rows whose prediction equals the label")
                y_true, y_pred, kwargs, how = _averaging(y_true, y_pred)
                function = {"precision": metrics.precision_score, "recall": metrics.recall_score,
                            "f1_score": metrics.f1_score}[name]  # fmt: skip
                return Scored(float(function(y_true, y_pred, zero_division=0, **kwargs)), how)
            y_true, y_pred = _numbers(y, pred.labels)
            function = {"mse": metrics.mean_squared_error,
                        "rmse": metrics.root_mean_squared_error,
                        "mae": metrics.mean_absolute_error, "r2_score": metrics.r2_score,
                        "mape": metrics.mean_absolute_percentage_error}[name]  # fmt: skip
            return Scored(float(function(y_true, y_pred)), function.__name__)
    except ValueError as e:  # scikit-learn refuses these labels (a mix of kinds, one class...)
        raise Unmeasured(f"scikit-learn cannot compute it: {shown(e, 160)}") from e


def score_all(
    names: Sequence[str], y: np.ndarray, pred: Predictions
) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
    """Values, reasons for what was not measured, and how each value was computed."""
    with heavy_import("sklearn.metrics"):
        import sklearn.metrics  # noqa: F401 (imported once, here, without the collector)
    values: dict[str, float] = {}
    unmeasured: dict[str, str] = {}
    how: dict[str, str] = {}
    for name in dict.fromkeys(names):
        try:
            scored = score(name, y, pred)
        except Unmeasured as e:
            unmeasured[name] = str(e)
        else:
            values[name], how[name] = scored.value, scored.how
    return values, unmeasured, how
