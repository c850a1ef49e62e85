"""`hokusai-action init`: a starter manifest from what is detected, flags or prompts."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.cli import run_cli

MLMODEL = (
    "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
    "  sklearn:\n    sklearn_version: 1.5.0\n"
)


def project(tmp_path: Path) -> Path:
    """A model folder as training leaves it: an MLflow model and its metrics beside it."""
    (tmp_path / ".git").mkdir()
    folder = tmp_path / "churn-model"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "MLmodel").write_text(MLMODEL)
    (folder / "eval_metrics.json").write_text('{"test": {"loss": 0.3, "acc": 0.91}}')
    return folder


def test_init_detects_the_model_and_its_metrics_and_writes_a_valid_manifest(tmp_path):
    folder = project(tmp_path)
    result = run_cli("init", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 manifest valid" in result.stdout
    text = (folder / "hokusai.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    data = yaml.safe_load(text)
    assert data["model"] == {
        "name": "churn-model", "token_id": "CHURN-MODEL", "path": "model", "flavor": "sklearn",
    }  # fmt: skip
    # an alias in the metrics file is found, and the canonical metric written
    assert data["benchmark"] == {
        "metric": "accuracy", "value_from": {"file": "eval_metrics.json", "key": "test.acc"},
    }  # fmt: skip


def test_init_never_overwrites_without_force(tmp_path):
    folder = project(tmp_path)
    (folder / "hokusai.yaml").write_text("# mine\n")
    refused = run_cli("init", str(folder), cwd=tmp_path)
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert (folder / "hokusai.yaml").read_text() == "# mine\n"
    forced = run_cli("init", str(folder), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "token_id: CHURN-MODEL" in (folder / "hokusai.yaml").read_text()


def test_init_with_flags_only_where_nothing_is_detected(tmp_path):
    (tmp_path / ".git").mkdir()
    result = run_cli(
        "init", "--name", "house-prices", "--token", "HOUSE-01", "--path", "model.onnx",
        "--metric", "rmse", "--value", "24000", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "does not exist" in result.stdout  # the model comes later: a warning, not an error
    data = yaml.safe_load((tmp_path / "hokusai.yaml").read_text())
    assert data["benchmark"] == {"metric": "rmse", "value": 24000.0}


def test_init_without_a_terminal_names_the_flags_it_needs(tmp_path):
    (tmp_path / ".git").mkdir()
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "--path, --metric, --value" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "hokusai.yaml").exists()


def test_init_asks_on_a_terminal(tmp_path):
    (tmp_path / ".git").mkdir()
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HOKUSAI_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "hokusai_action", "init"],
        cwd=tmp_path, stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**env, "NO_COLOR": "1"},
    )  # fmt: skip
    os.close(secondary)
    # name and token: the defaults; then the path, the metric and the value
    os.write(primary, b"\n\nmodel.pkl\nf1\n0.87\n")
    out, err = process.communicate(timeout=60)
    os.close(primary)
    assert process.returncode == 0, out.decode() + err.decode()
    data = yaml.safe_load((tmp_path / "hokusai.yaml").read_text())
    assert data["model"]["path"] == "model.pkl"
    assert data["benchmark"] == {"metric": "f1_score", "value": 0.87}  # the alias, canonical
    assert data["model"]["token_id"] == data["model"]["name"].upper()
