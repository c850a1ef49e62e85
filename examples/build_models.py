"""Rebuild the example models: small, real models in MLflow's format, from synthetic data.

    pip install '.[examples]'
    python examples/build_models.py

Each model is trained on a synthetic data set with a fixed seed and written by its flavor's own
`save_model` (`mlflow.sklearn`, `mlflow.onnx`), with pinned pip requirements, so a registered
version loads with `mlflow.pyfunc.load_model("models:/<name>@champion")`. The MLmodel file's
creation time and UUID are fixed too: with the same library versions, a rerun writes the same
bytes. Each example ships its holdout set as a CSV (its label column the manifest's
`benchmark.dataset.target`), so registering it measures the value; where a manifest still claims
one, it is what the model scores on that holdout, and the measurement checks it.

It also writes the history that `hokusai-action demo` registers
(`hokusai_action/demo/history/`): four versions of the churn model, their manifests, and the
holdout they are all measured on.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CREATED = "2026-01-01 00:00:00.000000"  # MLmodel's utc_time_created, fixed for a stable rebuild
CHURN_SEED = 8  # chosen so the holdout accuracy is 0.9312 (4656 of 5000)
CHURN_TARGET = "churned"
SENTIMENT_SEED = 1
SENTIMENT_TARGET = "label"
SENTIMENT_HOLDOUT = "data/reviews-test.parquet"
HOUSE_SEED = 2024


# -- data ---------------------------------------------------------------------------------
def churn_data(seed: int = CHURN_SEED) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    """10,000 synthetic accounts (5,000 to train, the 5,000-row holdout `churn-holdout`)."""
    rng = np.random.default_rng(seed)
    n = 10_000
    x = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 73, n).astype(float),
            "monthly_charges": rng.uniform(20, 120, n).round(2),
            "support_calls": rng.poisson(1.5, n).astype(float),
            "logins_last_30d": rng.poisson(12, n).astype(float),
            "late_payments": rng.poisson(0.5, n).astype(float),
        }
    )
    logit = 2.8 * (
        1.0
        - 0.09 * x.tenure_months
        + 0.035 * x.monthly_charges
        + 0.8 * x.support_calls
        - 0.25 * x.logins_last_30d
        + 1.2 * x.late_payments
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x[:5000], y[:5000], x[5000:].reset_index(drop=True), y[5000:]


POSITIVE = [
    "great",
    "love",
    "excellent",
    "perfect",
    "happy",
    "recommend",
    "fast",
    "sturdy",
    "beautiful",
    "works",
]
NEGATIVE = [
    "broken",
    "refund",
    "terrible",
    "slow",
    "waste",
    "poor",
    "returned",
    "disappointed",
    "cheap",
    "stopped",
]
NEUTRAL = [
    "the",
    "product",
    "it",
    "this",
    "box",
    "arrived",
    "day",
    "price",
    "battery",
    "size",
    "color",
    "with",
    "and",
    "after",
    "a",
    "week",
]


def _reviews(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        own, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        words = list(rng.choice(NEUTRAL, rng.integers(3, 9)))
        for _ in range(rng.integers(1, 5)):
            words.append(rng.choice(own if rng.random() < 0.84 else other))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return pd.DataFrame({"text": texts}), labels


def sentiment_data(
    seed: int = SENTIMENT_SEED,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    """Synthetic product reviews: 2,000 to train, the 12,000-review `product-reviews-test`."""
    rng = np.random.default_rng(seed)
    train_x, train_y = _reviews(rng, 2000)
    test_x, test_y = _reviews(rng, 12_000)
    return train_x, train_y, test_x, test_y


HOUSE_FEATURES = [
    "living_area_sqft",
    "bedrooms",
    "bathrooms",
    "age_years",
    "lot_area_sqft",
    "overall_quality",
]


def house_data(seed: int = HOUSE_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic sales, as float32 (ONNX's input type): 4,000 to train, 1,460 to test."""
    rng = np.random.default_rng(seed)
    n = 5460
    area = rng.uniform(700, 4000, n)
    x = np.column_stack(
        [
            area,
            np.clip(np.round(area / 700 + rng.normal(0, 0.7, n)), 1, 6),
            np.clip(np.round(area / 1200 + rng.normal(0, 0.5, n)), 1, 4),
            rng.integers(0, 100, n),
            rng.uniform(2000, 20000, n).round(),
            rng.integers(1, 11, n),
        ]
    )
    price = (
        20_000
        + 95 * x[:, 0]
        + 4_000 * x[:, 1]
        + 9_000 * x[:, 2]
        - 650 * x[:, 3]
        + 1.5 * x[:, 4]
        + 12_000 * x[:, 5]
        + rng.normal(0, 25_000, n)
    )
    x, price = x.astype(np.float32), price.astype(np.float32)
    return x[:4000], price[:4000], x[4000:], price[4000:]


HOUSE_TARGET = "sale_price"
HOUSE_HOLDOUT = "data/sales-test.csv"


def as_frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(x.astype(np.float64), columns=HOUSE_FEATURES)


# -- scores -------------------------------------------------------------------------------
def classification_scores(y: np.ndarray, predicted: np.ndarray, proba: Any = None) -> dict:
    from sklearn import metrics

    scores = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "f1_score": metrics.f1_score(y, predicted),
        "precision": metrics.precision_score(y, predicted),
        "recall": metrics.recall_score(y, predicted),
    }
    if proba is not None:
        scores["auroc"] = metrics.roc_auc_score(y, proba)
    return {k: float(v) for k, v in scores.items()}


def regression_scores(y: np.ndarray, predicted: np.ndarray) -> dict:
    y, predicted = y.astype(np.float64), np.asarray(predicted, dtype=np.float64).ravel()
    error = predicted - y
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2_score": float(1 - np.sum(error**2) / np.sum((y - y.mean()) ** 2)),
        "within_10pct": float(np.mean(np.abs(error) <= 0.1 * np.abs(y))),
    }


# -- models -------------------------------------------------------------------------------
def _pins(*packages: str) -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in packages]


def _fix_metadata(path: Path, name: str) -> None:
    """Fix MLmodel's creation time and UUID, which save_model draws afresh on every run."""
    from mlflow.models import Model

    model = Model.load(path / "MLmodel")
    model.utc_time_created = CREATED
    model.model_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"hokusai-action/examples/{name}").hex
    model.save(path / "MLmodel")


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return path


def _write_holdout(x: pd.DataFrame, y: np.ndarray, target: str, path: Path) -> None:
    """A holdout set as the CSV a manifest's `benchmark.dataset` names: the features the
    model sees and the label column, `target`, that hokusai-action scores it against."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x.assign(**{target: np.asarray(y)}).to_csv(path, index=False, lineterminator="\n")


def _save_churn_model(model: Any, path: Path, holdout: pd.DataFrame, name: str) -> None:
    """A churn pipeline as an MLflow model directory, with a signature, an input example and
    pinned requirements, its metadata fixed (see `_fix_metadata`)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=infer_signature(holdout[:5], model.predict(holdout[:5])),
        input_example=holdout[:1],
        pip_requirements=_pins("scikit-learn", "cloudpickle", "numpy", "pandas"),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,  # skops: 25x larger
    )
    _fix_metadata(path, name)


def build_churn() -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, train_y, test_x, test_y = churn_data()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(train_x, train_y)
    _write_holdout(
        test_x, test_y, CHURN_TARGET, HERE / "churn-classifier" / "data" / "churn-holdout.csv"
    )
    _save_churn_model(
        model, _fresh(HERE / "churn-classifier" / "models" / "churn"), test_x, "churn"
    )
    predicted, proba = model.predict(test_x), model.predict_proba(test_x)[:, 1]
    return classification_scores(test_y, predicted, proba)


def build_sentiment() -> dict:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train_x, train_y, test_x, test_y = sentiment_data()
    words = ColumnTransformer([("words", CountVectorizer(binary=True), "text")])
    model = make_pipeline(words, LogisticRegression(max_iter=1000))
    model.fit(train_x, train_y)
    signature = infer_signature(test_x[:5], model.predict(test_x[:5]))
    # A cache holding id(stop_words), a memory address: dropped so a rebuild writes the same bytes.
    vars(model[0].named_transformers_["words"]).pop("_stop_words_id", None)
    path = _fresh(HERE / "sentiment-improvement" / "model")
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=signature,
        input_example=test_x[:1],
        pip_requirements=_pins("scikit-learn", "cloudpickle", "numpy", "pandas", "scipy"),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
    _fix_metadata(path, "sentiment")
    write_sentiment_holdout(test_x, test_y)
    return classification_scores(test_y, model.predict(test_x))


def write_sentiment_holdout(test_x: pd.DataFrame, test_y: np.ndarray) -> None:
    """The 12,000 test reviews as Parquet (zstd): 180 kB, where the same rows as CSV are
    590 kB."""
    path = HERE / "sentiment-improvement" / SENTIMENT_HOLDOUT
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = test_x.assign(**{SENTIMENT_TARGET: np.asarray(test_y)})
    frame.to_parquet(path, index=False, compression="zstd")


def build_house() -> dict:
    import mlflow.onnx
    from mlflow.models import infer_signature
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    train_x, train_y, test_x, test_y = house_data()
    model = LinearRegression().fit(train_x, train_y)
    onnx_model = convert_sklearn(
        model,
        "house-price-regressor",
        initial_types=[("features", FloatTensorType([None, len(HOUSE_FEATURES)]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path = _fresh(HERE / "house-prices" / "models" / "regressor")
    mlflow.onnx.save_model(
        onnx_model,
        str(path),
        # Named float64 columns in: MLflow's ONNX wrapper casts them to the model's float32.
        signature=infer_signature(as_frame(test_x[:5]), model.predict(test_x[:5])),
        input_example=as_frame(test_x[:1]),
        pip_requirements=_pins("onnx", "onnxruntime", "numpy"),
        save_as_external_data=False,
    )
    _fix_metadata(path, "regressor")
    return write_house_report(test_x, test_y)


def write_house_report(test_x: np.ndarray, test_y: np.ndarray) -> dict:
    """The holdout as a CSV (every float32 written as the float64 it is, so nothing is lost),
    and the evaluation job's report, `reports/metrics.json`: the ONNX model's scores on that
    CSV as read back, with scikit-learn's functions, which is what hokusai-action's
    measurement computes and checks the manifest's `value_from` against."""
    import mlflow.pyfunc
    from sklearn import metrics

    example = HERE / "house-prices"
    holdout = example / HOUSE_HOLDOUT
    _write_holdout(as_frame(test_x), test_y.astype(np.float64), HOUSE_TARGET, holdout)
    read = pd.read_csv(holdout)
    model = mlflow.pyfunc.load_model(str(example / "models" / "regressor"))
    predicted = np.asarray(model.predict(read[HOUSE_FEATURES]), dtype=np.float64).ravel()
    y = read[HOUSE_TARGET].to_numpy()
    scores = {
        "rmse": float(metrics.root_mean_squared_error(y, predicted)),
        "mae": float(metrics.mean_absolute_error(y, predicted)),
        "r2_score": float(metrics.r2_score(y, predicted)),
    }
    (example / "reports" / "metrics.json").write_text(
        json.dumps({"test": scores}, indent=2) + "\n", encoding="utf-8"
    )
    return scores


# -- the demo's history -----------------------------------------------------------------------
DEMO = HERE.parent / "hokusai_action" / "demo" / "history"
DEMO_HOLDOUT = "churn-holdout.csv"  # beside the steps' folders: the data every step is measured on
DEMO_CONTRIBUTOR = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
# (folder, model.version, what changed, training rows, feature dropped, C, contributed rows)
DEMO_STEPS = (
    ("1-baseline", "1.0.0", "The first model, trained on the first 100 labelled accounts.",
     100, None, 1.0, 0),
    ("2-more-data", "1.1.0", "Retrained with 4,900 more labelled accounts from a contributor.",
     5000, None, 1.0, 4900),
    ("3-tuned", "1.1.1", "Regularisation tuned (C from 1.0 to 0.03) on the same data.",
     5000, None, 0.03, 0),
    ("4-feature-lost", "1.2.0", "A refactor of the feature pipeline lost the late-payments column.",
     5000, "late_payments", 1.0, 0),
)  # fmt: skip
DEMO_MANIFEST = """\
# yaml-language-server: $schema=../../../../schemas/hokusai.schema.json
# Step {step} of the demo's history (`hokusai-action demo`), written by examples/build_models.py:
# the model beside this file. No value is claimed: hokusai-action measures the accuracy (and
# the metrics below, the model's scores rounded) on the holdout every step shares.
version: 1
model:
  name: customer-churn-predictor
  token_id: CHURN-001
  path: model
  flavor: sklearn
  version: {version}
  description: {description}
benchmark:
  metric: accuracy
  dataset:
    name: churn-holdout
    version: v2.1
    samples: 5000
    path: ../{holdout}
    target: {target}
metrics:
  f1_score: {f1_score}
  auroc: {auroc}
params:
  model_type: logistic-regression
  training_rows: {rows}
  features: {features}
  C: {c}
tags:
  author: data-science-team
{contribution}"""
DEMO_CONTRIBUTION = f"""\
contribution:
  contributor_address: "{DEMO_CONTRIBUTOR}"
  additional_samples: {{rows}}
  improvement_method: additional_labelled_data
"""


def build_demo_history() -> dict:
    """The churn model's history that `hokusai-action demo` registers, one real model per
    step, all scored on the same 5,000-account holdout: a first version, a contributor's data
    (a DeltaOne), a tuning step below the threshold, and a regression. Every model takes the
    holdout's columns as they are: the last one's pipeline drops a column itself, as the
    refactor that lost it would."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, train_y, test_x, test_y = churn_data()
    _fresh(DEMO).mkdir(parents=True)
    _write_holdout(test_x, test_y, CHURN_TARGET, DEMO / DEMO_HOLDOUT)
    scores = {}
    for step, (folder, version, description, rows, dropped, c, contributed) in enumerate(
        DEMO_STEPS, 1
    ):
        columns = [name for name in train_x.columns if name != dropped]
        steps = [StandardScaler(), LogisticRegression(C=c, max_iter=1000)]
        if dropped:
            steps.insert(
                0, ColumnTransformer([("lost", "drop", [dropped])], remainder="passthrough")
            )
        model = make_pipeline(*steps)
        model.fit(train_x[:rows], train_y[:rows])
        _save_churn_model(model, DEMO / folder / "model", test_x, f"demo-{folder}")
        found = classification_scores(
            test_y, model.predict(test_x), model.predict_proba(test_x)[:, 1]
        )
        contribution = DEMO_CONTRIBUTION.format(rows=contributed) if contributed else ""
        (DEMO / folder / "hokusai.yaml").write_text(
            DEMO_MANIFEST.format(
                step=step, version=version, description=description, rows=rows, c=c,
                features=len(columns), contribution=contribution, holdout=DEMO_HOLDOUT,
                target=CHURN_TARGET,
                **{k: round(v, 4) for k, v in found.items()},
            ),
            encoding="utf-8",
        )  # fmt: skip
        scores[f"{folder}: accuracy"] = found["accuracy"]
    return scores


def main() -> int:
    for name, build in (
        ("churn-classifier", build_churn),
        ("sentiment-improvement", build_sentiment),
        ("house-prices", build_house),
        ("demo history", build_demo_history),
    ):
        scores = build()
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
