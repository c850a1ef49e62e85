"""action.yml and the Dockerfile, checked with the ecosystem's own tools and against the
entrypoint that reads them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hokusai_action.github.action import (
    INPUT_DEFAULTS,
    InputError,
    PullRequest,
    PullRequestMismatch,
    Runner,
    RunResult,
    Settings,
    _outputs,
    event_pull_request,
    read_inputs,
)
from tests.conftest import PROJECT

ACTION = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
DOCKERFILE = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def test_action_yml_passes_the_github_actions_schema():
    command = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions"]
    result = subprocess.run(
        [*command, str(PROJECT / "action.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [str(BIN / "hadolint"), str(PROJECT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hadolint_exception_is_justified_inline():
    lines = DOCKERFILE.splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore" in line:
            reason = lines[i - 1]
            assert reason.startswith("#"), "explain the ignore on the line above it"
            assert len(reason) > 20, "explain the ignore on the line above it"


def test_dockerfile_follows_githubs_rules_for_container_actions():
    assert not re.search(r"^WORKDIR ", DOCKERFILE, re.M)  # the runner sets the working directory
    assert not re.search(r"^USER ", DOCKERFILE, re.M)  # GitHub requires root
    base = re.search(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert base is not None
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim(-\w+)?", base.group(1)), (
        "pin the base by version"
    )
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", DOCKERFILE, re.M).group(1))  # type: ignore[union-attr]
    assert entrypoint[0].startswith("/"), "absolute entrypoint"


def test_dockerfile_installs_the_action_extra_only():
    # requirements/action.lock is the `action` extra, locked (tests/container/test_lock.py).
    assert "--require-hashes -r /tmp/action.lock" in DOCKERFILE
    assert "--no-deps /tmp/wheels/*.whl" in DOCKERFILE  # the project alone, nothing unlocked
    assert "[test]" not in DOCKERFILE


def test_action_runs_in_docker_from_the_dockerfile():
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert ACTION["branding"]["icon"]
    assert ACTION["branding"]["color"]


def test_entrypoint_knows_every_input_with_action_ymls_default():
    declared = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    assert set(declared) == set(INPUT_DEFAULTS)
    for name, default in declared.items():
        if not default.startswith("${{"):  # expressions are evaluated by the runner
            assert INPUT_DEFAULTS[name] == default, name
    required = {name for name, spec in ACTION["inputs"].items() if spec.get("required")}
    assert required == set()  # every input has a default; the runner does not enforce it


def readme_table(kind: str) -> dict[str, list[str]]:
    """docs/action.md's table of action inputs or outputs (`kind`): name -> the other cells."""
    readme = (PROJECT / "docs" / "action.md").read_text(encoding="utf-8")
    section = readme.split("## Inputs and outputs", 1)[1].split("\n## ", 1)[0]
    table = section.split(f"\n| {kind} |", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in table.splitlines()[2:]:  # after the header's rest and the --- line
        name, *cells = (cell.strip() for cell in line.strip().strip("|").split(" | "))
        rows[name.strip("`")] = cells
    return rows


def test_action_yml_the_entrypoint_and_the_readme_tables_list_the_same_inputs():
    declared = list(ACTION["inputs"])
    assert declared == list(INPUT_DEFAULTS)  # the same names, in the same order
    table = readme_table("input")
    assert list(table) == declared
    for name, spec in ACTION["inputs"].items():
        default = str(spec.get("default", ""))
        if default:  # an empty default is described in words (`the event's`, ...)
            assert table[name][0] == f"`{default}`", name


def test_action_yml_the_entrypoint_and_the_readme_tables_list_the_same_outputs():
    written = list(_outputs(RunResult(), ".hokusai/action-results.json"))
    assert sorted(ACTION["outputs"]) == sorted(written)
    assert list(readme_table("output")) == list(ACTION["outputs"])
    assert all(spec.get("description") for spec in ACTION["outputs"].values())


def test_outputs_of_a_run_that_judged_nothing_say_so():
    outputs = _outputs(RunResult(), ".hokusai/action-results.json")
    assert (outputs["models"], outputs["comment-id"], outputs["deltaone"]) == ("0", "", "false")


def runner_env(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Inputs as a runner passes them: INPUT_ + upper-cased name, hyphens kept, defaults set."""
    env = {}
    for name, spec in ACTION["inputs"].items():
        default = str(spec.get("default", ""))
        env[f"INPUT_{name.upper()}"] = "ghs_evaluated" if default.startswith("${{") else default
    env.update(overrides or {})
    return env


def test_every_input_reaches_the_entrypoint_under_its_runner_name():
    values = {name: f"value-of-{name}" for name in ACTION["inputs"]}
    env = runner_env({f"INPUT_{name.upper()}": value for name, value in values.items()})
    assert "INPUT_TRACKING-URI" in env  # the hyphen is kept, as runners do
    assert read_inputs(env) == values


def test_runner_defaults_alone_are_enough():
    inputs = read_inputs(runner_env())
    assert inputs["mode"] == "auto"
    assert inputs["comment"] == "true"


def test_an_empty_mode_means_auto():
    assert read_inputs(runner_env({"INPUT_MODE": ""}))["mode"] == "auto"


def test_an_empty_github_token_is_no_error_until_a_comment_needs_it():
    assert read_inputs(runner_env({"INPUT_GITHUB-TOKEN": ""}))["github-token"] == ""


def settings(**overrides: str) -> Settings:
    inputs = read_inputs(runner_env({f"INPUT_{k.upper()}": v for k, v in overrides.items()}))
    return Settings.from_inputs(inputs)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("pull-request", "abc", "pull request number"),
        ("manifests", "/etc/hosts", "relative to the repository root"),
        ("manifests", "../other/hokusai.yaml", "no `..`"),
        ("deltaone-threshold", "2", "at most 1"),
        ("deltaone-threshold", "lots", "above 0"),
        ("mode", "deploy", "must be one of"),
        ("comment", "maybe", "true or false"),
        ("rule", "percent", "one of auto, points, relative"),
        ("promote", "king", "one of challenger, champion"),
        ("missing-paths", "skip", "one of error, warn, ignore"),
        ("strict", "very", "true or false"),
        ("retries", "11", "from 0 to 10"),
        ("timeout", "0", "from 1 to 600"),
        ("tolerance", "-1", "a number >= 0"),
        ("env-manager", "conda", "one of local, uv, virtualenv"),
        ("pull-request-measurements", "../results.json", "no `..`"),
    ],
)
def test_every_input_is_checked_before_anything_runs(name, value, says):
    with pytest.raises(InputError, match=re.escape(says)):
        settings(**{name: value})


def test_inputs_become_typed_settings():
    s = settings(
        **{
            "pull-request": "12",
            "deltaone-threshold": "0.02",
            "comment": "false",
            "manifests": "a/hokusai.yaml b/*.yml",
        }
    )
    assert (s.pull_request, s.threshold, s.comment) == (12, 0.02, False)
    assert s.manifests == ("a/hokusai.yaml", "b/*.yml")
    measuring = settings(tolerance="0.001", **{"env-manager": "UV"})
    assert (measuring.tolerance, measuring.env_manager) == ("0.001", "uv")


def runner(event_name: str, event: dict) -> Runner:
    return Runner(Path(), event_name, event, "d" * 40, "o/r", "http://api", None, None)


def test_a_deleted_fork_is_a_fork():
    event = {"pull_request": {"head": {"repo": None}, "base": {"repo": {"full_name": "o/r"}}}}
    assert runner("pull_request", event).from_fork


def test_a_pull_request_from_another_repository_is_a_fork():
    def pr(head: str) -> dict:
        return {
            "pull_request": {
                "head": {"repo": {"full_name": head}},
                "base": {"repo": {"full_name": "o/r"}},
            }
        }

    assert runner("pull_request", pr("mallory/r")).from_fork
    assert not runner("pull_request", pr("o/r")).from_fork
    assert not runner("push", {}).from_fork


def test_under_workflow_run_the_commit_is_the_runs_head_not_github_sha():
    assert runner("workflow_run", {"workflow_run": {"head_sha": "e" * 40}}).commit == "e" * 40
    assert runner("push", {}).commit == "d" * 40


@pytest.mark.parametrize(
    ("event", "mode"),
    [("push", "register"), ("pull_request", "compare"), ("workflow_run", "compare")],
)
def test_auto_mode_registers_on_push_and_compares_otherwise(event, mode):
    assert runner(event, {}).default_mode() == mode


def workflow_run(pull_requests: list, head_sha: str | None = "e" * 40) -> Runner:
    run = {"head_sha": head_sha, "pull_requests": pull_requests}
    return runner("workflow_run", {"workflow_run": run})


def listed(number: int, sha: str = "e" * 40, base: str = "o/r") -> dict:
    repo = {"url": f"https://api.github.com/repos/{base}"}
    return {"number": number, "head": {"sha": sha}, "base": {"repo": repo}}


def test_workflow_run_takes_a_listed_pull_request_without_a_check():
    assert event_pull_request(workflow_run([listed(4)]), None) == PullRequest(4)
    both = workflow_run([listed(4), listed(5)])  # one branch into two bases
    assert event_pull_request(both, 5) == PullRequest(5)


def test_workflow_run_checks_an_input_github_does_not_list_for_the_run():
    stale = workflow_run([listed(4, sha="f" * 40), listed(6, base="mallory/r")])
    assert event_pull_request(stale, None) is None
    assert event_pull_request(stale, 4) == PullRequest(4, check_head="e" * 40)
    assert event_pull_request(workflow_run([listed(4)]), 9).check_head == "e" * 40


def test_workflow_run_without_a_head_commit_cannot_check_the_input():
    with pytest.raises(PullRequestMismatch, match="cannot be checked"):
        event_pull_request(workflow_run([], head_sha=None), 4)


def test_a_pull_request_event_is_its_own_and_closed_says_so():
    event = {"action": "closed", "number": 3, "pull_request": {"number": 3, "state": "closed"}}
    assert event_pull_request(runner("pull_request", event), None) == PullRequest(3, closed=True)
    # another pull request named by the input is not the closed one
    assert event_pull_request(runner("pull_request", event), 8) == PullRequest(8)
    assert event_pull_request(runner("push", {}), None) is None
