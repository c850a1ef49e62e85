"""What `register` uploads: never the repository root, never a FIFO (which would hang it), and
a bare file only when the manifest says it is plain files (`flavor: file`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.plan import plan
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.settings import RegistrySettings
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
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


@pytest.mark.parametrize("flavor", ["sklearn", "file"])
def test_a_bare_file_registers_only_as_flavor_file(
    server_settings: RegistrySettings, tmp_path: Path, unique: str, flavor: str
):
    import mlflow
    import mlflow.artifacts

    name = f"bare-{unique.lower()}"
    (tmp_path / ".git").mkdir()
    (tmp_path / "model.pkl").write_bytes(b"weights")
    (tmp_path / "hokusai.yaml").write_text(
        ROOT_MANIFEST.replace("whole-repository", name)
        .replace("ROOT-001", f"BARE-{unique}")
        .replace("path: .", f"path: model.pkl\n  flavor: {flavor}")
    )
    result, manifests = check_paths([tmp_path / "hokusai.yaml"], Options(registering=True))
    if flavor != "file":  # it would register, then fail to load as an sklearn model
        assert not result.valid
        assert [p.rule for p in result.problems] == ["model-not-mlflow"]
        return
    assert result.valid, result.problems
    report = register(plan(manifests[0], None), MlflowRegistry(server_settings), Decision())
    assert report.version is not None
    mlflow.set_tracking_uri(server_settings.tracking_uri)
    mlflow.set_registry_uri(server_settings.tracking_uri)
    local = mlflow.artifacts.download_artifacts(
        f"models:/{name}/{report.version}", dst_path=str(tmp_path / "back")
    )
    assert (Path(local) / "model.pkl").read_bytes() == b"weights"
