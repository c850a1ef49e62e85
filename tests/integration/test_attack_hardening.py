"""Attacks on issue 9's hardening (secrets, forged workflow commands, special paths, hostile
payloads and registry answers). Each test here failed on the branch it was written against:
it states what should happen."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options as CmarkOptions

from tests.integration.test_action_entrypoint import Workspace, pr_event
from tests.support.cli import invoke_cli, run_cli  # invoke_cli: in this process
from tests.support.dropping_proxy import DroppingProxy

PASSWORD = "Zq7wXv9Kp2Lm"  # the secret part of the URIs below


def manifest(path: str, name: str = "attack-model", token: str = "ATTACK-001") -> str:
    return (
        f"version: 1\nmodel:\n  name: {name}\n  token_id: {token}\n  path: {path}\n"
        "benchmark:\n  metric: accuracy\n  value: 0.9\n"
    )


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    return path


def unmasked(log: str) -> str:
    """The log as shown: the runner consumes `::add-mask::` lines."""
    return "\n".join(line for line in log.splitlines() if not line.startswith("::add-mask::"))


def forged_lines(text: str) -> list[str]:
    """Lines a runner would read as a workflow command."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::")]


# -- secrets: a tracking URI whose user part the redaction does not recognise ---------------
@pytest.mark.parametrize(
    "uri",
    [
        f"http://admin:Pa#{PASSWORD}@mlflow.internal:5000",  # `#` in a password, not encoded
        f"http://admin:Pa/{PASSWORD}@mlflow.internal:5000",  # `/` in a password
        f"https://admin:Pa?{PASSWORD}@mlflow.internal",  # `?` in a password
        f"admin:{PASSWORD}@mlflow.internal:5000",  # the scheme forgotten
    ],
    ids=["hash", "slash", "question-mark", "no-scheme"],
)
def test_a_malformed_tracking_uri_never_prints_its_password(tmp_path: Path, uri: str):
    repo = git_repo(tmp_path / "repo")
    for env, args in (
        ({"MLFLOW_TRACKING_URI": uri}, ("doctor",)),
        ({}, ("doctor", "--tracking-uri", uri)),
        ({"MLFLOW_TRACKING_URI": uri}, ("--debug", "doctor")),
    ):
        result = run_cli(*args, cwd=repo, env=env)
        assert result.returncode == 2, result.stderr  # a usage error, as now
        assert PASSWORD not in result.stdout + result.stderr


def test_the_action_never_prints_the_password_of_a_tracking_uri_without_scheme(tmp_path: Path):
    (tmp_path / "ws").mkdir()
    ws = Workspace(tmp_path / "ws", tmp_path)
    inputs = {"tracking-uri": f"admin:{PASSWORD}@mlflow.internal:5000"}
    run = ws.run("push", {"ref": "refs/heads/main"}, inputs)
    assert run.code == 2, run.log
    shown = unmasked(run.log)
    for text in (shown, run.summary, *run.files.values()):
        assert PASSWORD not in text


# -- the action: hostile event payloads and inputs end in a message, never exit 3 -----------
DRY = {"dry-run": "true", "manifests": "churn-classifier/hokusai.yaml"}


def _event(case: str) -> tuple[str, dict, dict[str, str]]:
    event, inputs = pr_event(), dict(DRY)
    if case == "number-string":
        event["pull_request"]["number"] = "abc"
    elif case == "number-object":
        event["pull_request"]["number"] = {"id": 7}
    elif case == "pull-request-string":
        event["pull_request"] = "7"
    elif case == "workflow-run-string":
        return "workflow_run", {"workflow_run": "abc"}, {**inputs, "pull-request": "3"}
    return "pull_request", event, inputs


@pytest.mark.parametrize(
    "case",
    [
        "number-string",
        "number-object",
        "pull-request-string",
        "workflow-run-string",
    ],
)
def test_a_malformed_event_payload_is_not_an_internal_error(ws, github, case):
    name, event, inputs = _event(case)
    run = ws.run(name, event, inputs, github.url)
    assert run.code != 3, run.log
    assert "internal error" not in run.log


def test_a_deeply_nested_event_payload_is_not_an_internal_error(ws, github, monkeypatch):
    import tests.integration.test_action_entrypoint as entrypoint

    class NestedJson:  # what Workspace.run writes as the event file
        @staticmethod
        def dumps(data: object) -> str:
            return '{"pull_request": {"labels": ' + "[" * 100_000 + "]" * 100_000 + "}}"

        loads = staticmethod(json.loads)

    monkeypatch.setattr(entrypoint, "json", NestedJson)
    run = ws.run("pull_request", {}, DRY, github.url)
    assert run.code != 3, run.log
    assert "internal error" not in run.log


@pytest.mark.parametrize("pattern", ["models**", "**x/hokusai.yaml"])
def test_a_manifests_glob_python_refuses_is_a_usage_error(ws, github, pattern):
    run = ws.run("pull_request", pr_event(), {**DRY, "manifests": pattern}, github.url)
    assert run.code == 2, run.log  # a wrong input, named
    assert "internal error" not in run.log
    assert "input `manifests`" in run.log


def test_a_github_token_outside_latin_1_is_a_usage_error_not_a_crash(ws, github):
    token = "ghs_" + "a" * 10 + "\u20ac" + "b" * 10  # e.g. a token pasted through a word processor
    run = ws.run("pull_request", pr_event(), {**DRY, "github-token": token}, github.url)
    assert run.code != 3, run.log
    assert "internal error" not in run.log
    assert token not in unmasked(run.log)


# -- what a model is: any repository's `.git`, not only the root's ---------------------------
@pytest.fixture
def nested_clone(tmp_path: Path) -> Path:
    """A repository with a second repository checked out inside it (actions/checkout with
    `path:` does this, and keeps its token in that clone's .git/config)."""
    root = git_repo(tmp_path / "repo")
    other = git_repo(root / "vendor" / "other")
    subprocess.run(
        ["git", "config", "http.extraheader", "AUTHORIZATION: basic c2VjcmV0LXRva2Vu"],
        cwd=other,
        check=True,
    )
    model = root / "models" / "m"
    model.mkdir(parents=True)
    (model / "model.bin").write_bytes(b"weights")
    return root


@pytest.mark.parametrize(
    "path", ["vendor/other/.git", "vendor/other/.git/config", "models/m"], ids=str
)
def test_a_nested_repositorys_git_folder_is_never_a_model(nested_clone: Path, path: str):
    if path == "models/m":  # the model directory holds a symlink to the nested clone's config
        (nested_clone / "models" / "m" / "cfg").symlink_to("../../vendor/other/.git/config")
    (nested_clone / "hokusai.yaml").write_text(manifest(path))
    result = run_cli("validate", "hokusai.yaml", cwd=nested_clone)
    assert result.returncode == 1, result.stdout
    assert "[path-git]" in result.stdout


def test_register_never_uploads_a_nested_clones_git_config(nested_clone: Path):
    (nested_clone / "models" / "m" / "cfg").symlink_to("../../vendor/other/.git/config")
    (nested_clone / "hokusai.yaml").write_text(manifest("models/m"))
    invoke_cli("register", "hokusai.yaml", cwd=nested_clone)
    artifacts = nested_clone / ".hokusai" / "artifacts"
    uploaded = [p for p in artifacts.rglob("*") if p.is_file()] if artifacts.exists() else []
    assert not [p for p in uploaded if b"extraheader" in p.read_bytes()]


# -- forged workflow commands through text nobody escaped ------------------------------------
def test_init_prints_no_workflow_command_from_a_directory_name(tmp_path: Path):
    repo = git_repo(tmp_path / "repo")
    hostile = repo / "m\n::error file=README.md,line=1::FORGED"
    hostile.mkdir()
    (hostile / "MLmodel").write_text("flavors: {}\n")
    (hostile / "metrics.json").write_text('{"accuracy": 0.9}')
    result = run_cli("init", "--name", "n", "--token", "N-1", cwd=repo)
    assert forged_lines(result.stdout + "\n" + result.stderr) == []


def test_unexpected_extra_arguments_print_no_workflow_command(tmp_path: Path):
    result = run_cli("show", "model", "extra\n::error file=README.md::FORGED", cwd=tmp_path)
    assert result.returncode == 2
    assert forged_lines(result.stdout + "\n" + result.stderr) == []


# -- hostile registry answers ----------------------------------------------------------------
@pytest.fixture
def registered(tmp_path: Path) -> tuple[Path, str]:
    """An embedded registry holding one registration of `attack-model`."""
    repo = git_repo(tmp_path / "repo")
    (repo / "model.bin").write_bytes(b"weights")
    (repo / "hokusai.yaml").write_text(manifest("model.bin"))
    first = invoke_cli("register", "hokusai.yaml", cwd=repo)
    assert first.returncode == 0, first.stderr
    return repo, f"sqlite:///{repo / '.hokusai' / 'mlflow.db'}"


def _set_tag(uri: str, key: str, value: str) -> None:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=uri, registry_uri=uri).set_model_version_tag(
        "attack-model", "1", key, value
    )


def test_show_survives_a_superscript_digit_in_a_baseline_version_tag(registered):
    repo, uri = registered
    _set_tag(uri, "baseline_version", "\u00b2")  # "²".isdigit() is True, int("²") fails
    for fmt in ("json", "text"):
        result = invoke_cli("show", "attack-model", "--format", fmt, cwd=repo)
        assert result.returncode == 0, result.stderr
        assert "internal error" not in result.stderr


def _html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=CmarkOptions.CMARK_OPT_UNSAFE
    )


def test_an_attestation_tag_from_the_registry_cannot_put_a_link_in_the_comment(registered):
    repo, uri = registered
    _set_tag(uri, "hokusai_attestation_sha256", "x` [verify here](https://evil.example) @octo `")
    result = invoke_cli("register", "hokusai.yaml", "--format", "markdown", cwd=repo)
    assert result.returncode == 0, result.stderr
    html = _html(result.stdout)
    assert "evil.example" not in re.sub(r"<code>.*?</code>", "", html)
    assert "<a " not in html.replace('<a href="https://registry', "")


# -- paths escaping the repository: what the action writes -----------------------------------
@pytest.mark.parametrize("link", [".hokusai", ".hokusai/action-results.json"])
def test_the_action_writes_nothing_outside_the_workspace_through_a_committed_symlink(
    ws, github, tmp_path: Path, link: str
):
    """A pull request can commit `.hokusai` (or the results file) as a symlink; the action
    then writes its results (and the embedded registry) wherever it points."""
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim.txt"
    target.write_text("precious\n")
    if link == ".hokusai":
        (ws.root / link).symlink_to(outside)
    else:
        (ws.root / ".hokusai").mkdir()
        (ws.root / link).symlink_to(target)
    before = sorted(p.name for p in outside.iterdir())
    ws.run("pull_request", pr_event(), {**DRY, "mode": "compare"}, github.url)
    assert sorted(p.name for p in outside.iterdir()) == before
    assert target.read_text() == "precious\n"


# -- numbers on the command line ----------------------------------------------------------------
def test_a_max_model_size_too_large_for_a_float_is_a_usage_error(tmp_path: Path):
    repo = git_repo(tmp_path / "repo")
    (repo / "hokusai.yaml").write_text(manifest("model.bin"))
    result = run_cli("validate", "--max-model-size", "9" * 400, cwd=repo)
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr


# -- special files: the manifest itself ------------------------------------------------------
@pytest.mark.parametrize("args", [("models",), ("models/hokusai.yaml",)], ids=["search", "named"])
def test_a_fifo_named_hokusai_yaml_is_refused_without_being_opened(tmp_path: Path, args):
    """The pre-commit hook and the action search directories for hokusai.yaml: a FIFO by that
    name (a build step's leftover) must be an error, not a hook that never returns."""
    repo = git_repo(tmp_path / "repo")
    (repo / "models").mkdir()
    os.mkfifo(repo / "models" / "hokusai.yaml")
    try:
        result = run_cli("validate", *args, cwd=repo, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("validate blocked reading a FIFO named hokusai.yaml")
    assert result.returncode in (1, 2), result.stderr
    assert "FIFO" in result.stdout + result.stderr


# -- numbers: a valid manifest whose model.version has more digits than int() reads ----------
def test_register_takes_a_valid_semver_with_a_very_long_number(tmp_path: Path):
    repo = git_repo(tmp_path / "repo")
    (repo / "model.bin").write_bytes(b"weights")
    text = manifest("model.bin").replace(
        "  path: model.bin\n", f'  path: model.bin\n  version: "1.0.{"9" * 4400}"\n'
    )
    (repo / "hokusai.yaml").write_text(text)
    assert run_cli("validate", "hokusai.yaml", cwd=repo).returncode == 0  # the schema takes it
    result = invoke_cli("register", "hokusai.yaml", cwd=repo)
    assert result.returncode != 3, result.stderr  # registered, or refused with a message
    assert "internal error" not in result.stderr


# -- a registry whose answers are not what MLflow sends ---------------------------------------
class RewritingProxy(DroppingProxy):
    """Forwards to a real server, and answers every `model-versions/create` with a version
    that is not a number (same length, so Content-Length still holds)."""

    def _serve(self, client) -> None:  # type: ignore[no-untyped-def]
        import socket

        from tests.support.dropping_proxy import _read_message

        lines, body = _read_message(client)
        head = [line for line in lines if not line.lower().startswith(b"connection:")]
        head.append(b"Connection: close")
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60) as up:
            up.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
            answer = bytearray()
            while chunk := up.recv(65536):
                answer.extend(chunk)
        if b"model-versions/create" in lines[0]:
            answer = bytearray(
                re.sub(
                    rb'("version": ?")([0-9]+)"',
                    lambda m: m.group(1) + b"x" * len(m.group(2)) + b'"',
                    bytes(answer),
                )
            )
        client.sendall(bytes(answer))


def test_a_registry_answering_a_version_that_is_not_a_number_is_not_an_internal_error(
    mlflow_server, tmp_path: Path
):
    repo = git_repo(tmp_path / "repo")
    (repo / "model.bin").write_bytes(b"weights")
    suffix = os.urandom(4).hex().upper()
    (repo / "hokusai.yaml").write_text(manifest("model.bin", f"odd-{suffix}", f"ODD-{suffix}"))
    port = int(mlflow_server.uri.rsplit(":", 1)[1])
    with RewritingProxy(port) as proxy:
        result = invoke_cli("register", "hokusai.yaml", "--tracking-uri", proxy.uri, cwd=repo)
    assert result.returncode == 1, result.stderr  # the registry's fault: a message, exit 1
    assert "internal error" not in result.stderr


# -- tracking URIs the settings accept, then MLflow cannot open -------------------------------
@pytest.mark.parametrize(
    "uri",
    [
        "file:./mlruns",  # a file store, which our usage message offers (file:///PATH)
        "postgresql://user@127.0.0.1:9/db",  # a database whose driver is not installed
        "mysql://user@127.0.0.1:9/db",
        "postgresql+nodriver://127.0.0.1:9/db",
        "sqlite:////dev/zero",
    ],
)
def test_a_tracking_uri_mlflow_cannot_open_is_a_message_not_an_internal_error(
    tmp_path: Path, uri: str
):
    repo = git_repo(tmp_path / "repo")
    (repo / "model.bin").write_bytes(b"weights")
    (repo / "hokusai.yaml").write_text(manifest("model.bin"))
    args = ("--tracking-uri", uri, "--retries", "0", "--timeout", "2")
    for command in ("compare", "doctor"):
        result = run_cli(command, *args, cwd=repo, timeout=120)
        assert result.returncode in (1, 2), result.stderr
        assert "internal error" not in result.stderr


@pytest.mark.parametrize("sha", [123, {"sha": "f" * 40}], ids=["number", "object"])
def test_a_workflow_run_head_sha_that_is_not_text_is_not_an_internal_error(ws, github, sha):
    event = {"workflow_run": {"head_sha": sha}}
    inputs = {"mode": "register", "pull-request": "3", "manifests": DRY["manifests"]}
    run = ws.run("workflow_run", event, inputs, github.url)
    assert run.code != 3, run.log
    assert "internal error" not in run.log


def test_a_usage_error_naming_a_manifest_prints_no_workflow_command(tmp_path: Path):
    """A pull request can add a directory whose name holds a line break; `compare` finds the
    manifest in it and names it in click's usage error, which is printed as it is."""
    repo = git_repo(tmp_path / "repo")
    hostile = repo / "x\n::error file=README.md::FORGED"
    hostile.mkdir()
    (hostile / "model.bin").write_bytes(b"weights")
    (hostile / "hokusai.yaml").write_text(
        manifest("model.bin").replace("metric: accuracy", "metric: rmse")
    )
    dead = ("--tracking-uri", "http://127.0.0.1:9")
    result = run_cli("compare", "--rule", "points", *dead, cwd=repo)
    assert result.returncode == 2, result.stderr
    assert forged_lines(result.stdout + "\n" + result.stderr) == []
