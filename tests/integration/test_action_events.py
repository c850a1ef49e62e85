"""The entrypoint on the webhook payloads GitHub sends (the shapes of octokit's published
examples): which pull request a comment goes to, when it may be posted, and the inputs that
carry the command line's decision options (issue 10, items 2 and 3). Run as a runner runs it,
against a real MLflow server and the GitHub stand-in."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest

from tests.conftest import PROJECT
from tests.integration.test_action_entrypoint import (
    API_KEY,
    REPO,
    SHA,
    Workspace,
    assert_no_secret,
)
from tests.support.github_api import FakeGitHub

FORK = "mallory/models"
CHURN = "churn-classifier/hokusai.yaml"
RUN_SHA = "5eed" + "1" * 36  # the commit a workflow_run is for


def repository(full_name: str | None) -> dict[str, Any] | None:
    if full_name is None:
        return None
    owner, name = full_name.split("/")
    return {
        "id": abs(hash(full_name)) % 10**6,
        "name": name,
        "full_name": full_name,
        "owner": {"login": owner, "type": "User"},
        "private": False,
        "fork": full_name != REPO,
        "url": f"https://api.github.com/repos/{full_name}",
    }


def pull_request_event(
    action: str, number: int = 7, *, head_repo: str | None = REPO, sha: str = SHA
) -> dict[str, Any]:
    """A `pull_request` webhook payload; `head_repo` None is a deleted fork."""
    closed = action == "closed"
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/{REPO}/pulls/{number}",
            "id": 1000 + number,
            "number": number,
            "state": "closed" if closed else "open",
            "locked": False,
            "title": "Better churn model",
            "user": {"login": "mallory", "type": "User"},
            "merged": False,
            "head": {
                "label": "mallory:feature",
                "ref": "feature",
                "sha": sha,
                "repo": repository(head_repo),
            },
            "base": {
                "label": "octo:main",
                "ref": "main",
                "sha": "b" * 40,
                "repo": repository(REPO),
            },
        },
        "repository": repository(REPO),
        "sender": {"login": "mallory", "type": "User"},
    }


def listed(number: int, sha: str = RUN_SHA, base: str = REPO) -> dict[str, Any]:
    """An entry of `workflow_run.pull_requests`, in GitHub's short shape."""

    def side(name: str, ref: str, commit: str) -> dict[str, Any]:
        short = {"id": 1, "url": f"https://api.github.com/repos/{name}", "name": name.split("/")[1]}
        return {"ref": ref, "sha": commit, "repo": short}

    return {
        "url": f"https://api.github.com/repos/{base}/pulls/{number}",
        "id": 2000 + number,
        "number": number,
        "head": side(REPO, "feature", sha),
        "base": side(base, "main", "b" * 40),
    }


def workflow_run_event(
    pull_requests: list[dict[str, Any]], head_sha: str = RUN_SHA, head_repo: str = FORK
) -> dict[str, Any]:
    """A `workflow_run` `completed` payload for part 1 of the fork-safe pattern."""
    return {
        "action": "completed",
        "workflow_run": {
            "id": 9001,
            "name": "DeltaOne check (untrusted)",
            "event": "pull_request",
            "status": "completed",
            "conclusion": "success",
            "head_branch": "feature",
            "head_sha": head_sha,
            "pull_requests": pull_requests,
            "head_repository": repository(head_repo),
            "repository": repository(REPO),
        },
        "workflow": {"id": 77, "name": "DeltaOne check (untrusted)"},
        "repository": repository(REPO),
        "sender": {"login": "mallory", "type": "User"},
    }


@pytest.fixture
def ws(ws: Workspace) -> Workspace:
    """The conftest's workspace, its entrypoint run in this process: these tests are about
    what a run decides; test_action_entrypoint.py runs the process as a runner does."""
    ws.in_process = True
    return ws


@pytest.fixture
def inputs(mlflow_server) -> dict[str, str]:
    return {"tracking-uri": mlflow_server.uri, "api-key": API_KEY, "manifests": CHURN}


# -- pull_request events ---------------------------------------------------------------------


def pulls_read(github) -> list[str]:
    """The pull requests the run read (not their files or comments)."""
    return [path for path in github.reads if re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/[0-9]+", path)]


def test_opened_posts_a_comment_and_sets_comment_id_and_models(ws, github, inputs):
    run = ws.run("pull_request", pull_request_event("opened"), inputs, github.url)
    assert run.code == 0, run.log
    (comment,) = github.on(7)
    assert run.outputs["comment-id"] == str(comment["id"])
    assert run.outputs["models"] == "1"
    assert_no_secret(run, github)


def test_synchronize_updates_the_same_comment_and_keeps_its_id(ws, github, inputs):
    first = ws.run("pull_request", pull_request_event("opened"), inputs, github.url)
    ws.set_value("churn-classifier", 0.95)
    again = ws.run("pull_request", pull_request_event("synchronize"), inputs, github.url)
    assert again.code == 0, again.log
    (comment,) = github.on(7)
    assert "0.95" in comment["body"]
    assert [m for m, _ in github.writes] == ["POST", "PATCH"]
    assert again.outputs["comment-id"] == first.outputs["comment-id"] == str(comment["id"])


def test_closed_changes_no_comment_and_says_so_in_a_notice(ws, github, inputs):
    ws.run("pull_request", pull_request_event("opened"), inputs, github.url)
    before = json.dumps(github.comments)
    ws.set_value("churn-classifier", 0.95)
    run = ws.run("pull_request", pull_request_event("closed"), inputs, github.url)
    assert run.code == 0, run.log
    assert "::notice::pull request #7 is closed: its comment is left as it is" in run.log
    assert json.dumps(github.comments) == before
    assert [m for m, _ in github.writes] == ["POST"]
    assert "0.95" in run.summary  # the result is still in the step summary
    assert run.outputs["comment-id"] == ""


def test_a_fork_with_an_empty_token_warns_and_does_not_fail(ws, github, inputs):
    """`github-token: ${{ secrets.PAT }}` is empty on a fork's pull request."""
    event = pull_request_event("opened", head_repo=FORK)
    run = ws.run("pull_request", event, {**inputs, "github-token": ""}, github.url)
    assert run.code == 0, run.log
    assert "::warning::input `github-token` is empty, so no pull-request comment" in run.log
    assert github.authorizations == []  # GitHub was not even asked
    assert run.outputs["models"] == "1"


def test_a_deleted_fork_is_a_fork_without_secrets_it_warns_not_fails(ws, httpserver):
    github = FakeGitHub(httpserver, read_only=True)
    event = pull_request_event("synchronize", head_repo=None)
    dead = {"tracking-uri": "http://127.0.0.1:9", "retries": "0", "timeout": "1"}
    run = ws.run("pull_request", event, {**dead, "manifests": CHURN}, github.url)
    assert run.code == 0, run.log
    assert "::warning::could not compare from a fork's pull request" in run.log
    assert "::error" not in run.log


def test_a_deleted_forks_comment_refused_points_to_the_workflow_run_pattern(ws, httpserver, inputs):
    github = FakeGitHub(httpserver, read_only=True)
    run = ws.run("pull_request", pull_request_event("opened", head_repo=None), inputs, github.url)
    assert run.code == 0, run.log
    assert "::warning::could not post the pull-request comment" in run.log
    assert "workflow_run" in run.log


@pytest.mark.parametrize(
    "extra", [{"mode": "validate"}, {"comment": "false"}], ids=["validate", "comment-false"]
)
def test_an_empty_token_is_fine_when_no_comment_is_posted(ws, github, inputs, extra):
    run = ws.run(
        "pull_request",
        pull_request_event("opened"),
        {**inputs, "github-token": "", **extra},
        github.url,
    )
    assert run.code == 0, run.log
    # no warning; changed-only may say in a notice that it compares every model without one
    said = [line for line in run.log.splitlines() if "github-token" in line]
    assert not [line for line in said if line.startswith(("::warning", "::error"))]
    assert github.authorizations == []


# -- workflow_run events ---------------------------------------------------------------------
def test_workflow_run_comments_on_the_pull_request_github_lists(ws, github, inputs):
    event = workflow_run_event([listed(12)])
    run = ws.run("workflow_run", event, inputs, github.url, sha="d" * 40)
    assert run.code == 0, run.log
    assert len(github.on(12)) == 1
    assert pulls_read(github) == []  # GitHub listed it for this run: nothing to check


def test_workflow_run_ignores_listed_pull_requests_of_another_base(ws, github, inputs):
    """A fork's run can list the fork's own pull requests: their base is not this repository."""
    event = workflow_run_event([listed(3, base=FORK)])
    run = ws.run("workflow_run", event, inputs, github.url)
    assert run.code == 0, run.log
    assert "no pull request for this event" in run.log
    assert github.comments == []


def test_workflow_run_without_pull_requests_checks_the_input_then_comments(ws, github, inputs):
    github.add_pull(31, RUN_SHA, head_repo=FORK)
    event = workflow_run_event([])
    run = ws.run("workflow_run", event, {**inputs, "pull-request": "31"}, github.url)
    assert run.code == 0, run.log
    assert pulls_read(github) == [f"/repos/{REPO}/pulls/31"]
    assert len(github.on(31)) == 1
    assert run.outputs["comment-id"] == str(github.on(31)[0]["id"])


def test_workflow_run_with_another_pull_requests_number_fails_and_posts_nothing(ws, github, inputs):
    """A fork's artifact names pull request 5, whose head is not the run's commit."""
    github.add_pull(5, "e" * 40)
    github.add(5, "someone else's pull request", "alice")
    event = workflow_run_event([])
    run = ws.run("workflow_run", event, {**inputs, "pull-request": "5"}, github.url)
    assert run.code == 1
    assert "::error::input `pull-request` is #5, whose head commit is eeeeeeeeeeee" in run.log
    assert f"is for {RUN_SHA[:12]}" in run.log
    assert github.writes == []
    assert "Traceback" not in run.log
    assert_no_secret(run, github)


def test_workflow_run_for_a_deleted_fork_is_checked_like_any_other(ws, github, inputs):
    github.add_pull(40, RUN_SHA, head_repo=None)
    event = workflow_run_event([])
    run = ws.run("workflow_run", event, {**inputs, "pull-request": "40"}, github.url)
    assert run.code == 0, run.log
    assert len(github.on(40)) == 1


def test_workflow_run_for_a_closed_pull_request_posts_nothing(ws, github, inputs):
    github.add_pull(41, RUN_SHA, state="closed")
    event = workflow_run_event([])
    run = ws.run("workflow_run", event, {**inputs, "pull-request": "41"}, github.url)
    assert run.code == 0, run.log
    assert "::notice::pull request #41 is closed" in run.log
    assert github.writes == []


def test_workflow_run_whose_pull_request_cannot_be_read_warns_and_posts_nothing(ws, github, inputs):
    event = workflow_run_event([])
    run = ws.run("workflow_run", event, {**inputs, "pull-request": "404"}, github.url)
    assert run.code == 0, run.log
    assert "::warning::could not check that pull request #404 is this run's" in run.log
    assert github.writes == []


def test_workflow_run_with_an_input_and_no_token_posts_nothing_unchecked(ws, github, inputs):
    event = workflow_run_event([])
    run = ws.run(
        "workflow_run", event, {**inputs, "pull-request": "31", "github-token": ""}, github.url
    )
    assert run.code == 0, run.log
    assert "::warning::input `github-token` is empty" in run.log
    assert github.authorizations == []


# -- the command line's decision options as inputs ---------------------------------------------
def test_rule_points_for_an_unbounded_metric_is_a_usage_error_naming_the_input(ws, github):
    shutil.copytree(PROJECT / "examples" / "house-prices", ws.root / "house-prices")
    run = ws.run(
        "push",
        {"ref": "refs/heads/main", "after": SHA, "repository": repository(REPO)},
        {"manifests": "house-prices/hokusai.yaml", "rule": "points", "dry-run": "true"},
        github.url,
    )
    assert run.code == 2, run.log
    assert "::error::input `rule`" in run.log
    assert "rule: points needs a metric capped at 1" in run.log


def test_promote_champion_gives_a_deltaone_the_champion_alias(ws, inputs):
    push = {"ref": "refs/heads/main", "after": SHA, "repository": repository(REPO)}
    assert ws.run("push", push, inputs).code == 0
    ws.set_value("churn-classifier", 0.9512)
    run = ws.run("push", push, {**inputs, "promote": "champion"})
    assert run.code == 0, run.log
    assert run.outputs["deltaone"] == "true"
    results = json.loads((ws.root / run.outputs["results-json"]).read_text())
    assert results["results"][0]["aliases"] == ["champion"]


def test_retries_and_timeout_reach_the_registry_client(ws):
    push = {"ref": "refs/heads/main", "after": SHA, "repository": repository(REPO)}
    dead = {"tracking-uri": "http://127.0.0.1:9", "retries": "0", "timeout": "1"}
    run = ws.run("push", push, {**dead, "manifests": CHURN})
    assert run.code == 1
    assert "0 retries, 1 s timeout each" in run.log


def test_missing_paths_warn_lets_validate_pass_without_the_model_files(ws):
    shutil.rmtree(ws.root / "churn-classifier" / "models")
    push = {"ref": "refs/heads/main", "after": SHA, "repository": repository(REPO)}
    strict = ws.run("push", push, {"mode": "validate", "manifests": CHURN})
    assert strict.code == 1
    relaxed = ws.run(
        "push", push, {"mode": "validate", "manifests": CHURN, "missing-paths": "warn"}
    )
    assert relaxed.code == 0, relaxed.log
    assert "::warning file=churn-classifier/hokusai.yaml" in relaxed.log


def test_strict_makes_a_warning_fail_the_step(ws):
    manifest = ws.root / "churn-classifier" / "hokusai.yaml"
    manifest.write_text(manifest.read_text().replace("metrics:\n", "metrics:\n  accuracy: 0.5\n"))
    push = {"ref": "refs/heads/main", "after": SHA, "repository": repository(REPO)}
    relaxed = ws.run("push", push, {"mode": "validate", "manifests": CHURN})
    assert "::warning file=churn-classifier/hokusai.yaml" in relaxed.log
    assert relaxed.code == 0, relaxed.log
    strict = ws.run("push", push, {"mode": "validate", "manifests": CHURN, "strict": "true"})
    assert strict.code == 1
    assert "(strict: warnings count)" in strict.log


def test_a_push_into_the_workspaces_throwaway_registry_is_refused_unless_asked_for(ws):
    """With no tracking-uri, a push registered into `.hokusai/mlflow.db` inside the runner's
    workspace, lost with the runner, and said "first registration ... champion": refused by
    default on a push under GitHub Actions; `embedded-registry: warn` allows it, loudly."""
    push = {"ref": "refs/heads/main", "after": SHA, "repository": repository(REPO)}
    refused = ws.run("push", push, {"manifests": CHURN})
    assert refused.code == 1, refused.log
    assert "::error::refused: registering into the embedded registry" in refused.log
    assert "embedded-registry: warn" in refused.log
    assert not (ws.root / ".hokusai" / "mlflow.db").exists()  # nothing registered
    assert "Refused" in refused.summary
    allowed = ws.run("push", push, {"manifests": CHURN, "embedded-registry": "warn"})
    assert allowed.code == 0, allowed.log
    assert "::warning::registering into the embedded registry" in allowed.log
    assert "lost with the runner" in allowed.summary
    results = json.loads((ws.root / allowed.outputs["results-json"]).read_text())
    assert any("lost with the runner" in n for n in results["results"][0]["notes"])
