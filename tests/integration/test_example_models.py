"""The shipped examples are real MLflow models: registered as the README does, each loads back
with `mlflow.pyfunc.load_model("models:/<name>@champion")`, predicts, and scores on its holdout
set what its manifest claims, and hokusai-action measured the same on the holdout it ships."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from hokusai_action.measure import rounded
from tests.conftest import PROJECT
from tests.support.build_models import load_build_models
from tests.support.cli import run_cli

EXAMPLES = PROJECT / "examples"
NAMES = {
    "churn-classifier": "customer-churn-predictor",
    "house-prices": "house-price-regressor",
    "sentiment-improvement": "sentiment-analyzer",
}
# The examples pin the scikit-learn that built them; a newer one loads them with this warning.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.InconsistentVersionWarning")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The examples, registered into the embedded registry by the CLI; MLflow pointed at it."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(EXAMPLES, root / "examples")
    (root / ".git").mkdir()
    result = run_cli("register", "examples", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("registered version 1") == len(NAMES), result.stdout
    assert "not loadable" not in result.stdout  # no example is a bare file
    uri = f"sqlite:///{root / '.hokusai' / 'mlflow.db'}"
    # MLflow keeps the URIs in globals and in the environment (for subprocesses): both are put
    # back, or later tests' subprocesses would write to a default ./mlflow.db.
    variables = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    before = {name: os.environ.get(name) for name in variables}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def build_models() -> ModuleType:
    """examples/build_models.py, for its data sets (its build functions are not called)."""
    return load_build_models()


def manifest(example: str) -> dict:
    return yaml.safe_load((EXAMPLES / example / "hokusai.yaml").read_text(encoding="utf-8"))


def load(name: str) -> mlflow.pyfunc.PyFuncModel:
    return mlflow.pyfunc.load_model(f"models:/{name}@champion")


@pytest.mark.parametrize("example", sorted(NAMES))
def test_each_registered_example_loads_with_pyfunc_and_predicts_one_row(registry, example):
    model = load(NAMES[example])
    row = model.input_example
    assert len(row) == 1
    prediction = np.asarray(model.predict(row)).ravel()
    assert prediction.shape == (1,)
    assert np.isfinite(prediction).all()


@pytest.mark.parametrize("example", sorted(NAMES))
def test_each_example_is_a_small_mlflow_model_with_pinned_requirements(example):
    path = EXAMPLES / example / manifest(example)["model"]["path"]
    assert (path / "MLmodel").is_file()
    assert sum(f.stat().st_size for f in path.iterdir()) < 8_000  # a few kB
    requirements = (path / "requirements.txt").read_text(encoding="utf-8").split()
    assert requirements
    assert all("==" in line for line in requirements)


def registered_value(name: str) -> str:
    """The value the registration recorded: measured by hokusai-action."""
    version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion")
    assert version.tags["hokusai_benchmark_measured"] == "true", name
    return version.tags["benchmark_value"]


def holdout(example: str) -> tuple[pd.DataFrame, str]:
    """The example's holdout file, as its manifest names it, and its label column."""
    dataset = manifest(example)["benchmark"]["dataset"]
    path = EXAMPLES / example / dataset["path"]
    assert path.stat().st_size < 300_000, path  # small enough to ship
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    assert len(frame) == dataset["samples"]
    return frame, dataset["target"]


def test_churn_model_scores_the_manifests_accuracy_on_its_holdout(registry, build_models):
    _, _, x, y = build_models.churn_data()
    shipped, target = holdout("churn-classifier")
    assert shipped.drop(columns=target).equals(x)
    assert (shipped[target].to_numpy() == np.asarray(y)).all()
    predicted = np.asarray(load(NAMES["churn-classifier"]).predict(x)).ravel()
    claimed = manifest("churn-classifier")["benchmark"]["value"]
    assert float(np.mean(predicted == y)) == claimed  # the claim is exact, and it was checked
    assert float(registered_value(NAMES["churn-classifier"])) == claimed


def test_sentiment_model_is_measured_at_its_f1_on_its_test_set(registry, build_models):
    _, _, x, y = build_models.sentiment_data()
    shipped, target = holdout("sentiment-improvement")
    assert shipped.drop(columns=target).equals(x)
    assert (shipped[target].to_numpy() == y).all()
    predicted = np.asarray(load(NAMES["sentiment-improvement"]).predict(x)).ravel()
    data = manifest("sentiment-improvement")
    assert "value" not in data["benchmark"]  # measured, not claimed
    scores = build_models.classification_scores(y, predicted)
    assert float(registered_value(NAMES["sentiment-improvement"])) == rounded(scores["f1_score"])
    assert round(scores["accuracy"], 4) == data["metrics"]["accuracy"]


def test_house_model_scores_the_rmse_its_metrics_file_reports(registry, build_models):
    _, _, x, y = build_models.house_data()
    shipped, target = holdout("house-prices")
    assert (shipped[target].to_numpy() == y).all()  # float32 values kept exactly
    predicted = load(NAMES["house-prices"]).predict(build_models.as_frame(x))
    scores = build_models.regression_scores(y, np.asarray(predicted).ravel())
    data = manifest("house-prices")
    reported = json.loads(Path(EXAMPLES / "house-prices/reports/metrics.json").read_text())
    assert scores["rmse"] == pytest.approx(reported["test"]["rmse"], abs=1e-6)
    assert float(registered_value(NAMES["house-prices"])) == pytest.approx(
        reported["test"]["rmse"], abs=1e-6
    )
    assert round(scores["r2_score"], 4) == data["metrics"]["r2_score"]
