"""A model's process started ahead of its measurement (registry/warm.py), and its data read
ahead: used only for what the benchmark of record names, stopped where nothing is measured.

Real scikit-learn models and a real holdout (tests/support/measuring.py), an embedded
registry of the module's own.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.measure import MeasureError, _child, measure
from hokusai_action.measure.data import Dataset
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


def test_the_model_process_unpickles_a_sklearn_flavor_as_mlflow_does_without_importing_mlflow(
    tmp_path: Path,
) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(x, y)
    folders = []
    for serialization in ("pickle", "cloudpickle"):
        folder = tmp_path / serialization
        mlflow.sklearn.save_model(model, folder, serialization_format=serialization,
                                  pip_requirements=["scikit-learn"])  # fmt: skip
        ours, kind = _child._load(folder)
        theirs = mlflow.sklearn.load_model(str(folder))
        assert kind == "sklearn"
        np.testing.assert_array_equal(ours.predict_proba(x), theirs.predict_proba(x))
        folders.append(str(folder))
    # in a fresh interpreter, as the model's process runs: MLflow is never imported
    probe = (
        "import sys; from pathlib import Path; from hokusai_action.measure import _child\n"
        f"for folder in {folders!r}: _child._load(Path(folder))\n"
        "print('mlflow' in sys.modules)"
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


def test_starting_another_plans_model_first_stops_the_one_started_ahead(repo: Repo) -> None:
    """No two models' processes at once: one model's code could meddle with the other's
    measurement (its copy, its outputs, its stdin)."""
    ahead, other = repo.plan("logistic"), repo.plan("stump", "0.5", target="target")
    other = dataclasses.replace(other, manifest=str(Path(other.manifest).with_name("o.yaml")))
    warm = Warm([ahead, other], Decision().measuring)
    running = warm._running
    assert running is not None
    assert running.key[0] == str(ahead.manifest)
    assert warm.take(other) is None  # asked for another plan's model: the first is stopped
    assert running.process.process is None
    assert running.process.workdir is None
    warm.close()


def test_data_read_ahead_is_used_only_for_the_records_label_column_and_bytes(tmp_path: Path):
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    ahead = Dataset(frame[["x"]], frame["y"].to_numpy(), "ab" * 32, 2, "y", tmp_path / "d.csv")
    assert ahead.is_for(tmp_path / "d.csv", "y", None)
    assert ahead.is_for(tmp_path / "elsewhere.csv", "y", "AB" * 32)  # the bytes, by hash
    assert not ahead.is_for(tmp_path / "d.csv", "x", None)  # another label column
    assert not ahead.is_for(tmp_path / "d.csv", "y", "cd" * 32)  # other bytes
    assert not ahead.is_for(tmp_path / "other.csv", "y", None)  # another file, no hash


def test_a_measurement_started_ahead_reads_the_data_once(
    repo: Repo, registry: MlflowRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(repo.plan("stump"), registry, Decision())
    import hokusai_action.measure as measuring

    reads = []
    original = measuring.read_data
    monkeypatch.setattr(measuring, "read_data", lambda *a: reads.append(a) or original(*a))
    p = repo.plan("logistic")
    with warmed([p], Decision()) as decision:
        report = compare(p, registry, decision)
    assert report.plan.measured is not None
    assert len(reads) == 1  # read ahead, and used


def test_a_column_named_like_a_file_method_is_measured_as_data(
    measured_models: dict[str, object], tmp_path: Path
) -> None:
    x = pd.DataFrame({"read": [0.1, 0.9, 0.4], "seek": [1.0, 0.0, 1.0], "label": [0, 1, 0]})
    x.to_csv(tmp_path / "data.csv", index=False)
    from sklearn.tree import DecisionTreeClassifier

    model = DecisionTreeClassifier(random_state=0).fit(x[["read", "seek"]], x["label"])
    mlflow.sklearn.save_model(model, tmp_path / "model", serialization_format="cloudpickle",
                              pip_requirements=["scikit-learn"])  # fmt: skip
    found = measure(tmp_path / "model", tmp_path / "data.csv", "label", ["accuracy"])
    assert found.values["accuracy"] == 1.0


HOLDS_STDIN = """
import os, subprocess
import mlflow
from mlflow.pyfunc import PythonModel


class HoldsStdin(PythonModel):
    def load_context(self, context):
        # a process of its own session keeps our stdin open and never reads it; we vanish
        subprocess.Popen(["sleep", "301.5"], start_new_session=True)
        os._exit(0)

    def predict(self, context, model_input, params=None):
        return [0] * len(model_input)


mlflow.models.set_model(HoldsStdin())
"""


@pytest.mark.filterwarnings("ignore:.*type hints:UserWarning")  # the hostile model's own
def test_a_model_that_holds_its_stdin_and_never_reads_cannot_hang_the_run(tmp_path: Path):
    (tmp_path / "holds.py").write_text(textwrap.dedent(HOLDS_STDIN))
    mlflow.pyfunc.save_model(tmp_path / "model", python_model=str(tmp_path / "holds.py"),
                             pip_requirements=["mlflow"])  # fmt: skip
    rows = 20_000  # 320 KB of features: more than a pipe holds
    pd.DataFrame({"a": np.arange(rows, dtype=float), "label": np.zeros(rows, dtype=int)}).to_csv(
        tmp_path / "data.csv", index=False
    )
    outcome: list[object] = []

    def run() -> None:
        try:
            measure(tmp_path / "model", tmp_path / "data.csv", "label", ["accuracy"], timeout=60)
        except MeasureError as e:
            outcome.append(e)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        worker.join(timeout=60)
        assert not worker.is_alive(), "measuring hung on a pipe the model holds"
        assert time.monotonic() - started < 30  # the load, then at once (the pipe is held 300 s)
    finally:  # the process the model left behind, beyond its session's reach
        subprocess.run(["pkill", "-KILL", "-f", "sleep 301.5"], check=False)
    assert outcome
    assert "wrote no predictions" in str(outcome[0])


NESTS_DEEP = """
import os
import mlflow
from mlflow.pyfunc import PythonModel


class NestsDeep(PythonModel):
    def load_context(self, context):
        # deeper than Python's recursion limit: a recursive removal of the work folder breaks
        here = os.getcwd()
        for _ in range(1200):
            os.mkdir("d")
            os.chdir("d")
        os.chdir(here)

    def predict(self, context, model_input, params=None):
        return [0] * len(model_input)


mlflow.models.set_model(NestsDeep())
"""


@pytest.mark.filterwarnings("ignore:.*type hints:UserWarning")  # the hostile model's own
def test_a_work_folder_the_model_nests_deep_does_not_break_the_measurement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Its removal failing (RecursionError in a recursive removal) once made `measure` raise
    an internal error: every plan after it went unmeasured."""
    (tmp_path / "deep.py").write_text(textwrap.dedent(NESTS_DEEP))
    mlflow.pyfunc.save_model(tmp_path / "model", python_model=str(tmp_path / "deep.py"),
                             pip_requirements=["mlflow"])  # fmt: skip
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": [0, 0, 1]}).to_csv(
        tmp_path / "data.csv", index=False
    )
    scratch = Path(tempfile.mkdtemp(prefix="hokusai-test-", dir="/tmp"))
    scratch.chmod(0o755)  # the model's user (`nobody` as root) may enter it
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the work folder is made
    try:
        found = measure(tmp_path / "model", tmp_path / "data.csv", "label", ["accuracy"])
        assert found.values["accuracy"] == pytest.approx(2 / 3)
        assert [p.name for p in scratch.iterdir() if p.name.startswith("hokusai-measure-")] == []
    finally:
        subprocess.run(["rm", "-rf", "--", str(scratch)], check=False)
