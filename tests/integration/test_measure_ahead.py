"""A model's process started ahead of its measurement (registry/warm.py), and its data read
ahead: used only for what the benchmark of record names, stopped where nothing is measured.

Real scikit-learn models and a real holdout (tests/support/measuring.py), an embedded
registry of the module's own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.measure import _child
from hokusai_action.registry.measured import Measuring
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.register import Decision, compare, register
from hokusai_action.registry.settings import RegistrySettings
from hokusai_action.registry.warm import Warm, asks_to_be_measured, warmed
from tests.support.measuring import Repo


@pytest.fixture
def registry(embedded_measuring: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_measuring)


@pytest.fixture
def repo(
    tmp_path: Path, measured_models: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> Repo:
    monkeypatch.chdir(tmp_path)
    return Repo(tmp_path, measured_models)


def test_a_plan_asking_to_be_measured_has_its_model_loading_and_data_read_before_the_registry(
    repo: Repo,
) -> None:
    p = repo.plan("logistic")
    warm = Warm([p], Decision().measuring)
    try:
        started = warm.take(p)
        assert started is not None
        assert started.process.process is not None
        assert started.process.process.poll() is None  # loading, or waiting for its features
        assert started.dataset is not None
        assert started.dataset.rows == 169
        assert not hasattr(started.dataset.features, "columns")  # staged on disk, not held
        started.close()
        assert started.process.workdir is None  # its private copy of the model is removed
    finally:
        warm.close()


def test_nothing_is_started_ahead_under_a_privileged_event_nor_for_a_rebuilt_environment(
    repo: Repo,
) -> None:
    p = repo.plan("logistic")
    assert asks_to_be_measured(p, Measuring())
    assert not asks_to_be_measured(p, Measuring(event="workflow_run"))
    assert not asks_to_be_measured(p, Measuring(event="pull_request_target"))
    assert not asks_to_be_measured(p, Measuring(env_manager="uv"))
    warm = Warm([p], Measuring(event="workflow_run"))
    assert warm.take(p) is None


def test_a_model_started_ahead_is_stopped_when_its_token_values_are_claimed(
    repo: Repo, registry: MlflowRegistry
) -> None:
    # the first registration claims: the record says `measurement: off`
    dataset = "{name: holdout, path: data/holdout.csv}"
    register(repo.plan("stump", "0.5", dataset=dataset), registry, Decision())
    p = repo.plan("logistic", "0.6")  # names a target: started ahead, then not needed
    with warmed([p], Decision()) as decision:
        warm = decision.measuring.warm
        assert warm is not None
        running = warm._running
        assert running is not None
        report = compare(p, registry, decision)
        assert running.process.process is None  # stopped once the record was read
        assert running.process.workdir is None
    assert report.plan.measured is None
    assert report.plan.value == 0.6


def test_data_read_ahead_with_another_label_column_is_not_what_is_measured(
    repo: Repo, registry: MlflowRegistry
) -> None:
    register(repo.plan("stump"), registry, Decision())
    # the pull request names `mean radius` as the label: the features read ahead hold the
    # record's label column, and are never sent; the record's target is measured
    p = repo.plan("logistic", target="'mean radius'")
    with warmed([p], Decision()) as decision:
        report = compare(p, registry, decision)
    assert report.plan.value == pytest.approx(repo.accuracy("logistic"))
    assert report.plan.measured is not None
    assert report.plan.measured.target != "mean radius"


def test_data_read_ahead_that_is_not_the_records_is_refused_never_measured(
    repo: Repo, registry: MlflowRegistry
) -> None:
    register(repo.plan("stump"), registry, Decision())
    data = repo.root / "data" / "holdout.csv"
    data.write_text(data.read_text(encoding="utf-8").replace(",1\n", ",0\n", 5), encoding="utf-8")
    p = repo.plan("logistic")
    with warmed([p], Decision()) as decision, pytest.raises(HokusaiError, match="sha256"):
        register(p, registry, decision)
    assert len(registry.versions_of_model(repo.name)) == 1


def test_a_measurement_started_ahead_gives_what_one_started_late_gives(
    repo: Repo, registry: MlflowRegistry
) -> None:
    register(repo.plan("stump"), registry, Decision())
    late = compare(repo.plan("logistic"), registry, Decision())
    p = repo.plan("logistic")
    with warmed([p], Decision()) as decision:
        ahead = compare(p, registry, decision)
    assert ahead.plan.measured is not None
    assert late.plan.measured is not None
    assert ahead.plan.measured.values == late.plan.measured.values
    assert ahead.plan.measured.dataset_sha256 == late.plan.measured.dataset_sha256
    assert ahead.verdict == late.verdict


@pytest.mark.parametrize("serialization", ["pickle", "cloudpickle"])
def test_the_model_process_unpickles_a_sklearn_flavor_as_mlflow_does_without_importing_mlflow(
    measured_models: dict[str, object], tmp_path: Path, serialization: str
) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(x, y)
    folder = tmp_path / "model"
    mlflow.sklearn.save_model(model, folder, serialization_format=serialization,
                              pip_requirements=["scikit-learn"])  # fmt: skip
    ours, kind = _child._load(folder)
    theirs = mlflow.sklearn.load_model(str(folder))
    assert kind == "sklearn"
    np.testing.assert_array_equal(ours.predict_proba(x), theirs.predict_proba(x))
    # in a fresh interpreter, as the model's process runs: MLflow is never imported
    probe = (
        "import sys; from pathlib import Path; from hokusai_action.measure import _child; "
        f"_child._load(Path({str(folder)!r})); print('mlflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    assert done.stdout.strip() == "False"


def test_a_sklearn_flavor_with_code_or_skops_or_a_path_outside_goes_through_mlflow(
    tmp_path: Path,
) -> None:
    (tmp_path / "model.pkl").write_bytes(b"")
    found = _child._pickled_sklearn
    assert found(tmp_path, {"pickled_model": "model.pkl"}) == (tmp_path / "model.pkl", "pickle")
    assert found(tmp_path, {"pickled_model": "model.pkl", "code": "code"}) is None
    assert found(tmp_path, {"pickled_model": "model.pkl", "serialization_format": "skops"}) is None
    assert found(tmp_path / "sub", {"pickled_model": "../model.pkl"}) is None
    assert found(tmp_path, {"pickled_model": "missing.pkl"}) is None
    assert found(tmp_path, {"pickled_model": 3}) is None
    assert found(tmp_path, "sklearn") is None
