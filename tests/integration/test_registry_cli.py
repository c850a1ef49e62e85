"""The registry commands as users run them: the CLI's entry point, in this process
(`invoke_cli`: a subprocess per command spent its seconds importing MLflow), and in a
subprocess where the process is the point (what it prints of MLflow's logs and of a secret,
what it imports)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.integration.conftest import ADMIN_PASSWORD, Server, _free_port
from tests.support.cli import invoke_cli, run_cli
from tests.support.measuring import copy_claimed

SECRET = "hk-test-key-9f8e7d6c5b4a"  # a made-up API key that must never be printed


run = invoke_cli


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real Git repository holding the churn example, committed."""
    copy_claimed(PROJECT / "examples" / "churn-classifier", tmp_path / "churn")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "model"], cwd=tmp_path, check=True)
    return tmp_path


def set_value(repo: Path, value: float) -> None:
    """A retrained model (files of its own: one model is rewarded once) measured at `value`."""
    manifest = repo / "churn" / "hokusai.yaml"
    model = repo / "churn" / "models" / "churn"
    (model / "retrained.txt").write_text(f"trained to {value}\n", encoding="utf-8")
    text = manifest.read_text()
    current = next(line for line in text.splitlines() if line.startswith("  value: "))
    manifest.write_text(text.replace(current, f"  value: {value}"))


def test_embedded_sqlite_default_registers_once_per_commit(repo):
    first = run_cli("register", "churn", cwd=repo)  # a process of its own: MLflow's logging
    assert first.returncode == 0, first.stderr
    assert "registered version 1" in first.stdout
    assert (repo / ".hokusai" / "mlflow.db").is_file()
    again = run("register", ".", cwd=repo / "churn")  # any directory of the checkout
    assert again.returncode == 0, again.stderr
    assert "already registered as version 1" in again.stdout
    lineage = run("lineage", "--token", "CHURN-001", cwd=repo)
    assert lineage.stdout.count("customer-churn-predictor v") == 1
    shown = run("show", "customer-churn-predictor", cwd=repo)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert f"hokusai_git_commit: {head.stdout.strip()}" in shown.stdout
    assert "INFO" not in first.stderr  # MLflow's table-creation chatter is silenced


def test_register_json_has_the_documented_keys(repo):
    run("register", "churn", cwd=repo)
    set_value(repo, 0.9425)
    result = run("register", "churn", "--format", "json", cwd=repo)
    data = json.loads(result.stdout)["results"][0]
    required = {"model_name", "token_id", "version", "run_id", "metric", "value", "baseline_value",
                "baseline_version", "delta", "deltaone", "rule", "attestation_sha256"}  # fmt: skip
    assert required <= set(data)
    assert (data["version"], data["baseline_version"], data["deltaone"]) == (2, 1, True)
    assert data["rule"] == "percentage_points"


def test_fail_on_regression_exits_4_and_registers_nothing(repo):
    run("register", "churn", cwd=repo)
    set_value(repo, 0.90)
    result = run("register", "churn", "--fail-on-regression", cwd=repo)
    assert result.returncode == 4
    assert "regression" in result.stdout
    assert (
        run("lineage", "--token", "CHURN-001", cwd=repo).stdout.count("customer-churn-predictor v")
        == 1
    )


def test_invalid_manifest_stops_before_anything_is_written(repo):
    set_value(repo, 1.5)
    result = run("register", "churn", cwd=repo)
    assert result.returncode == 1
    assert "[metric-value]" in result.stderr
    assert "nothing was registered" in result.stderr
    assert not (repo / ".hokusai").exists()


def test_dry_run_contacts_nothing_and_loads_no_mlflow(repo):
    dead = f"http://127.0.0.1:{_free_port()}"
    code = (
        "import sys\n"
        "from hokusai_action.cli import main\n"
        "try:\n"
        f"    main(['register', '--dry-run', '--tracking-uri', '{dead}', 'churn'])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print('mlflow loaded:', 'mlflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=False
    )
    assert "dry run: nothing contacted" in result.stdout, result.stderr
    assert result.stdout.strip().endswith("mlflow loaded: False")


def test_unreachable_registry_fails_with_the_uri_and_what_to_check(repo):
    dead = f"http://127.0.0.1:{_free_port()}"
    result = run(
        "compare", "churn", "--tracking-uri", dead, "--retries", "1", "--timeout", "2", cwd=repo
    )
    assert result.returncode == 1
    assert f"cannot reach the registry at {dead}" in result.stderr
    assert "gave up after 1 retries" in result.stderr
    assert "Traceback" not in result.stderr


def test_compare_against_a_server(repo, mlflow_server: Server):
    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri}
    result = run("compare", "churn", cwd=repo, env=env)
    assert result.returncode == 0, result.stderr
    assert f"compared against {mlflow_server.uri}: nothing written" in result.stdout


def test_wrong_api_key_is_refused_with_our_message_and_never_printed(repo, auth_server: Server):
    env = {"HOKUSAI_API_KEY": SECRET}
    for args in (["register", "churn"], ["--debug", "register", "churn"], ["doctor"]):
        result = run_cli(*args, "--tracking-uri", auth_server.uri, cwd=repo, env=env)
        assert result.returncode == 1, result.stdout + result.stderr
        output = result.stdout + result.stderr
        assert "refused the API key (401)" in output
        assert "check HOKUSAI_API_KEY" in output
        assert SECRET not in output
    assert SECRET not in auth_server.log.read_text()


def test_no_credentials_on_an_auth_server_says_to_set_the_key(repo, auth_server: Server):
    result = run("doctor", "--tracking-uri", auth_server.uri, cwd=repo)
    assert result.returncode == 1
    assert "requires authentication" in result.stdout
    assert "set HOKUSAI_API_KEY" in result.stdout


def test_basic_auth_credentials_work(repo, auth_server: Server):
    env = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD}
    doctor = run("doctor", "--tracking-uri", auth_server.uri, cwd=repo, env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "status: ok" in doctor.stdout
    assert ADMIN_PASSWORD not in doctor.stdout + doctor.stderr


def test_lineage_lists_oldest_first_and_survives_malformed_tags(repo, any_server: Server, unique):
    """Run once per registry backend (SQLite, PostgreSQL): lineage, list and show read the
    same history from either."""
    import mlflow

    env = {"MLFLOW_TRACKING_URI": any_server.uri}
    token = f"LINEAGE-{unique}"
    manifest = repo / "churn" / "hokusai.yaml"
    manifest.write_text(
        manifest.read_text()
        .replace("CHURN-001", token)
        .replace("customer-churn-predictor", token.lower())
    )
    assert run("register", "churn", cwd=repo, env=env).returncode == 0
    set_value(repo, 0.95)
    assert run("register", "churn", cwd=repo, env=env).returncode == 0
    client = mlflow.MlflowClient(any_server.uri)
    client.set_model_version_tag(token.lower(), "1", "benchmark_value", "oops")
    lineage = run("lineage", "--token", token, cwd=repo, env=env)
    assert lineage.returncode == 0, lineage.stderr
    versions, _, record = lineage.stdout.partition("\n\n")
    assert record.startswith(f"benchmark of record of {token}, revision 1")
    header, *rows = versions.splitlines()
    assert header.split()[:4] == ["version", "created", "benchmark", "change"]
    assert [row.split()[1] for row in rows] == ["v1", "v2"]
    assert "malformed: `benchmark_value` is 'oops', not a number" in rows[0]
    assert "+1.88 pp" in rows[1]  # 0.9312 -> 0.95, in the rule's unit
    listed = run("list", "--token", token, "--format", "json", cwd=repo, env=env)
    assert [v["version"] for v in json.loads(listed.stdout)["versions"]] == [2, 1]
    shown = run("show", token.lower(), cwd=repo, env=env)
    assert "version: 2" in shown.stdout
    assert "aliases: challenger" in shown.stdout
    assert "deltaone: yes" in shown.stdout


def test_unknown_token_is_a_clear_error(repo):
    assert run("register", "churn", cwd=repo).returncode == 0
    result = run("lineage", "--token", "NOPE-404", cwd=repo)
    assert result.returncode == 1
    assert "no registered version carries token `NOPE-404`" in result.stderr


def test_missing_registry_extra_names_the_install_command(repo):
    code = (
        "import sys\n"
        "sys.modules['mlflow'] = None  # as if the registry extra were not installed\n"
        "from hokusai_action.cli import main\n"
        "main(['compare', 'churn'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "pip install 'hokusai-action[registry]'" in result.stderr


@pytest.mark.parametrize("command", ["register", "compare", "show", "list", "lineage", "doctor"])
def test_help_works_for_every_registry_command(tmp_path, command):
    result = run(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--tracking-uri" in result.stdout


def test_uncommitted_changes_are_registered_without_claiming_a_commit(repo):
    set_value(repo, 0.95)  # not committed
    result = run("register", "churn", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "uncommitted changes" in result.stdout
    shown = run("show", "customer-churn-predictor", cwd=repo)
    assert "hokusai_git_commit" not in shown.stdout


def test_a_server_that_accepts_but_never_answers_is_given_up_on(repo):
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = run_cli(  # a process, so that a hang is ended by the deadline below
            "compare",
            "churn",
            "--tracking-uri",
            uri,
            "--retries",
            "0",
            "--timeout",
            "1",
            cwd=repo,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"cannot reach the registry at {uri}" in result.stderr
    assert "1 s timeout" in result.stderr


def test_rule_points_on_a_metric_not_bounded_by_0_1_is_a_usage_error(tmp_path):
    shutil.copytree(PROJECT / "examples" / "house-prices", tmp_path / "house")
    (tmp_path / ".git").mkdir()
    result = run("register", "house", "--dry-run", "--rule", "points", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "`rmse` ranges over [0, inf]" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".hokusai").exists()  # refused before any registry was opened


def test_a_dry_run_with_a_pinned_value_prints_a_labelled_what_if(repo):
    manifest = repo / "churn" / "hokusai.yaml"
    manifest.write_text(
        manifest.read_text().replace("  dataset:", "  baseline: {value: 0.9}\n  dataset:")
    )
    result = run("register", "churn", "--dry-run", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "what-if: pinned in the manifest" in result.stdout
    assert "DeltaOne achieved" in result.stdout
    as_json = json.loads(run("register", "churn", "--dry-run", "--format", "json", cwd=repo).stdout)
    assert as_json["results"][0]["what_if"] is True


def test_require_significance_on_the_command_line(repo):
    manifest = repo / "churn" / "hokusai.yaml"
    manifest.write_text(manifest.read_text().replace("samples: 5000", "samples: 500"))
    # the first registration's option shapes the token's benchmark of record
    assert run("register", "churn", "--require-significance", cwd=repo).returncode == 0
    set_value(repo, 0.9462)  # +1.5 pp on 500 samples each: the interval includes zero
    plain = run("compare", "churn", "--format", "json", cwd=repo)  # the record decides
    assert plain.returncode == 0, plain.stderr
    result = json.loads(plain.stdout)["results"][0]
    assert result["outcome"] == "improved_not_significant"
    assert result["deltaone"] is False
    assert "includes zero" in result["reason"]


def test_list_without_a_token_lists_the_tokens_with_their_best_rewarded_value(repo):
    assert run("register", "churn", cwd=repo).returncode == 0
    set_value(repo, 0.95)
    assert run("register", "churn", cwd=repo).returncode == 0  # a DeltaOne: the new mark
    set_value(repo, 0.90)
    assert run("register", "churn", cwd=repo).returncode == 0  # a regression: not the mark
    listed = run("list", cwd=repo)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["token", "metric", "models"]
    assert row.startswith("CHURN-001")
    assert "customer-churn-predictor v3 (0.9)" in row  # the latest
    assert "0.95 (customer-churn-predictor v2)" in row  # the best rewarded
    tokens = json.loads(run("list", "--format", "json", cwd=repo).stdout)["tokens"]
    assert [t["token_id"] for t in tokens] == ["CHURN-001"]
    assert tokens[0]["best_rewarded"] == {
        "model_name": "customer-churn-predictor", "version": 2, "value": 0.95,
    }  # fmt: skip


def test_lineage_takes_the_token_as_list_does_and_the_old_spelling_warns(repo):
    assert run("register", "churn", cwd=repo).returncode == 0
    new = run("lineage", "--token", "CHURN-001", cwd=repo)
    old = run("lineage", "CHURN-001", cwd=repo)
    assert new.returncode == old.returncode == 0
    assert new.stdout == old.stdout
    assert "deprecated" in old.stderr
    assert "deprecated" not in new.stderr
    missing = run("lineage", cwd=repo)
    assert missing.returncode == 2
    assert "--token" in missing.stderr


def test_doctor_says_yes_and_no_not_python_values(repo):
    result = run("doctor", cwd=repo)
    assert "embedded: yes" in result.stdout
    assert "True" not in result.stdout
    assert "False" not in result.stdout


@pytest.mark.parametrize("command", [["list"], ["lineage", "--token", "X-1"], ["show", "m"],
                                     ["doctor"], ["compare", "churn"]])  # fmt: skip
def test_only_register_creates_the_embedded_registry(repo, command):
    result = run(*command, cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no embedded registry at" in result.stdout + result.stderr
    assert not (repo / ".hokusai").exists()
    registered = run("register", "churn", cwd=repo)
    assert registered.returncode == 0, registered.stderr
    assert f"embedded registry: {repo / '.hokusai' / 'mlflow.db'}" in registered.stderr


COMMANDS = [
    ["register", "churn"], ["compare", "churn"], ["show", "m"], ["list"],
    ["lineage", "--token", "X-1"], ["doctor"], ["validate", "churn"], ["init", "churn"],
    ["demo"],
]  # fmt: skip
MISTAKES = {
    "uri": (["--tracking-uri", "htps://registry.example"], {}),
    "key": ([], {"HOKUSAI_API_KEY": "hk-key\x1bwith-escape"}),
    "path": (["no/such/dir"], {}),
    "option": (["--no-such-option"], {}),
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_a_users_mistake_is_never_reported_as_a_bug(repo, command, mistake):
    """Exit 3 is for our own bugs: a wrong URI, key, path or option is the user's."""
    extra, env = MISTAKES[mistake]
    if mistake == "uri" and command[0] in ("validate", "init"):
        extra = []  # these take no registry
    result = run(*command, *extra, cwd=repo, env=env)
    assert result.returncode != 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "This is a bug" not in result.stderr
