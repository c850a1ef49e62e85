"""A model repository whose benchmark is measured: real scikit-learn models saved with
MLflow, and a holdout CSV (issue 15's tests)."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from hokusai_action.registry.plan import Plan, plan
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options

TARGET = "label"


def claimed(manifest: str) -> str:
    """The example's manifest with claimed values, as before hokusai-action measured them:
    these tests are about the action and GitHub, and a test changes a claim to stand for a
    retrained model (test_measured.py and tests/container measure)."""
    manifest = re.sub(r"^    target: \S+\n", "", manifest, flags=re.M)
    if not re.search(r"^  (value|value_from):", manifest, re.M):  # sentiment: measured only
        manifest = manifest.replace("  metric: f1_score\n", "  metric: f1_score\n  value: 0.8844\n")
    return manifest


def train(root: Path) -> dict[str, object]:
    """Two real classifiers saved with mlflow.sklearn (a stump and a scaled logistic
    regression), the holdout as CSV, and each model's accuracy on it per scikit-learn."""
    import mlflow.sklearn

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": TARGET})
    train_rows, holdout = frame.iloc[:400], frame.iloc[400:]
    x, y = train_rows.drop(columns=[TARGET]), train_rows[TARGET]
    models = {
        "stump": DecisionTreeClassifier(max_depth=1, random_state=0).fit(x, y),
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y),
    }
    out: dict[str, object] = {"holdout": root / "holdout.csv"}
    holdout.to_csv(root / "holdout.csv", index=False)
    hx, hy = holdout.drop(columns=[TARGET]), holdout[TARGET]
    for name, model in models.items():
        mlflow.sklearn.save_model(  # requirements given: MLflow infers none (a slow subprocess)
            model,
            root / name,
            serialization_format="cloudpickle",
            pip_requirements=["scikit-learn"],
        )
        out[name] = root / name
        out[f"{name}-accuracy"] = accuracy_score(hy, model.predict(hx))
    return out


class Repo:
    """A model repository with the holdout in `data/holdout.csv`."""

    def __init__(self, root: Path, trained: dict[str, object]) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.root, self.trained = root, trained
        self.name, self.token = f"measured-{suffix}", f"MEAS-{suffix.upper()}"
        (root / ".git").mkdir(exist_ok=True)
        (root / "data").mkdir(exist_ok=True)
        shutil.copy(trained["holdout"], root / "data" / "holdout.csv")  # type: ignore[arg-type]

    def plan(self, model: str, value: object = None, target: str = TARGET,
             dataset: str | None = None) -> Plan:  # fmt: skip
        folder = self.root / "model"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.trained[model], folder)  # type: ignore[arg-type]
        claim = "" if value is None else f"  value: {value}\n"
        dataset = dataset or f"{{name: holdout, path: data/holdout.csv, target: {target}}}"
        text = (
            f"version: 1\nmodel:\n  name: {self.name}\n  token_id: {self.token}\n"
            f"  path: model\n  flavor: sklearn\nbenchmark:\n  metric: accuracy\n{claim}"
            f"  dataset: {dataset}\n"
        )
        (self.root / "hokusai.yaml").write_text(text, encoding="utf-8")
        result, manifests = check_paths([self.root / "hokusai.yaml"], Options(registering=True))
        assert result.valid, result.problems
        return plan(manifests[0], None)

    def accuracy(self, model: str) -> float:
        return float(self.trained[f"{model}-accuracy"])  # type: ignore[arg-type]


def copy_claimed(example: Path, to: Path) -> Path:
    """A copy of a shipped example whose manifest claims its value (see claimed())."""
    shutil.copytree(example, to)
    manifest = to / "hokusai.yaml"
    manifest.write_text(claimed(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    return to
