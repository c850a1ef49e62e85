"""`hokusai-action promote`: the alias moves to the token's rewarded best, recorded, against
the embedded registry and a real MLflow server. The CLI runs in this process (`invoke_cli`);
the line it prints to load the model runs in a shell, as a user pastes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Server
from tests.integration.test_registry_cli import repo as churn_repo
from tests.integration.test_registry_cli import set_value
from tests.support.cli import cli_environment, invoke_cli

MODEL = "customer-churn-predictor"
repo = churn_repo  # the churn example, committed in a Git repository of its own


def _history(repo: Path, *extra: str) -> None:
    """Version 1 (champion), version 2 a DeltaOne (challenger), version 3 a regression."""
    for value in (0.9312, 0.9425, 0.9001):
        set_value(repo, value)
        done = invoke_cli("register", "churn", *extra, cwd=repo)
        assert done.returncode == 0, done.stdout + done.stderr


def _aliases(uri: str) -> dict[str, str]:
    import mlflow

    aliases = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri).get_registered_model(MODEL)
    return {k: str(v) for k, v in dict(aliases.aliases).items()}


def test_promote_moves_champion_to_the_deltaone_version_and_the_printed_line_loads_it(repo):
    _history(repo)
    uri = f"sqlite:///{(repo / '.hokusai' / 'mlflow.db').as_posix()}"
    assert _aliases(uri) == {"champion": "1", "challenger": "2"}
    done = invoke_cli("promote", "--token", "CHURN-001", "--version", "2", cwd=repo,
                   env={"GITHUB_ACTOR": "octo-reviewer"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"promoted `{MODEL}` version 2 to @champion (was version 1)" in done.stdout
    assert _aliases(uri)["champion"] == "2"
    shown = invoke_cli("show", MODEL, "--version", "2", "--format", "json", cwd=repo).stdout
    tags = json.loads(shown)["tags"]
    assert tags["hokusai_promoted_by"] == "octo-reviewer"
    assert tags["hokusai_promoted_at"].endswith("+00:00")
    assert tags["hokusai_promoted_forced"] == "false"
    # the line it prints loads the model from the embedded registry, from anywhere
    (line,) = [ln for ln in done.stdout.splitlines() if "load it: " in ln]
    command = line.split("load it: ", 1)[1]
    assert command.startswith(f"MLFLOW_TRACKING_URI={uri} python -c ")
    env = cli_environment(
        {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    )
    loaded = subprocess.run(["bash", "-c", command], cwd=repo.parent, env=env,
                            capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert "flavor: mlflow.sklearn" in loaded.stdout
    again = invoke_cli("promote", "--token", "CHURN-001", "--version", "2", cwd=repo)
    assert "already version 2: nothing changed" in again.stdout


def test_promote_refuses_a_version_below_the_high_water_mark_unless_forced(repo):
    _history(repo)
    refused = invoke_cli("promote", "--token", "CHURN-001", "--version", "3", cwd=repo)
    assert refused.returncode == 1
    message = refused.stderr
    assert "not token `CHURN-001`'s rewarded high-water mark: that is version 2" in message
    assert "hokusai-action promote --token CHURN-001 --version 2" in message
    assert "--force" in message
    assert "Traceback" not in message
    forced = invoke_cli("promote", "--token", "CHURN-001", "--version", "3", "--force",
                     "--format", "json", cwd=repo)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    data = json.loads(forced.stdout)
    assert (data["version"], data["previous_version"], data["forced"]) == (3, 1, True)
    assert data["high_water_mark"] == {"model_name": MODEL, "version": 2}


def test_promote_names_what_is_wrong_with_a_token_or_version(repo):
    _history(repo)
    unknown = invoke_cli("promote", "--token", "CHURN-404", "--version", "2", cwd=repo)
    assert unknown.returncode == 1
    assert "no registered version carries token `CHURN-404`" in unknown.stderr
    missing = invoke_cli("promote", "--token", "CHURN-001", "--version", "9", cwd=repo)
    assert "no version 9 of `customer-churn-predictor`" in missing.stderr
    assert "its versions: 1, 2, 3" in missing.stderr
    bad_alias = invoke_cli("promote", "--token", "CHURN-001", "--version", "2", "--alias",
                        "latest", cwd=repo)  # fmt: skip
    assert bad_alias.returncode == 2
    assert "cannot be an MLflow alias" in bad_alias.stderr


def test_promote_on_a_tracking_server(repo, mlflow_server: Server, unique: str):
    manifest = repo / "churn" / "hokusai.yaml"
    text = manifest.read_text().replace("CHURN-001", f"CHURN-{unique}")
    manifest.write_text(text.replace(f"name: {MODEL}", f"name: {MODEL}-{unique}"))
    _history(repo, "--tracking-uri", mlflow_server.uri)
    done = invoke_cli("promote", "--token", f"CHURN-{unique}", "--version", "2", "--tracking-uri",
                   mlflow_server.uri, cwd=repo, env={"GITHUB_ACTOR": "octo"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"MLFLOW_TRACKING_URI={mlflow_server.uri} python -c" in done.stdout
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)
    champion = client.get_model_version_by_alias(f"{MODEL}-{unique}", "champion")
    assert (champion.version, champion.tags["hokusai_promoted_by"]) == ("2", "octo")


def test_register_into_the_embedded_registry_prints_the_line_that_loads_the_model(repo):
    done = invoke_cli("register", "churn", cwd=repo)
    assert done.returncode == 0, done.stderr
    uri = f"sqlite:///{(repo / '.hokusai' / 'mlflow.db').as_posix()}"
    (line,) = [ln for ln in done.stdout.splitlines() if "load it: " in ln]
    command = line.split("load it: ", 1)[1]
    assert command.startswith(f"MLFLOW_TRACKING_URI={uri} python -c ")
    assert f"models:/{MODEL}@champion" in command
    env = cli_environment(
        {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    )
    loaded = subprocess.run(["bash", "-c", command], cwd=repo.parent, env=env,
                            capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert "flavor: mlflow.sklearn" in loaded.stdout
