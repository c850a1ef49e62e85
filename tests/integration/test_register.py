"""Registration and comparison against a real `mlflow server` (no mocks of MLflow).

The tests marked `on_both_backends` run against a SQLite-backed server and against a
PostgreSQL-backed one (the production registry's backend): the same registrations, the same
verdicts, the same tag searches.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import mlflow.artifacts
import mlflow.pyfunc
import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.errors import HokusaiError
from hokusai_action.registry.attestation import digest
from hokusai_action.registry.deltaone import Outcome, Rule, Verdict
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.plan import plan
from hokusai_action.registry.register import (
    ATTESTATION_ARTIFACT,
    Decision,
    Promote,
    compare,
    register,
)
from hokusai_action.registry.results import Report, Status
from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.integration.conftest import Server, on_both_backends


class Workspace:
    """A repository with one manifest whose fields the test changes between registrations."""

    def __init__(self, root: Path, name: str, token: str) -> None:
        self.root, self.name, self.token = root, name, token
        (root / ".git").mkdir(exist_ok=True)
        (root / "model.pkl").write_bytes(b"weights v1")

    def plan(
        self, value: float = 0.90, metric: str = "accuracy", extra: str = "",
        commit: str | None = "a" * 40, benchmark_extra: str = "", weights: bytes | None = None,
    ):  # fmt: skip
        """A model trained to `value` (files of its own: one model is rewarded once)."""
        (self.root / "model.pkl").write_bytes(weights or f"weights {value}".encode())
        (self.root / "hokusai.yaml").write_text(
            f"version: 1\nmodel:\n  name: {self.name}\n  token_id: {self.token}\n"
            f"  path: model.pkl\n{extra}benchmark:\n  metric: {metric}\n  value: {value}\n"
            "  dataset: {name: holdout, samples: 5000}\n" + benchmark_extra,
            encoding="utf-8",
        )
        result, manifests = check_paths([self.root / "hokusai.yaml"], Options())
        assert result.valid, result.problems
        return plan(manifests[0], commit)


@pytest.fixture
def registry(server_settings: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(server_settings)


@pytest.fixture
def ws(tmp_path: Path, unique: str) -> Workspace:
    return Workspace(tmp_path, f"churn-{unique.lower()}", f"CHURN-{unique}")


DECISION = Decision()


def verdict(report: Report) -> Verdict:
    assert report.verdict is not None
    return report.verdict


def baseline_version(report: Report) -> int | None:
    baseline = verdict(report).baseline
    assert baseline is not None
    return baseline.version


@on_both_backends
def test_first_registration_becomes_champion_with_hokusai_tags(ws, registry):
    report = register(ws.plan(0.90), registry, DECISION)
    assert report.status is Status.REGISTERED
    assert report.version == 1
    assert verdict(report).outcome is Outcome.FIRST
    assert report.aliases == ["champion"]
    record = registry.get_version(ws.name, 1)
    assert record is not None
    assert record.tags["hokusai_token_id"] == ws.token
    assert record.tags["benchmark_metric"] == "accuracy"
    assert record.tags["benchmark_value"] == "0.9"
    assert record.tags["deltaone_achieved"] == "false"
    assert record.tags["baseline_version"] == "none"
    assert record.aliases == ("champion",)
    assert record.run_id == report.run_id
    run = registry.client.get_run(report.run_id)
    assert run.data.tags["hokusai_token_id"] == ws.token  # the seed's Option B readers
    assert run.data.metrics["accuracy"] == 0.9


def test_the_postgres_backed_server_keeps_the_registry_in_postgresql(
    postgres_mlflow_server: Server, tmp_path, unique
):
    """What the `on_both_backends` tests rely on: the second server's registry is PostgreSQL."""
    import psycopg2

    registry = MlflowRegistry(resolve_settings(postgres_mlflow_server.uri, env={}))
    ws = Workspace(tmp_path, f"pg-{unique.lower()}", f"PG-{unique}")
    register(ws.plan(0.90), registry, DECISION)
    connection = psycopg2.connect(postgres_mlflow_server.store.replace("+psycopg2", "", 1))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version FROM model_versions WHERE name = %s", (ws.name,))
            assert cursor.fetchall() == [(1,)]
    finally:
        connection.close()


@on_both_backends
def test_improvement_of_one_point_is_deltaone_and_becomes_challenger(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    report = register(ws.plan(0.912), registry, DECISION)
    verdict = report.verdict
    assert verdict is not None
    assert (verdict.outcome, verdict.rule, verdict.baseline.version) == (
        Outcome.DELTAONE,
        Rule.POINTS,
        1,
    )  # type: ignore[union-attr]
    assert report.aliases == ["challenger"]
    record = registry.get_version(ws.name, 2)
    assert record is not None
    assert record.tags["deltaone_achieved"] == "true"
    assert record.tags["baseline_version"] == "1"
    assert float(record.tags["delta"]) == pytest.approx(0.012)
    assert verdict.ci is not None  # both sides know their sample count


def test_deltaone_policy_champion_moves_the_champion_alias(ws, registry):
    register(ws.plan(0.80), registry, DECISION)
    register(ws.plan(0.85), registry, Decision(promote=Promote.CHAMPION))
    assert registry.aliases_of(ws.name)["champion"] == 2


def test_improvement_below_the_threshold_is_not_deltaone(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    report = register(ws.plan(0.905), registry, DECISION)
    assert verdict(report).outcome is Outcome.BELOW_THRESHOLD
    assert report.aliases == []


def test_regression_is_recorded_as_such(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    report = register(ws.plan(0.85), registry, DECISION)
    assert verdict(report).outcome is Outcome.REGRESSION
    assert registry.get_version(ws.name, 2).tags["hokusai_verdict"] == "regression"  # type: ignore[union-attr]


def test_lower_is_better_metric_uses_the_relative_rule(ws, registry):
    register(ws.plan(25000, metric="rmse"), registry, DECISION)
    better = register(ws.plan(24000, metric="rmse"), registry, DECISION)
    assert better.verdict is not None
    assert (better.verdict.outcome, better.verdict.rule) == (Outcome.DELTAONE, Rule.RELATIVE)
    assert better.verdict.improvement == pytest.approx(0.04)
    slightly = register(ws.plan(23900, metric="rmse"), registry, DECISION)
    assert verdict(slightly).outcome is Outcome.BELOW_THRESHOLD


@on_both_backends
def test_running_register_twice_creates_no_second_version(ws, registry):
    first = register(ws.plan(0.90), registry, DECISION)
    again = register(ws.plan(0.90), registry, DECISION)
    assert again.status is Status.ALREADY_REGISTERED
    assert (again.version, again.run_id, again.attestation_sha256) == (
        first.version,
        first.run_id,
        first.attestation_sha256,
    )
    assert again.aliases == ["champion"]
    assert len(registry.versions_of_model(ws.name)) == 1


def test_an_unchanged_model_at_a_new_commit_is_not_registered_again(ws, registry):
    first = register(ws.plan(0.90, commit="a" * 40), registry, DECISION)
    later = register(ws.plan(0.90, commit="b" * 40), registry, DECISION)
    assert later.status is Status.ALREADY_REGISTERED
    assert later.version == first.version
    assert registry.get_version(ws.name, 1).tags["hokusai_git_commit"] == "a" * 40  # type: ignore[union-attr]


def test_the_same_value_with_a_retrained_model_is_a_new_unchanged_version(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    report = register(ws.plan(0.90, weights=b"weights v2"), registry, DECISION)
    assert report.status is Status.REGISTERED
    assert verdict(report).outcome is Outcome.UNCHANGED


def test_a_run_left_by_a_crash_is_resumed_not_duplicated(ws, registry):
    p = ws.plan(0.90)
    experiment = registry.ensure_experiment(ws.name)
    crashed_run = registry.create_run(experiment, "crashed", p.run_tags)  # died before its version
    report = register(p, registry, DECISION)
    assert report.run_id == crashed_run
    assert any("resumed run" in note for note in report.notes)
    runs = registry.client.search_runs([experiment])
    assert len(runs) == 1


def test_compare_writes_nothing(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    report = compare(ws.plan(0.95), registry, DECISION)
    assert report.status is Status.COMPARED
    assert verdict(report).outcome is Outcome.DELTAONE
    assert report.version is None
    assert len(registry.versions_of_model(ws.name)) == 1


def test_compare_of_the_registered_manifest_says_it_is_registered(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    register(ws.plan(0.92), registry, DECISION)
    report = compare(ws.plan(0.92), registry, DECISION)
    assert report.version == 2
    assert baseline_version(report) == 1


def test_attestation_is_logged_and_its_hash_recomputes(ws, registry, tmp_path):
    register(ws.plan(0.90), registry, DECISION)
    report = register(ws.plan(0.93), registry, DECISION)
    path = registry.client.download_artifacts(report.run_id, ATTESTATION_ARTIFACT, str(tmp_path))
    doc = json.loads(Path(path).read_text())
    assert doc["sha256"] == digest(doc["attestation"]) == report.attestation_sha256
    assert doc["attestation"]["baseline"] == {"value": 0.9, "version": 1}
    assert doc["attestation"]["new"] == {"value": 0.93, "version": 2}
    assert doc["attestation"]["deltaone"] is True
    assert "created_at" not in doc["attestation"]
    assert (
        registry.get_version(ws.name, 2).tags["hokusai_attestation_sha256"]
        == report.attestation_sha256
    )  # type: ignore[union-attr]


def test_semver_may_not_go_backwards(ws, registry):
    register(ws.plan(0.90, extra="  version: 2.0.0\n"), registry, DECISION)
    with pytest.raises(HokusaiError, match="goes backwards"):
        register(ws.plan(0.91, extra="  version: 1.9.0\n"), registry, DECISION)
    assert register(ws.plan(0.91, extra="  version: 2.1.0\n"), registry, DECISION).version == 2


def test_pinned_baseline_version_is_used_instead_of_the_newest(ws, registry):
    register(ws.plan(0.80), registry, DECISION)
    register(ws.plan(0.90), registry, DECISION)
    report = compare(
        ws.plan(0.85, benchmark_extra="  baseline: {version: 1}\n"), registry, DECISION
    )
    assert baseline_version(report) == 1
    assert report.verdict.outcome is Outcome.DELTAONE


def test_pinned_baseline_value_needs_no_registered_version(ws, registry):
    report = compare(
        ws.plan(0.85, benchmark_extra="  baseline: {value: 0.86}\n"), registry, DECISION
    )
    assert verdict(report).outcome is Outcome.REGRESSION
    assert report.verdict.baseline.version is None  # type: ignore[union-attr]


def test_pinned_baseline_version_that_does_not_exist_is_a_clear_error(ws, registry):
    register(ws.plan(0.80), registry, DECISION)
    with pytest.raises(HokusaiError, match=r"baseline version 7 .* does not exist"):
        compare(ws.plan(0.85, benchmark_extra="  baseline: {version: 7}\n"), registry, DECISION)


def test_versions_with_malformed_tags_are_skipped_as_baselines(ws, registry):
    register(ws.plan(0.90), registry, DECISION)
    registry.set_version_tags(ws.name, 1, {"benchmark_value": "not-a-number"})
    report = compare(ws.plan(0.95), registry, DECISION)
    assert verdict(report).outcome is Outcome.FIRST
    assert any("not a number" in note for note in report.notes)


def test_registered_plain_file_downloads_through_models_uri(ws, registry, tmp_path):
    report = register(ws.plan(0.90), registry, DECISION)
    mlflow.set_registry_uri(registry.settings.tracking_uri)
    mlflow.set_tracking_uri(registry.settings.tracking_uri)
    local = mlflow.artifacts.download_artifacts(
        f"models:/{ws.name}/{report.version}", dst_path=str(tmp_path / "dl")
    )
    assert (Path(local) / "model.pkl").read_bytes() == b"weights 0.9"


class EchoModel(mlflow.pyfunc.PythonModel):
    """A pyfunc model: returns its input."""

    def predict(
        self, context: object, model_input: list[int], params: dict | None = None
    ) -> list[int]:
        return model_input


def test_registered_mlflow_model_directory_loads_through_models_uri(ws, registry):
    ws.plan(0.90)
    mlflow.pyfunc.save_model(str(ws.root / "echo"), python_model=EchoModel(), pip_requirements=[])
    manifest = ws.root / "hokusai.yaml"
    manifest.write_text(manifest.read_text().replace("path: model.pkl", "path: echo"))
    result, manifests = check_paths([manifest], Options())
    assert result.valid, result.problems
    p = plan(manifests[0], "c" * 40)
    assert p.model.is_mlflow_model
    report = register(p, registry, DECISION)
    mlflow.set_tracking_uri(registry.settings.tracking_uri)
    mlflow.set_registry_uri(registry.settings.tracking_uri)
    loaded = mlflow.pyfunc.load_model(f"models:/{ws.name}/{report.version}")
    assert loaded.predict([1, 2, 3]) == [1, 2, 3]


@on_both_backends
def test_a_token_shared_by_two_models_rejudges_against_the_other_models_version(
    tmp_path, registry, unique
):
    token = f"SHARED-{unique}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Workspace(tmp_path / "a", f"a-{unique.lower()}", token)
    second = Workspace(tmp_path / "b", f"b-{unique.lower()}", token)
    register(first.plan(0.90), registry, DECISION)
    outsider = register(second.plan(0.95), registry, DECISION)
    assert verdict(outsider).outcome is Outcome.MODEL_NOT_IN_RECORD  # until the owner adds it
    set_record(registry, token, None, Changes(add_models=(second.name,)))
    report = register(second.plan(0.951), registry, DECISION)
    assert verdict(report).outcome is Outcome.DELTAONE
    again = register(second.plan(0.951), registry, DECISION)  # a re-run of the same workflow
    assert again.status is Status.ALREADY_REGISTERED
    assert verdict(again).outcome is Outcome.DELTAONE
    assert verdict(again).baseline.model == first.name  # type: ignore[union-attr]


def test_aliases_a_crashed_run_left_out_are_set_by_the_next_run(ws, registry):
    first = register(ws.plan(0.90), registry, DECISION)
    registry.client.delete_registered_model_alias(ws.name, "champion")  # as if it crashed before
    again = register(ws.plan(0.90), registry, DECISION)
    assert again.aliases == ["champion"]
    assert registry.aliases_of(ws.name) == {"champion": first.version}


def test_a_pinned_baseline_on_another_metric_is_a_benchmark_mismatch(ws, registry):
    register(ws.plan(0.5, metric="f1_score"), registry, DECISION)
    report = compare(ws.plan(0.9, benchmark_extra="  baseline: {version: 1}\n"), registry, DECISION)
    assert verdict(report).outcome is Outcome.BENCHMARK_MISMATCH
    assert "metric: the manifest says `accuracy`, the record `f1_score`" in verdict(report).reason


def test_model_names_in_links_cannot_leave_the_url(server_settings):
    links = MlflowRegistry(server_settings).links("1", "r", "m) hi @octocat | x", 3)
    assert links["model_version"].endswith("/#/models/m%29%20hi%20%40octocat%20%7C%20x/versions/3")
