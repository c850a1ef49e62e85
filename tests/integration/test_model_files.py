"""What `register` uploads: never the repository root, and never a FIFO (which would hang it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.settings import RegistrySettings
from tests.support.cli import run_cli
from tests.support.fifo import without_hanging

ROOT_MANIFEST = """\
version: 1
model:
  name: whole-repository
  token_id: ROOT-001
  path: .
benchmark:
  metric: accuracy
  value: 0.9
"""


def test_register_refuses_the_repository_root_and_writes_nothing(tmp_path: Path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "hokusai.yaml").write_text(ROOT_MANIFEST)
    (tmp_path / "model.pkl").write_bytes(b"weights")
    result = run_cli("register", "hokusai.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    output = result.stdout + result.stderr
    assert "hokusai.yaml:5:9" in output
    assert "[path-root]" in output
    assert "Traceback" not in output
    assert not (tmp_path / ".hokusai" / "artifacts").exists()


def test_upload_refuses_a_fifo_swapped_in_after_hashing(
    server_settings: RegistrySettings, tmp_path: Path, unique: str
):
    registry = MlflowRegistry(server_settings)
    experiment = registry.ensure_experiment(f"fifo-{unique}")
    run_id = registry.create_run(experiment, "fifo", {})
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    fifo = model / "weights.bin"
    os.mkfifo(fifo)
    with pytest.raises(HokusaiError, match=r"holds `weights\.bin`, which is a FIFO"):
        without_hanging([fifo], lambda: registry.log_model_files(run_id, model, "model"))
