"""Attacks on the yardstick (issue 14): the payee chose the benchmark and read it.

Each test is an attack that was paid (or an honest reward that was denied) on main before the
benchmark of record, reproduced at the level where it happened, and now failing to pay (or to
deny). docs/verdict.md lists them with the rule that stops each.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests
from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.errors import HokusaiError
from hokusai_action.github.action import RunResult, _outputs
from hokusai_action.github.comment import change
from hokusai_action.registry import reporting
from hokusai_action.registry.deltaone import Baseline, Outcome, decide
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.plan import Plan, plan
from hokusai_action.registry.register import Decision, compare, register
from hokusai_action.registry.results import Report
from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from hokusai_action.validation import metrics
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.integration.conftest import ADMIN_PASSWORD, Server
from tests.support.cli import invoke_cli as run_cli  # the CLI's entry point, in this process
from tests.support.dropping_proxy import DroppingProxy

RMSE = metrics.lookup("rmse").metric
assert RMSE is not None


@pytest.fixture(scope="module")
def embedded_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    root = tmp_path_factory.mktemp("embedded-record")
    (root / ".git").mkdir()
    return resolve_settings(None, env={}, cwd=root)


@pytest.fixture
def registry(embedded_settings: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_settings)


class Repo:
    """A model repository: `model(n)` is the n-th trained model (its own files)."""

    def __init__(self, root: Path, token: str | None = None, name: str | None = None) -> None:
        suffix = uuid.uuid4().hex[:8].upper()
        self.root = root
        self.name = name or f"rec-{suffix.lower()}"
        self.token = token or f"REC-{suffix}"
        (root / ".git").mkdir(exist_ok=True)
        (root / "data.csv").write_text("x,y\n1,0\n2,1\n", encoding="utf-8")

    def plan(
        self, value: float | str, model: int = 1, dataset: str = "{name: holdout, version: v1}",
        metric: str = "accuracy", extra: str = "",
    ) -> Plan:  # fmt: skip
        (self.root / "model.pkl").write_bytes(f"weights of model {model}".encode())
        text = (
            f"version: 1\nmodel:\n  name: {self.name}\n  token_id: {self.token}\n"
            f"  path: model.pkl\nbenchmark:\n  metric: {metric}\n  value: {value}\n"
            f"  dataset: {dataset}\n{extra}"
        )
        (self.root / "hokusai.yaml").write_text(text, encoding="utf-8")
        result, manifests = check_paths([self.root / "hokusai.yaml"], Options())
        assert result.valid, result.problems
        return plan(manifests[0], None)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def outcome(report: Report) -> Outcome:
    assert report.verdict is not None
    return report.verdict.outcome


def paid(report: Report) -> bool:
    return report.verdict is not None and report.verdict.achieved


# -- one gain, paid once per benchmark name --------------------------------------------------
MISMATCH, SAME = Outcome.BENCHMARK_MISMATCH, Outcome.SAME_MODEL


@pytest.mark.parametrize(
    ("dataset", "metric", "expected"),
    [
        ("{name: holdout-b, version: v1}", "accuracy", MISMATCH),
        # the record names no hash: a hash in the manifest changes nothing it is judged by
        ("{name: holdout, version: v1, sha256: " + "ab" * 32 + "}", "accuracy", SAME),
        ("{name: holdout, version: v1}", "auroc", MISMATCH),
        ("{name: holdout, version: v1}", "auc", MISMATCH),
        ("{name: holdout-full, version: v1, samples: 1000000000000}", "accuracy", MISMATCH),
    ],
    ids=["other-name", "a-hash", "auroc", "auc", "huge-sample-count"],
)
def test_a_pull_request_cannot_open_another_benchmark_to_be_paid_again(
    repo, registry, dataset, metric, expected
):
    assert outcome(register(repo.plan(0.80, 1), registry, Decision())) is Outcome.FIRST
    reopened = register(repo.plan(0.815, 1, dataset, metric), registry, Decision())
    assert outcome(reopened) is expected
    if expected is MISMATCH:
        assert "benchmark set" in reopened.verdict.reason  # type: ignore[union-attr]
    assert paid(register(repo.plan(0.815, 2), registry, Decision()))  # the honest gain, once
    again = register(repo.plan(0.815, 2, dataset, metric), registry, Decision())
    assert not paid(again)


def test_the_same_data_under_another_name_is_judged_as_the_record_and_not_paid_again(
    repo, registry
):
    on_path = "{name: holdout, version: v1, path: data.csv}"
    register(repo.plan(0.80, 1, on_path), registry, Decision())
    assert paid(register(repo.plan(0.815, 2, on_path), registry, Decision()))
    renamed = register(repo.plan(0.815, 3, "{name: holdout-b, path: data.csv}"), registry,
                       Decision())  # fmt: skip
    assert outcome(renamed) is Outcome.UNCHANGED  # the same data by its hash: same benchmark
    assert any("same data, by its hash" in n for n in renamed.notes)


# -- identical files, paid -------------------------------------------------------------------
def test_the_same_model_files_claiming_a_better_value_are_not_paid(repo, registry):
    register(repo.plan(0.80, 1), registry, Decision())
    same = register(repo.plan(0.815, 1), registry, Decision())
    assert outcome(same) is Outcome.SAME_MODEL
    assert f"{repo.name} version 1" in same.verdict.reason  # type: ignore[union-attr]
    assert registry.get_version(repo.name, 2).tags["deltaone_achieved"] == "false"  # type: ignore[union-attr]


# -- a worse model, paid by flipping the direction ------------------------------------------
def test_flipping_a_custom_metric_direction_is_a_mismatch_not_a_reward(repo, registry):
    spec = "custom_metrics:\n  churn_score: {{direction: {d}, min: 0, max: 1}}\n"
    higher, lower = spec.format(d="higher"), spec.format(d="lower")
    register(repo.plan(0.80, 1, metric="churn_score", extra=higher), registry, Decision())
    flipped = register(repo.plan(0.80, 1, metric="churn_score", extra=lower), registry, Decision())
    assert outcome(flipped) is Outcome.BENCHMARK_MISMATCH
    worse = register(repo.plan(0.70, 2, metric="churn_score", extra=lower), registry, Decision())
    assert not paid(worse)
    assert "direction" in worse.verdict.reason  # type: ignore[union-attr]


# -- the cheap rule, chosen ------------------------------------------------------------------
def test_a_custom_metric_with_the_relative_rule_cannot_replace_the_record(repo, registry):
    register(repo.plan(0.80, 1), registry, Decision())
    cheap = "custom_metrics:\n  error_rate: {direction: lower, min: 0}\n"
    report = register(repo.plan(0.0495, 2, metric="error_rate", extra=cheap), registry, Decision())
    assert outcome(report) is Outcome.BENCHMARK_MISMATCH


def test_a_subnormal_baseline_pays_nothing_under_the_floor():
    tiny = Baseline(5e-324, 1, text="4.9e-324")
    verdict = decide(RMSE, 0.0, tiny, floor="0.001")
    assert verdict.outcome is Outcome.BELOW_THRESHOLD
    assert "zero" not in change(verdict)


def test_a_first_registration_under_the_relative_rule_records_a_floor(repo, registry):
    register(repo.plan(25000, 1, metric="rmse"), registry, Decision())
    rec = registry.benchmark_record(repo.token)
    assert rec is not None
    assert (rec.rule, rec.floor) == ("relative", "250")
    report = register(repo.plan(24000, 2, metric="rmse"), registry, Decision())
    assert paid(report)
    assert report.verdict.floor == "250"  # type: ignore[union-attr]


# -- significance bypassed -------------------------------------------------------------------
def test_the_records_sample_count_decides_significance_not_the_manifests(repo, registry):
    samples = "{name: holdout, version: v1, samples: 200}"
    strict = Decision(require_significance=True)
    register(repo.plan(0.80, 1, samples), registry, strict)
    claimed = "{name: holdout, version: v1, samples: 1000000000000}"
    report = compare(repo.plan(0.815, 2, claimed), registry, Decision())
    assert outcome(report) is Outcome.NOT_SIGNIFICANT
    assert any("the record's count is used" in n for n in report.notes)


# -- rules the contributor cannot tune -------------------------------------------------------
def test_options_given_after_the_record_exists_are_a_notice_not_a_rule(repo, registry):
    register(repo.plan(0.80, 1), registry, Decision())
    loose = Decision(threshold=0.001, explicit=frozenset({"--deltaone-threshold"}))
    report = compare(repo.plan(0.805, 2), registry, loose)
    assert outcome(report) is Outcome.BELOW_THRESHOLD
    assert any("--deltaone-threshold 0.001 is not used" in n for n in report.notes)


def test_a_model_name_outside_the_record_is_not_paid_until_the_owner_adds_it(tmp_path, registry):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Repo(tmp_path / "a")
    fresh = Repo(tmp_path / "b", token=first.token)
    register(first.plan(0.80, 1), registry, Decision())
    report = register(fresh.plan(0.815, 2), registry, Decision())
    assert outcome(report) is Outcome.MODEL_NOT_IN_RECORD
    set_record(registry, first.token, None, Changes(add_models=(fresh.name,)))
    assert paid(register(fresh.plan(0.816, 3), registry, Decision()))


# -- rounding ---------------------------------------------------------------------------------
def test_values_are_compared_exactly_as_written(repo, registry):
    register(repo.plan(0.8, 1), registry, Decision())
    short = register(repo.plan("0.8099999999995", 2), registry, Decision())
    assert outcome(short) is Outcome.BELOW_THRESHOLD
    assert registry.get_version(repo.name, 2).tags["benchmark_value"] == "0.8099999999995"  # type: ignore[union-attr]
    exact = register(repo.plan(0.81, 3), registry, Decision())
    assert paid(exact)
    assert registry.get_version(repo.name, 3).tags["delta"] == "0.01"  # type: ignore[union-attr]


def test_one_point_steps_written_with_four_decimals_are_all_one_point():
    accuracy = metrics.lookup("accuracy").metric
    assert accuracy is not None
    denied = [
        k for k in range(5000, 9900)
        if not decide(accuracy, (k + 100) / 10000, Baseline(k / 10000, 1)).achieved
    ]  # fmt: skip
    assert denied == []


# -- stuck for good ---------------------------------------------------------------------------
def test_a_difference_beyond_a_float_is_refused_before_anything_is_written(repo, registry):
    spec = "custom_metrics:\n  score: {direction: higher}\n"
    register(repo.plan("-1.7e+308", 1, metric="score", extra=spec), registry, Decision())
    with pytest.raises(HokusaiError, match="not comparable"):
        register(repo.plan("1.7e+308", 2, metric="score", extra=spec), registry, Decision())
    assert [v.version for v in registry.versions_of_model(repo.name)] == [1]
    with pytest.raises(HokusaiError, match="not comparable"):  # and a re-run says the same
        register(repo.plan("1.7e+308", 2, metric="score", extra=spec), registry, Decision())


# -- reported exactly when it should be ------------------------------------------------------
def test_deltaone_recorded_is_true_once_and_never_in_compare(repo, registry):
    register(repo.plan(0.80, 1), registry, Decision())
    p = repo.plan(0.82, 2)
    assert (
        _outputs(RunResult(reports=[compare(p, registry, Decision())]), "r")["deltaone-recorded"]
        == "false"
    )
    done = register(p, registry, Decision())
    out = _outputs(RunResult(reports=[done]), "r")
    assert (out["deltaone"], out["deltaone-recorded"]) == ("true", "true")
    [entry] = json.loads(out["deltaone-models"])
    assert entry["attestation_sha256"] == done.attestation_sha256
    assert (entry["version"], entry["delta"]) == (2, "0.02")
    # a crash before the outputs: the next run reports it (at least once, same key)
    rerun = register(p, registry, Decision())
    again = _outputs(RunResult(reports=[rerun]), "r")
    assert again["deltaone-recorded"] == "true"
    assert json.loads(again["deltaone-models"]) == [entry]
    assert reporting.mark_reported(registry, [rerun], "run 1.1") == []
    last = _outputs(RunResult(reports=[register(p, registry, Decision())]), "r")
    assert (last["deltaone"], last["deltaone-recorded"]) == ("false", "false")


def test_a_deltaone_cut_off_after_the_version_is_reported_by_the_rerun(
    mlflow_server: Server, tmp_path: Path
):
    """The server dies right after creating the DeltaOne version: the run exits 1 with no
    output saying so. The re-run that completes the registration reports it."""
    port = int(mlflow_server.uri.rsplit(":", 1)[1])
    direct = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    (tmp_path / "repo").mkdir()
    (tmp_path / "twin").mkdir()
    repo, twin = Repo(tmp_path / "repo"), Repo(tmp_path / "twin")
    for r in (repo, twin):
        register(r.plan(0.80, 1), direct, Decision())
    with DroppingProxy(port) as counter:  # the same registration on a twin, to count
        register(twin.plan(0.82, 2), MlflowRegistry(resolve_settings(counter.uri, env={})),
                 Decision())  # fmt: skip
        made = list(counter.requests)
    cut = [i for i, r in enumerate(made, 1) if "model-versions/create" in r][-1]
    mlflow_tracking_utils._artifact_repos_cache.clear()
    p = repo.plan(0.82, 2)
    with DroppingProxy(port, crash_at=cut) as proxy:
        crashing = MlflowRegistry(resolve_settings(proxy.uri, env={}, retries=0))
        with pytest.raises(HokusaiError, match="cannot reach the registry"):
            register(p, crashing, Decision())
    mlflow_tracking_utils._artifact_repos_cache.clear()
    rerun = register(p, direct, Decision())
    out = _outputs(RunResult(reports=[rerun]), "r")
    assert (out["status"], out["deltaone-recorded"]) == ("already_registered", "true")
    assert json.loads(out["deltaone-models"])[0]["version"] == 2
    assert rerun.attestation_sha256  # completed by the re-run


# -- history from anyone, and locks held hostage (MLflow's basic-auth app) --------------------
def _user(server: Server, name: str) -> dict[str, str]:
    password = f"{name}-pw-{uuid.uuid4().hex[:8]}"
    answer = requests.post(
        f"{server.uri}/api/2.0/mlflow/users/create", json={"username": name, "password": password},
        auth=("admin", ADMIN_PASSWORD), timeout=30,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return {"MLFLOW_TRACKING_USERNAME": name, "MLFLOW_TRACKING_PASSWORD": password}


def _as(account: dict[str, str]) -> tuple[str, str]:
    return account["MLFLOW_TRACKING_USERNAME"], account["MLFLOW_TRACKING_PASSWORD"]


def _foreign_version(server: Server, account: dict[str, str], model: str,
                     tags: dict[str, str]) -> None:  # fmt: skip
    """A version of the attacker's own model, written with the attacker's own key."""
    api, auth = f"{server.uri}/api/2.0/mlflow", _as(account)
    requests.post(f"{api}/registered-models/create", json={"name": model}, auth=auth, timeout=30)
    answer = requests.post(
        f"{api}/model-versions/create",
        json={"name": model, "source": "s3://nowhere/model",
              "tags": [{"key": k, "value": v} for k, v in tags.items()]},
        auth=auth, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text


def _write_repo(root: Path, name: str, token: str, value: float, model: int) -> None:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / "model.pkl").write_bytes(f"weights {model}".encode())
    (root / "hokusai.yaml").write_text(
        f"version: 1\nmodel:\n  name: {name}\n  token_id: {token}\n  path: model.pkl\n"
        f"benchmark:\n  metric: accuracy\n  value: {value}\n"
        "  dataset: {name: holdout, version: v2}\n",
        encoding="utf-8",
    )


def test_versions_written_by_others_count_for_nothing(cached_auth_server: Server, tmp_path: Path):
    auth_server = cached_auth_server  # users log in with passwords: see its docstring
    suffix = uuid.uuid4().hex[:6]
    owner, attacker = _user(auth_server, f"owner{suffix}"), _user(auth_server, f"rival{suffix}")
    token, name = f"SHARED-{suffix.upper()}", f"churn-{suffix}"
    uri = ["--tracking-uri", auth_server.uri]
    _write_repo(tmp_path, name, token, 0.83, 1)
    first = run_cli("register", *uri, cwd=tmp_path, env=owner)
    assert first.returncode == 0, first.stderr
    assert "TRUST ON FIRST USE" in first.stdout + first.stderr
    _foreign_version(auth_server, attacker, f"rival-{suffix}", {
        "hokusai_token_id": token, "benchmark_metric": "accuracy", "benchmark_value": "0.99",
        "deltaone_achieved": "true", "hokusai_dataset_name": "holdout",
        "hokusai_dataset_version": "v2"})  # fmt: skip
    _write_repo(tmp_path, name, token, 0.86, 2)
    honest = run_cli("register", *uri, "--format", "json", cwd=tmp_path, env=owner)
    assert honest.returncode == 0, honest.stderr
    [report] = json.loads(honest.stdout)["results"]
    assert report["outcome"] == "deltaone", report["notes"]
    assert report["baseline_value"] == 0.83
    lineage = run_cli("lineage", "--token", token, *uri, cwd=tmp_path, env=owner)
    assert "not in the token's record" in lineage.stdout
    # the rival cannot write the owner's record, lock or model (MLflow's default: READ)
    rival = run_cli("benchmark", "set", token, "--floor", "0.5", "--rule", "relative", *uri,
                    cwd=tmp_path, env=attacker)  # fmt: skip
    assert rival.returncode == 1
    assert "403" in rival.stderr
    front = requests.post(
        f"{auth_server.uri}/api/2.0/mlflow/model-versions/create",
        json={"name": name, "source": "s3://x", "tags": [
            {"key": "hokusai_registration_key", "value": "f" * 64}]},
        auth=_as(attacker), timeout=30,
    )  # fmt: skip
    assert front.status_code == 403  # front-running needs write access to the owner's model


def test_a_squatted_lock_refuses_registration_and_names_the_fix(
    cached_auth_server: Server, tmp_path: Path
):
    auth_server = cached_auth_server
    suffix = uuid.uuid4().hex[:6]
    owner, squatter = _user(auth_server, f"own{suffix}"), _user(auth_server, f"squat{suffix}")
    token, name = f"VICTIM-{suffix.upper()}", f"victim-{suffix}"
    requests.post(
        f"{auth_server.uri}/api/2.0/mlflow/registered-models/create",
        json={"name": f"hokusai-lock.{token}"}, auth=_as(squatter), timeout=30,
    )  # fmt: skip
    _write_repo(tmp_path, name, token, 0.83, 1)
    result = run_cli("register", "--tracking-uri", auth_server.uri, cwd=tmp_path, env=owner)
    assert result.returncode == 1
    assert "benchmark set" in result.stderr
    assert "nothing was registered" in result.stderr
    assert "Traceback" not in result.stderr
    found = requests.get(
        f"{auth_server.uri}/api/2.0/mlflow/registered-models/get", params={"name": name},
        auth=_as(owner), timeout=30,
    )  # fmt: skip
    assert found.status_code != 200  # never registered unlocked


def test_a_new_revision_neither_breaks_nor_rejudges_earlier_registrations(repo, registry):
    """Every push re-runs `register` on unchanged manifests: after the owner moves the token
    to new data, those re-runs report their verdicts of record, and the new benchmark opens
    only with the rewarded model measured on it."""
    register(repo.plan(0.80, 1), registry, Decision())
    assert paid(register(repo.plan(0.82, 2), registry, Decision()))
    v2 = "{name: holdout, version: v2}"
    done = set_record(registry, repo.token, repo.plan(0.90, 2, v2), Changes())
    assert done.written
    assert done.record.revision == 2
    assert any("new benchmark" in n for n in done.notes)
    rerun = register(repo.plan(0.82, 2), registry, Decision())  # the old manifest, re-run
    assert (rerun.status.value, outcome(rerun)) == ("already_registered", Outcome.DELTAONE)
    newcomer = register(repo.plan(0.95, 3, v2), registry, Decision())
    assert outcome(newcomer) is Outcome.NEW_BENCHMARK  # not the rewarded model: does not open
    assert not paid(newcomer)
    anchor = register(repo.plan(0.90, 2, v2), registry, Decision())
    assert outcome(anchor) is Outcome.NEW_BENCHMARK  # the rewarded model's files open it
    assert (
        registry.get_version(repo.name, anchor.version).tags[  # type: ignore[union-attr]
            "hokusai_benchmark_anchored"
        ]
        == "true"
    )
    assert paid(register(repo.plan(0.92, 4, v2), registry, Decision()))


def test_the_record_holds_on_sqlite_and_postgresql_servers(any_server: Server, tmp_path: Path):
    """The record's revisions, its judgement of a pull request and the reporting tag, on a
    production backend (PostgreSQL) as on SQLite, through the CLI."""
    repo = Repo(tmp_path)
    uri = ["--tracking-uri", any_server.uri]
    repo.plan(0.80, 1)
    first = run_cli("register", *uri, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "TRUST ON FIRST USE" in first.stdout
    repo.plan(0.815, 1, "{name: holdout-b, version: v1}")
    mismatch = run_cli("compare", *uri, "--format", "json", cwd=tmp_path)
    assert json.loads(mismatch.stdout)["results"][0]["outcome"] == "benchmark_mismatch"
    repo.plan(0.815, 1)
    same = run_cli("compare", *uri, "--format", "json", cwd=tmp_path)
    assert json.loads(same.stdout)["results"][0]["outcome"] == "same_model"
    repo.plan(0.815, 2)
    paid_now = run_cli("register", *uri, "--format", "json", cwd=tmp_path)
    [result] = json.loads(paid_now.stdout)["results"]
    assert (result["outcome"], result["deltaone_unreported"]) == ("deltaone", True)
    raised = run_cli("benchmark", "set", repo.token, "--require-significance", *uri,
                     cwd=tmp_path)  # fmt: skip
    assert raised.returncode == 0, raised.stderr
    shown = run_cli("benchmark", "show", repo.token, *uri, "--format", "json", cwd=tmp_path)
    data = json.loads(shown.stdout)
    assert data["record"]["revision"] == 2
    assert data["record"]["require_significance"] is True
    assert [r["changed"] for r in data["revisions"]] == [["(new record)"], ["require_significance"]]
