"""Measuring runs the model in a child process that sees the features only, none of our
secrets, and (as root) runs as `nobody`; what it returns is checked before it is scored.

Real models: scikit-learn models trained here on scikit-learn's bundled data sets and saved
with mlflow.sklearn, the house-prices example's ONNX model, and one hostile PythonModel
(MLflow's models-from-code) whose behaviour a `mode` feature column picks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hokusai_action.measure import MeasureError, Measurement, measure
from hokusai_action.measure.sandbox import _needed_paths, child_identity, unreachable
from hokusai_action.registry.plan import hash_model_files
from tests.conftest import PROJECT
from tests.support.build_models import load_build_models

WHO = child_identity()
BLOCKED = next((p for p in _needed_paths() if WHO and unreachable(p, WHO)), None)
pytestmark = pytest.mark.skipif(
    BLOCKED is not None,
    reason=f"run as root from an interpreter that `nobody` cannot read ({BLOCKED}): "
    "measuring refuses to start the model there (test_sandbox_reachability proves the "
    "message); run these from a venv made by an interpreter every user can read, e.g. "
    "/usr/bin/python3 -m venv",
)


def _landlock_abi() -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return int(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


LANDLOCK = sys.platform.startswith("linux") and _landlock_abi() >= 1
SECRETS = {
    "HOKUSAI_API_KEY": "hk-secret-value-1",
    "INPUT_GITHUB-TOKEN": "ghs_secretvalue2",
    "MLFLOW_TRACKING_TOKEN": "mlflow-secret-3",
    "GITHUB_TOKEN": "ghs_secretvalue4",
}
NO_PIP_INFERENCE = ["scikit-learn", "cloudpickle"]  # explicit: MLflow then runs no inference

HOSTILE = """
import json, os, subprocess, time
import pandas as pd
import mlflow
from mlflow.pyfunc import PythonModel


def _read(path):
    try:
        with open(path, "rb") as f:
            return "read: " + f.read(4096).decode("utf-8", "replace")
    except OSError as e:
        return "denied: " + type(e).__name__


class Hostile(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None):
        mode = str(model_input["mode"].iloc[0])
        rows = len(model_input)
        if mode == "report":
            report = {
                "uid": os.getuid(),
                "columns": [str(c) for c in model_input.columns],
                "environ": _read("/proc/self/environ"),
                "parent_environ": _read(f"/proc/{os.getppid()}/environ"),
                "probe": _read(str(model_input["probe"].iloc[0])),
                "open_probe": _read(str(model_input["open_probe"].iloc[0])),
            }
            return [json.dumps(report)] * rows
        if mode == "hang":
            subprocess.Popen(["sleep", "3597"])
            time.sleep(3600)
        if mode == "rows":
            return [1] * (rows - 1)
        if mode == "objects":
            return [{"label": 1}] * rows
        return [1] * rows


mlflow.models.set_model(Hostile())
"""
NEEDS_MISSING = """
import pandas as pd

import mlflow
from mlflow.pyfunc import PythonModel


class NeedsMissing(PythonModel):
    def load_context(self, context):
        import hokusai_missing_package_xyz  # noqa: F401

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return [0] * len(model_input)


mlflow.models.set_model(NeedsMissing())
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Made once for the module: a classifier and the two PythonModels."""
    root = tmp_path_factory.mktemp("measure-models")
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    classifier.fit(x[:300], y[:300])
    mlflow.sklearn.save_model(classifier, root / "classifier", pip_requirements=NO_PIP_INFERENCE)
    for name, code in (("hostile", HOSTILE), ("needs-missing", NEEDS_MISSING)):
        (root / f"{name}.py").write_text(textwrap.dedent(code))
        mlflow.pyfunc.save_model(root / name, python_model=str(root / f"{name}.py"),
                                 pip_requirements=["mlflow"])  # fmt: skip
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("measure-data")
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    cancer = x[300:].assign(label=y[300:])
    cancer.to_csv(root / "cancer.csv", index=False)
    cancer.to_parquet(root / "cancer.parquet", index=False)
    with (root / "cancer.jsonl").open("w") as out:
        for record in cancer.to_dict(orient="records"):
            out.write(json.dumps(record) + "\n")
    build = load_build_models()
    _, _, test_x, test_y = build.house_data()
    with (root / "houses.jsonl").open("w") as out:
        houses = build.as_frame(test_x).assign(price=test_y.astype(np.float64))
        for record in houses.to_dict(orient="records"):
            out.write(json.dumps(record) + "\n")
    # A file only its owner may read, in a folder every user can search (pytest's tmp_path
    # is not: its parent is 0700, and that alone would keep `nobody` out).
    secret = Path(tempfile.mkdtemp(prefix="hokusai-test-")) / "owner-only.txt"
    secret.parent.chmod(0o755)
    secret.write_text("the owner's secret")
    secret.chmod(0o600)
    # ...and one every user may read, as a checked-out repository's data is: only the kernel's
    # confinement (Landlock) keeps the model from it.
    labels = secret.parent / "labels.csv"
    labels.write_text("label\n1\n0\n")
    labels.chmod(0o644)
    for mode in ("report", "hang", "rows", "objects"):
        frame = pd.DataFrame({"mode": [mode] * 5, "probe": [str(secret)] * 5,
                              "open_probe": [str(labels)] * 5,
                              "label": [1, 0, 1, 0, 1]})  # fmt: skip
        frame.to_parquet(root / f"{mode}.parquet", index=False)
    yield root
    shutil.rmtree(secret.parent)


ONNX_MODEL = PROJECT / "examples" / "house-prices" / "models" / "regressor"
# Each case: (model, data, target, metrics, timeout). Run concurrently, once for the module:
# each is a child process of its own, and most of their time is MLflow's import.
CASES = {
    "classifier": ("classifier", "cancer.csv", "label", ["accuracy", "auroc", "f1_score",
                                                         "bleu_score"], 600),
    "classifier-parquet": ("classifier", "cancer.parquet", "label", ["accuracy", "auroc"], 600),
    "classifier-jsonl": ("classifier", "cancer.jsonl", "label", ["accuracy", "auroc"], 600),
    "onnx": (ONNX_MODEL, "houses.jsonl", "price", ["rmse", "auroc"], 600),
    "report": ("hostile", "report.parquet", "label", ["accuracy"], 600),
    "missing": ("needs-missing", "rows.parquet", "label", ["accuracy"], 600),
    "hang": ("hostile", "hang.parquet", "label", ["accuracy"], 5),
    "rows": ("hostile", "rows.parquet", "label", ["accuracy"], 600),
    "objects": ("hostile", "objects.parquet", "label", ["accuracy"], 600),
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(models: Path, data: Path) -> dict[str, Measurement | MeasureError]:
    """Every case's Measurement or MeasureError, measured with our secrets in the environment."""

    def run(case: tuple) -> Measurement | MeasureError:
        model, file, target, names, timeout = case
        try:
            return measure(models / model, data / file, target, names, timeout=timeout)
        except MeasureError as e:
            return e

    with pytest.MonkeyPatch.context() as patch:
        for name, value in SECRETS.items():
            patch.setenv(name, value)
        with ThreadPoolExecutor(max_workers=4) as pool:
            return dict(zip(CASES, pool.map(run, CASES.values()), strict=True))


def _measured(runs: dict, case: str) -> Measurement:
    outcome = runs[case]
    assert isinstance(outcome, Measurement), str(outcome)
    return outcome


def _refused(runs: dict, case: str) -> str:
    outcome = runs[case]
    assert isinstance(outcome, MeasureError), f"{case} was measured: {outcome}"
    return str(outcome)


def test_a_classifiers_accuracy_and_auroc_equal_scikit_learns(runs, models, data):
    result = _measured(runs, "classifier")
    model = mlflow.sklearn.load_model(str(models / "classifier"))
    holdout = pd.read_csv(data / "cancer.csv")
    x, y = holdout.drop(columns=["label"]), holdout["label"].to_numpy()
    assert result.values["accuracy"] == metrics.accuracy_score(y, model.predict(x))
    assert result.values["auroc"] == metrics.roc_auc_score(y, model.predict_proba(x)[:, 1])
    assert result.values["f1_score"] == metrics.f1_score(y, model.predict(x))
    assert "offline" in result.unmeasured["bleu_score"]
    assert result.rows == len(holdout)
    np.testing.assert_array_equal(result.predictions.labels, model.predict(x))
    assert result.predictions.classes.tolist() == [0, 1]
    assert result.model_sha256 == hash_model_files(models / "classifier").sha256
    assert set(result.packages) >= {"python", "mlflow", "scikit-learn", "numpy", "pandas"}


def test_csv_parquet_and_json_lines_give_the_same_values(runs):
    csv = _measured(runs, "classifier")
    for case in ("classifier-parquet", "classifier-jsonl"):
        other = _measured(runs, case)
        assert other.values == {k: csv.values[k] for k in ("accuracy", "auroc")}
        assert other.dataset_sha256 != csv.dataset_sha256  # other bytes, the same table


def test_an_onnx_regressors_rmse_equals_scikit_learns_on_its_runtimes_predictions(runs, data):
    import onnxruntime

    result = _measured(runs, "onnx")
    lines = (data / "houses.jsonl").read_text().splitlines()
    houses = pd.DataFrame.from_records([json.loads(line) for line in lines])
    session = onnxruntime.InferenceSession(str(ONNX_MODEL / "model.onnx"))
    features = houses.drop(columns=["price"]).to_numpy().astype(np.float32)
    predicted = session.run(None, {session.get_inputs()[0].name: features})[0].ravel()
    expected = metrics.root_mean_squared_error(houses["price"], predicted)
    assert result.values["rmse"] == expected
    assert result.unmeasured["auroc"] == "the model gives no probabilities (predict_proba)"
    assert result.packages["onnxruntime"] == onnxruntime.__version__


def test_the_child_sees_no_labels_no_secrets_and_runs_as_nobody(runs):
    result = _measured(runs, "report")
    text = str(result.predictions.labels[0])
    report = json.loads(text)
    assert report["columns"] == ["mode", "probe", "open_probe"]  # never the target column
    environ = report["environ"].removeprefix("read: ").rstrip("\0").split("\0")
    assert sorted(v.split("=", 1)[0] for v in environ) == ["HOME", "LANG", "PATH", "TMPDIR"]
    for value in SECRETS.values():
        assert value not in text
    if os.geteuid() == 0:
        assert report["uid"] == WHO.uid
        assert report["parent_environ"] == "denied: PermissionError"
        assert report["probe"] == "denied: PermissionError"  # a file only root may read
    if LANDLOCK:
        assert result.confinement.startswith("landlock ABI")
        assert report["open_probe"] == "denied: PermissionError"  # readable by all, yet denied
    else:
        assert result.confinement.startswith("none: ")


def test_a_missing_module_names_the_package_and_the_env_manager(runs):
    message = _refused(runs, "missing")
    assert "needs the Python package `hokusai_missing_package_xyz`" in message
    assert "--env-manager uv" in message
    assert "the model's own requirements.txt" in message  # what --env-manager uv installs
    assert "Traceback" not in message


def _sleepers() -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes() == b"sleep\x003597\x00":
                found.append(proc.name)
        except OSError:
            continue
    return found


def test_a_model_that_hangs_is_killed_at_the_timeout(runs):
    assert "did not finish predicting on 5 rows in 5 s: it was stopped" in _refused(runs, "hang")
    assert _sleepers() == []  # what it started in its session is gone too


@pytest.mark.parametrize(
    ("case", "message"),
    [("rows", "4 predictions for 5 rows"), ("objects", "not one number or string per row")],
)
def test_output_that_is_not_one_plain_value_per_row_is_refused(runs, case, message):
    assert message in _refused(runs, case)


def test_a_data_hash_mismatch_is_refused_before_the_model_runs(models, data):
    with pytest.raises(MeasureError, match="but the benchmark's dataset is " + "0" * 64):
        measure(models / "hostile", data / "hang.parquet", "label", ["accuracy"],
                expected_data_sha256="0" * 64)  # fmt: skip


UNDUMPABLE = """
import subprocess, sys
from hokusai_action.measure.sandbox import _undumpable
if sys.argv[1] == "undumpable":
    _undumpable()
probe = "import os\\ntry:\\n print(open(f'/proc/{os.getppid()}/environ').read())\\n"
probe += "except OSError as e:\\n print('denied', type(e).__name__)"
print(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout)
"""


@pytest.mark.parametrize("mode", ["undumpable", "dumpable"])
def test_not_root_the_parent_is_undumpable_so_a_same_user_child_cannot_read_its_environ(mode):
    """As a user other than root, the model runs as that same user: the parent's prctl is
    what keeps the model from reading /proc/<parent>/environ. The dumpable run is the control."""
    identity = {} if WHO is None else {"user": WHO.uid, "group": WHO.gid, "extra_groups": []}
    result = subprocess.run(
        [sys.executable, "-c", UNDUMPABLE, mode], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "HOKUSAI_API_KEY": "hk-secret-value-9"}, cwd="/",
        **identity,
    )  # fmt: skip
    if mode == "undumpable":
        assert result.stdout.strip() == "denied PermissionError"
    else:
        assert "hk-secret-value-9" in result.stdout


@pytest.mark.skipif(WHO is None, reason="as root only: the model then runs as nobody")
def test_a_work_folder_nobody_cannot_reach_is_refused_before_the_model_runs(
    models, data, tmp_path, monkeypatch
):
    private = tmp_path / "private-tmp"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # as TMPDIR=private would
    with pytest.raises(MeasureError, match=r"set TMPDIR to a folder every user can (search|enter)"):
        measure(models / "classifier", data / "cancer.csv", "label", ["accuracy"])
    assert [p.name for p in private.iterdir()] == []  # its work folder removed


def test_a_folder_that_is_not_an_mlflow_model_is_refused(data, tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"not a model")
    with pytest.raises(MeasureError, match="not an MLflow model directory"):
        measure(tmp_path, data / "cancer.csv", "label", ["accuracy"])
