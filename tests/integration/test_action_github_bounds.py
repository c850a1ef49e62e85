"""The action's comment step against a GitHub API that misbehaves, run through the entrypoint
as a runner runs it: whatever GitHub answers, the step ends with a warning or a notice, never
with exit 3. A dry run needs no registry, so these tests need no MLflow server."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from tests.integration.test_action_entrypoint import REPO, Workspace, assert_no_secret, pr_event
from tests.support.github_api import FakeGitHub

DRY_RUN = {
    "tracking-uri": "http://127.0.0.1:9",
    "dry-run": "true",
    "manifests": "churn-classifier/hokusai.yaml",
    "changed-only": "false",  # these servers answer the comment endpoints only
}
LIST = f"/repos/{REPO}/issues/7/comments"


@pytest.fixture
def ws(tmp_path) -> Workspace:
    (tmp_path / "ws").mkdir()
    ws = Workspace(tmp_path / "ws", tmp_path)
    ws.in_process = True  # what a run decides; test_action_entrypoint.py runs the process
    return ws


@pytest.fixture
def elsewhere():
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_null_and_foreign_links_from_github_end_in_a_warning_not_exit_3(ws, httpserver, elsewhere):
    httpserver.expect_request("/user").respond_with_data("null", 404)  # was AttributeError
    httpserver.expect_request(LIST).respond_with_json(
        [], headers={"Link": f'<{elsewhere.url_for("/steal")}>; rel="next"'}
    )
    run = ws.run("pull_request", pr_event(), DRY_RUN, httpserver.url_for("").rstrip("/"))
    assert run.code == 0, run.log
    assert "::warning::could not post the pull-request comment: GitHub's Link" in run.log
    assert "internal error" not in run.log
    assert elsewhere.log == []  # the token went nowhere else
    assert_no_secret(run)


def test_past_100_pages_the_comment_is_posted_anew_with_a_notice(ws, httpserver):
    github = FakeGitHub(httpserver, page_size=1)
    for i in range(101):  # 101 pages of one comment
        github.add(7, f"chatter {i}", "someone")
    run = ws.run("pull_request", pr_event(), DRY_RUN, github.url)
    assert run.code == 0, run.log
    assert "comment created" in run.log
    assert "::notice::pull-request comment: only the first 100 pages (10,000 comments)" in run.log
    assert "only the first 100 pages" in run.summary
    assert [m for m, _ in github.writes] == ["POST"]
