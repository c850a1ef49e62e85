"""`hokusai-action verify`: a payer re-measures a paid verdict, and every tampering shows.

Real models registered measured (tests/integration/test_measured.py's repository), then the
dataset, a model artifact or a tag tampered with, one at a time.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from hokusai_action.commands.verify import verify
from hokusai_action.registry.deltaone import Outcome
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.settings import RegistrySettings
from tests.support.cli import run_cli
from tests.support.measuring import Repo


@pytest.fixture(scope="module")
def registry(embedded_measuring: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_measuring)


@pytest.fixture(scope="module")
def paid(tmp_path_factory, measured_models, registry: MlflowRegistry) -> Iterator[Repo]:
    """A token whose version 2 (the logistic regression) was paid a DeltaOne over version 1;
    registered once, each test putting back what it tampered with."""
    root = tmp_path_factory.mktemp("verify-repo")
    before = Path.cwd()
    os.chdir(root)
    try:
        repo = Repo(root, measured_models)
        register(repo.plan("stump"), registry, Decision())
        report = register(repo.plan("logistic"), registry, Decision())
        assert report.verdict is not None
        assert report.verdict.outcome is Outcome.DELTAONE
        yield repo
    finally:
        os.chdir(before)


@pytest.fixture
def tags(paid: Repo, registry: MlflowRegistry) -> Iterator[None]:
    """Puts back the versions' value tags a test tampers with."""
    kept = {v: registry.get_version(paid.name, v).tags["benchmark_value"] for v in (1, 2)}  # type: ignore[union-attr]
    yield
    for version, value in kept.items():
        registry.set_version_tags(paid.name, version, {"benchmark_value": value})


def failed(result, what: str) -> list[str]:
    return [c.what for c in result.checks if not c.agrees and what in c.what]


def test_a_tampered_dataset_is_caught(paid, registry):
    data = paid.root / "data" / "holdout.csv"
    honest = data.read_text(encoding="utf-8")
    data.write_text(honest + honest.split("\n", 2)[1] + "\n", encoding="utf-8")  # a row more
    try:
        result = verify(registry, paid.token, root=paid.root)
    finally:
        data.write_text(honest, encoding="utf-8")
    assert not result.agrees
    assert failed(result, "data (sha256)")


def test_a_lowered_baseline_tag_is_caught(paid, registry, tags):
    registry.set_version_tags(paid.name, 1, {"benchmark_value": "0.5"})
    result = verify(registry, paid.token, root=paid.root)
    assert not result.agrees
    assert failed(result, f"{paid.name} v1")


def test_a_swapped_model_artifact_is_caught_and_the_verdict_no_longer_stands(paid, registry):
    version = registry.get_version(paid.name, 2)
    assert version is not None
    run = registry.client.get_run(version.run_id)
    stored = Path(urlparse(run.info.artifact_uri).path) / "model"
    honest = stored.with_name("honest-model")
    stored.rename(honest)
    shutil.copytree(paid.trained["stump"], stored)  # the paid version now holds the stump
    try:
        result = verify(registry, paid.token, root=paid.root)
    finally:
        shutil.rmtree(stored)
        honest.rename(stored)
    assert not result.agrees
    assert failed(result, "model files")
    assert result.verdict_now != "deltaone"
    assert not result.verdict_stands


def test_an_honest_deltaone_agrees_value_by_value_and_a_raised_value_tag_exits_1(
    paid, registry, tags
):
    uri = registry.settings.tracking_uri
    ok = run_cli("verify", paid.token, "--tracking-uri", uri, "--format", "json", cwd=paid.root)
    assert ok.returncode == 0, ok.stderr
    honest = json.loads(ok.stdout)
    assert (honest["model_name"], honest["version"]) == (paid.name, 2)  # the newest DeltaOne
    assert honest["verdict_recorded"] == honest["verdict_now"] == "deltaone"
    assert any(" v1 " in c["what"] for c in honest["checks"])  # the baseline re-measured too
    assert all(c["agrees"] for c in honest["checks"])
    registry.set_version_tags(paid.name, 2, {"benchmark_value": "0.999"})
    bad = run_cli("verify", paid.token, "--tracking-uri", uri, cwd=paid.root)
    assert bad.returncode == 1
    assert "DISAGREE" in bad.stdout
    assert "(benchmark_value): recorded 0.999" in bad.stdout
    assert "Traceback" not in bad.stderr
