"""The comment step keeps GitHub's rules for integrators (issue 16), run through the entrypoint
on real webhook payload shapes against the GitHub stand-in misbehaving as GitHub does. Dry runs:
no registry is needed.

Waits GitHub asks for (a minute for a secondary rate limit) are not slept here: those runs are
in-process, with the time the client module sees stood in for, so the waits asked for are
recorded and counted against the deadline as if they had passed."""

from __future__ import annotations

import itertools
import re
import shutil
import time
from pathlib import Path

import pytest

from hokusai_action.github import action, rest
from tests.integration.test_action_entrypoint import Run, Workspace, assert_no_secret, pr_event
from tests.integration.test_action_events import RUN_SHA, workflow_run_event
from tests.support.github_api import FakeGitHub

DRY_RUN = {"tracking-uri": "http://127.0.0.1:9", "dry-run": "true"}  # no registry at all
EXAMPLES = ("churn-classifier", "sentiment-improvement", "churn-copy")


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


def commented(ws: Workspace, github: FakeGitHub, number: int = 7) -> list[str]:
    """The examples with a comment, once per comment (a duplicate shows twice)."""
    return sorted(
        example
        for c in github.on(number)
        for example, name in ws.names.items()
        if f": {name}\n" in c["body"]
    )


# -- 1. a 5xx on POST ------------------------------------------------------------------------------
def test_a_502_after_github_made_the_comment_leaves_one_comment_per_model(ws, httpserver):
    github = FakeGitHub(httpserver, created_then_502=1)
    run = ws.run("pull_request", pr_event(), {**DRY_RUN, "changed-only": "false"}, github.url)
    assert run.code == 0, run.log
    assert commented(ws, github) == sorted(EXAMPLES)  # each once: no duplicate
    assert [m for m, _ in github.writes] == ["POST"] * 3
    assert github.listings(7) == 2  # once for the run, once more after the 502
    assert run.outputs["comment-id"] == str(github.on(7)[0]["id"])
    assert_no_secret(run, github)


# -- 3. one listing per run; writes a second apart -----------------------------------------------
def test_comments_are_listed_once_per_run_and_written_a_second_apart(ws, httpserver):
    github = FakeGitHub(httpserver)  # two comments a page: the listing follows Link headers
    github.add(7, "a person's comment", "alice")
    github.change(7, *(f"{e}/hokusai.yaml" for e in EXAMPLES))
    run = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert run.code == 0, run.log
    assert commented(ws, github) == sorted(EXAMPLES)
    assert github.listings(7) == 1  # not once per model, and not again for the clean-up
    times = github.times("POST", "PATCH", "DELETE")
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0, gaps

    github.requests.clear()
    ws.set_value("churn-classifier", 0.97)  # one result changes: one PATCH, two left alone
    again = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert again.code == 0, again.log
    assert github.listings(7) == 2
    assert [m for m, _, _ in github.requests if m != "GET"] == ["PATCH"]


# -- 5. workflow_run: a number GitHub did not confirm decides nothing ------------------------------
@pytest.mark.parametrize("comment", ["true", "false"])
def test_under_workflow_run_an_unconfirmed_number_chooses_no_models(ws, github, comment):
    """The artifact (the fork's to write) says #31; GitHub answers 404 for it. Its files
    would say only churn changed: they are not even read, every model is compared."""
    github.change(31, "churn-classifier/hokusai.yaml")
    inputs = {**DRY_RUN, "pull-request": "31", "comment": comment}
    run = ws.run("workflow_run", workflow_run_event([]), inputs, github.url)
    assert run.code == 0, run.log
    assert "/repos/octo/models/pulls/31/files" not in github.reads
    for example in EXAMPLES:
        assert f"Dry run: {ws.names[example]}" in run.summary
    assert "not compared" not in run.summary
    assert "::notice::changed-only: every model is compared, because pull request #31 was " in (
        run.log
    )
    assert github.writes == []
    assert run.outputs["models"] == "3"


def test_under_workflow_run_a_confirmed_number_chooses_the_models(ws, github):
    github.add_pull(31, RUN_SHA)
    github.change(31, "churn-classifier/hokusai.yaml")
    inputs = {**DRY_RUN, "pull-request": "31"}
    run = ws.run("workflow_run", workflow_run_event([]), inputs, github.url)
    assert run.code == 0, run.log
    assert commented(ws, github, 31) == ["churn-classifier"]
    assert run.outputs["models"] == "1"


# -- 2 and 4, in-process: a minute's wait is recorded, not slept ---------------------------------
class StoodInTime:
    """The `time` module as the GitHub client's transport (`rest.py`) sees it: sleeps are
    recorded and added to the clocks, as if they had passed."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def monotonic(self) -> float:
        return time.monotonic() + sum(self.slept)

    def time(self) -> float:
        return time.time() + sum(self.slept)


@pytest.fixture
def stood_in(monkeypatch) -> StoodInTime:
    fake = StoodInTime()
    monkeypatch.setattr(rest, "time", fake)
    return fake


def run_in_process(ws: Workspace, inputs: dict[str, str], api_url: str, capsys) -> Run:
    env = ws.environment("pull_request", pr_event(), inputs, api_url)
    code = action.run(env)
    log = capsys.readouterr().out
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    output = Path(env["GITHUB_OUTPUT"]).read_text()
    return Run(code, log, {}, summary, {"summary": summary, "output": output})


def test_a_secondary_rate_limit_without_headers_waits_a_minute_then_posts(
    ws, httpserver, stood_in, capsys
):
    github = FakeGitHub(httpserver, secondary_limits=1)
    inputs = {**DRY_RUN, "changed-only": "false"}
    run = run_in_process(ws, inputs, github.url, capsys)
    assert run.code == 0, run.log
    assert commented(ws, github) == sorted(EXAMPLES)
    assert max(stood_in.slept) >= 60  # GitHub: "wait for at least one minute"
    assert "::warning::" not in run.log


def test_a_secondary_rate_limit_is_not_blamed_on_forks_and_what_was_not_posted_is_summarised(
    ws, httpserver, stood_in, capsys
):
    """Refused on every write, with no header: a minute's wait, then the doubled wait no
    longer fits the deadline of 120 s plus a second for each of the three comments."""
    github = FakeGitHub(httpserver, secondary_limits=100)
    inputs = {**DRY_RUN, "changed-only": "false"}
    run = run_in_process(ws, inputs, github.url, capsys)
    assert run.code == 0, run.log  # a comment never fails the step
    assert github.comments == []
    assert stood_in.slept[0] >= 60
    (warning,) = [line for line in run.log.splitlines() if line.startswith("::warning::")]
    assert "could not post the pull-request comment" in warning
    assert "secondary rate limit" in warning
    assert "not a missing permission" in warning
    assert "the comment step's 123 s deadline" in warning
    assert "fork" not in warning
    assert "::notice::Pull requests from forks" not in run.log
    names = ", ".join(ws.names[e] for e in sorted(EXAMPLES))
    assert f"not posted: {names} (the results are in the step summary)" in warning
    in_markdown = names.replace("_", "\\_")
    assert f"Not posted as a pull-request comment: {in_markdown}. " in run.summary
    for example in EXAMPLES:  # the results themselves are there
        assert f"Dry run: {ws.names[example]}" in run.summary


def test_posts_answered_502_every_time_are_bounded_and_the_warning_says_one_may_exist(
    ws, httpserver, stood_in, capsys
):
    github = FakeGitHub(httpserver, lost_posts=100)
    inputs = {**DRY_RUN, "changed-only": "false", "manifests": "churn-classifier/hokusai.yaml"}
    run = run_in_process(ws, inputs, github.url, capsys)
    assert run.code == 0, run.log
    posts = [m for m, _ in github.writes]
    assert 1 < len(posts) <= 5
    assert github.listings(7) == len(posts)  # each POST after the first looked first
    (warning,) = [line for line in run.log.splitlines() if line.startswith("::warning::")]
    assert f"not posted: {ws.names['churn-classifier']} (GitHub may have posted" in warning
