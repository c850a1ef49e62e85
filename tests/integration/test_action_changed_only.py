"""`changed-only`: on a pull request the action compares and comments on the models the pull
request changes, read from `GET /repos/{owner}/{repo}/pulls/{n}/files` (paginated), and
nothing else. Run through the entrypoint as a runner runs it, against a real MLflow server
(behind a recording proxy) and the GitHub stand-in."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.integration.test_action_entrypoint import (
    API_KEY,
    PUSH,
    REPO,
    Workspace,
    assert_no_secret,
    pr_event,
)
from tests.support.counting_proxy import counting_proxy
from tests.support.github_api import BOT, FakeGitHub

FILES = f"/repos/{REPO}/pulls/7/files"
DRY_RUN = {"tracking-uri": "http://127.0.0.1:9", "dry-run": "true"}  # no registry at all


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """Three manifests: churn-classifier, sentiment-improvement and a copy of churn."""
    (tmp_path / "ws").mkdir()
    ws = Workspace(tmp_path / "ws", tmp_path)
    shutil.copytree(ws.root / "churn-classifier", ws.root / "churn-copy")
    manifest = ws.root / "churn-copy" / "hokusai.yaml"
    text = manifest.read_text()
    name = ws.names["churn-classifier"]
    token = re.search(r"token_id: (\S+)", text).group(1)  # type: ignore[union-attr]
    manifest.write_text(text.replace(name, f"{name}-copy").replace(token, f"{token}-COPY"))
    ws.names["churn-copy"] = f"{name}-copy"
    ws.in_process = True  # what a run decides; test_action_entrypoint.py runs the process
    return ws


@pytest.fixture
def github(httpserver) -> FakeGitHub:
    return FakeGitHub(httpserver, files_page_size=1)  # every file a page of its own


def commented_models(ws: Workspace, github: FakeGitHub, number: int = 7) -> set[str]:
    return {
        example
        for example, name in ws.names.items()
        for c in github.on(number)
        if f": {name}\n" in c["body"]
    }


def test_only_the_changed_model_is_compared_and_commented(ws, github, mlflow_server):
    github.change(7, "README.md", "docs/notes.md", "churn-classifier/hokusai.yaml")
    ws.set_value("churn-classifier", 0.95)
    with counting_proxy(mlflow_server.uri) as registry:
        inputs = {"tracking-uri": registry.url, "api-key": API_KEY}
        run = ws.run("pull_request", pr_event(), inputs, github.url)
    assert run.code == 0, run.log
    assert github.reads.count(FILES) == 3  # three pages, followed by their Link headers
    assert commented_models(ws, github) == {"churn-classifier"}
    assert len(github.on(7)) == 1
    assert registry.mentioning(ws.names["churn-classifier"])  # it was compared
    for untouched in ("sentiment-improvement", "churn-copy"):
        assert registry.mentioning(ws.names[untouched]) == []  # not one request
        line = next(x for x in run.summary.splitlines() if ws.names[untouched] in x)
        assert "not compared" in line
    assert "changes 1 of 3 model(s)" in run.log
    assert run.outputs["status"] == "compared"
    assert_no_secret(run, github)


def test_a_file_renamed_away_from_a_model_path_touches_that_model(ws, github):
    github.change(
        7,
        "archive/sentiment.pt",
        renamed_from="sentiment-improvement/model/sentiment.pt",
    )
    run = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert run.code == 0, run.log
    assert commented_models(ws, github) == {"sentiment-improvement"}


def test_a_pull_request_changing_no_model_contacts_no_registry_and_posts_nothing(ws, github):
    github.change(7, "README.md")
    # Not a dry run, and the registry is unreachable: any registry request would fail the step.
    run = ws.run("pull_request", pr_event(), {"tracking-uri": "http://127.0.0.1:9"}, github.url)
    assert run.code == 0, run.log
    assert github.comments == []
    assert "This pull request changes no model." in run.summary
    assert all(ws.names[e] in run.summary for e in ws.names)


def test_past_githubs_3000_files_every_model_is_compared_with_a_notice(ws, httpserver):
    github = FakeGitHub(httpserver)  # 100 files a page, as GitHub at most
    github.change(7, *(f"data/shard-{i}.csv" for i in range(3001)))
    run = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert run.code == 0, run.log
    assert "::notice::changed-only: every model is compared, because GitHub lists at most " in (
        run.log
    )
    assert commented_models(ws, github) == set(ws.names)


def test_when_the_files_cannot_be_listed_every_model_is_compared_with_a_notice(ws, github):
    run = ws.run("pull_request", pr_event(8), DRY_RUN, github.url)  # the stand-in answers 404
    assert run.code == 0, run.log
    assert "::notice::changed-only: every model is compared, because the pull request's " in (
        run.log
    )
    assert commented_models(ws, github, 8) == set(ws.names)


def test_a_comment_for_a_model_no_longer_changed_says_so(ws, github):
    github.change(7, "churn-classifier/hokusai.yaml", "churn-copy/hokusai.yaml")
    first = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert first.code == 0, first.log
    assert commented_models(ws, github) == {"churn-classifier", "churn-copy"}
    copy = next(c for c in github.on(7) if ws.names["churn-copy"] in c["body"])

    github.files[7] = []  # a later push reverts churn-copy: only churn-classifier is changed
    github.change(7, "churn-classifier/hokusai.yaml")
    second = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert second.code == 0, second.log
    assert len(github.on(7)) == 2  # updated in place, nothing new
    assert copy["body"].splitlines()[1] == (
        f"### ⚪ No longer changed by this pull request: {ws.names['churn-copy']}"
    )
    assert "comment updated (no longer changed by this pull request)" in second.log

    writes = len(github.writes)
    third = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert third.code == 0, third.log
    assert len(github.writes) == writes  # both comments already say what they should


def test_changed_only_false_compares_every_model_without_listing_files(ws, github):
    github.change(7, "churn-classifier/hokusai.yaml")
    run = ws.run("pull_request", pr_event(), {**DRY_RUN, "changed-only": "false"}, github.url)
    assert run.code == 0, run.log
    assert FILES not in github.reads
    assert commented_models(ws, github) == set(ws.names)


def test_push_registers_every_manifest_without_listing_files(ws, github, mlflow_server):
    inputs = {"tracking-uri": mlflow_server.uri, "api-key": API_KEY}
    run = ws.run("push", PUSH, inputs, github.url)
    assert run.code == 0, run.log
    assert not any("/pulls/" in path for path in github.reads)
    results = json.loads((ws.root / run.outputs["results-json"]).read_text())["results"]
    assert [r["status"] for r in results] == ["registered"] * 3


def test_a_changed_only_input_that_is_not_a_switch_is_a_usage_error(ws):
    run = ws.run("pull_request", pr_event(), {**DRY_RUN, "changed-only": "sometimes"})
    assert run.code == 2, run.log
    assert "::error::input `changed-only` must be true or false, not 'sometimes'" in run.log


def gone_comment(github: FakeGitHub) -> dict:
    """Our earlier comment on a model no manifest names any more."""
    from hokusai_action.github.comment import marker

    return github.add(7, f"{marker('model-removed-by-the-pr')}\n### old result", BOT)


def test_a_comment_for_a_model_no_manifest_names_any_more_says_so(ws, github):
    github.change(7, "churn-classifier/hokusai.yaml", "gone/hokusai.yaml")
    gone = gone_comment(github)
    run = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert run.code == 0, run.log
    assert gone["body"].splitlines()[1] == "### ⚪ No longer in this pull request's results"


def test_with_a_manifests_glob_other_models_comments_are_left_to_their_own_job(ws, github):
    github.change(7, "churn-classifier/hokusai.yaml")
    gone = gone_comment(github)
    inputs = {**DRY_RUN, "manifests": "churn-*/hokusai.yaml"}
    run = ws.run("pull_request", pr_event(), inputs, github.url)
    assert run.code == 0, run.log
    assert gone["body"].endswith("### old result")
    assert commented_models(ws, github) == {"churn-classifier"}


def test_a_changed_model_keeps_its_comment_when_the_registry_fails(ws, github):
    github.change(7, "churn-classifier/hokusai.yaml")
    ws.run("pull_request", pr_event(), DRY_RUN, github.url)  # the comment with a result
    (ours,) = github.on(7)
    before = ours["body"]
    run = ws.run("pull_request", pr_event(), {"tracking-uri": "http://127.0.0.1:9"}, github.url)
    assert run.code == 1  # the registry cannot be reached
    assert ours["body"] == before  # not called "no longer changed"
