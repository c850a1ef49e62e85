"""`hokusai-action verify`: a payer re-measures a paid verdict, and every tampering shows.

Real models registered measured (tests/integration/test_measured.py's repository), then the
dataset, a model artifact or a tag tampered with, one at a time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from hokusai_action.commands.verify import verify
from hokusai_action.registry.deltaone import Outcome
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from tests.support.cli import run_cli
from tests.support.measuring import Repo, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return train(tmp_path_factory.mktemp("verify-models"))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    root = tmp_path_factory.mktemp("verify-registry")
    (root / ".git").mkdir()
    return resolve_settings(None, env={}, cwd=root)


@pytest.fixture
def registry(embedded: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded)


@pytest.fixture
def paid(tmp_path: Path, trained, registry: MlflowRegistry, monkeypatch) -> Repo:
    """A token whose version 2 (the logistic regression) was paid a DeltaOne over version 1."""
    monkeypatch.chdir(tmp_path)
    repo = Repo(tmp_path, trained)
    register(repo.plan("stump"), registry, Decision())
    report = register(repo.plan("logistic"), registry, Decision())
    assert report.verdict is not None
    assert report.verdict.outcome is Outcome.DELTAONE
    return repo


def failed(result, what: str) -> list[str]:
    return [c.what for c in result.checks if not c.agrees and what in c.what]


def test_an_honest_deltaone_is_verified_value_by_value(paid, registry):
    result = verify(registry, paid.token, root=paid.root)
    assert (result.model_name, result.version) == (paid.name, 2)  # the newest DeltaOne
    assert result.agrees, result.checks
    assert result.verdict_recorded == result.verdict_now == "deltaone"
    assert any("v1" in c.what for c in result.checks)  # the baseline was re-measured too


def test_a_tampered_dataset_is_caught(paid, registry):
    data = paid.root / "data" / "holdout.csv"
    data.write_text(data.read_text(encoding="utf-8") + data.read_text(encoding="utf-8").split(
        "\n", 2)[1] + "\n", encoding="utf-8")  # fmt: skip
    result = verify(registry, paid.token, root=paid.root)
    assert not result.agrees
    assert failed(result, "data (sha256)")


def test_a_tampered_value_tag_is_caught(paid, registry):
    registry.set_version_tags(paid.name, 2, {"benchmark_value": "0.999"})
    result = verify(registry, paid.token, root=paid.root)
    assert not result.agrees
    assert failed(result, "(benchmark_value)")


def test_a_lowered_baseline_tag_is_caught(paid, registry):
    registry.set_version_tags(paid.name, 1, {"benchmark_value": "0.5"})
    result = verify(registry, paid.token, root=paid.root)
    assert not result.agrees
    assert failed(result, f"{paid.name} v1")


def test_a_swapped_model_artifact_is_caught_and_the_verdict_no_longer_stands(paid, registry):
    version = registry.get_version(paid.name, 2)
    assert version is not None
    run = registry.client.get_run(version.run_id)
    stored = Path(urlparse(run.info.artifact_uri).path) / "model"
    shutil.rmtree(stored)
    shutil.copytree(paid.trained["stump"], stored)  # the paid version now holds the stump
    result = verify(registry, paid.token, root=paid.root)
    assert not result.agrees
    assert failed(result, "model files")
    assert result.verdict_now != "deltaone"
    assert not result.verdict_stands


def test_verify_on_the_command_line_exits_1_on_disagreement_with_json(paid, registry):
    uri = registry.settings.tracking_uri
    ok = run_cli("verify", paid.token, "--tracking-uri", uri, "--format", "json", cwd=paid.root)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict_stands"] is True
    registry.set_version_tags(paid.name, 2, {"benchmark_value": "0.999"})
    bad = run_cli("verify", paid.token, "--tracking-uri", uri, cwd=paid.root)
    assert bad.returncode == 1
    assert "DISAGREE" in bad.stdout
    assert "Traceback" not in bad.stderr
