"""The GitHub client against a real loopback HTTP server answering like GitHub's REST API."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Response

from hokusai_action.github.client import GitHubClient, GitHubError
from tests.support.github_api import BOT, FakeGitHub

TOKEN = "ghs_testtoken1234567890"
REPO = "octo/models"
MARKER = "<!-- hokusai-action:deltaone model=abc -->"


class Sleeps(list):
    """Records the waits instead of sleeping them; `clock` is the real monotonic clock plus
    the waits, so the client's deadline counts them as if they had been slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    def clock(self) -> float:
        return time.monotonic() + sum(self)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(httpserver, sleeps) -> GitHubClient:
    return GitHubClient(
        TOKEN,
        httpserver.url_for(""),
        sleep=sleeps,
        clock=lambda: 1_000_000.0,
        monotonic=sleeps.clock,
    )


def test_sticky_comment_is_found_on_a_later_page_and_updated_in_place(httpserver, client):
    github = FakeGitHub(httpserver, page_size=2)
    for i in range(5):
        github.add(7, f"unrelated {i}", "someone")
    ours = github.add(7, f"{MARKER}\nold", BOT)
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", BOT)
    assert (result.action, result.comment.id) == ("updated", ours["id"])
    assert ours["body"] == f"{MARKER}\nnew"
    assert github.writes == [("PATCH", f"/repos/{REPO}/issues/comments/{ours['id']}")]


def test_first_run_creates_the_comment(httpserver, client):
    github = FakeGitHub(httpserver)
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", BOT)
    assert result.action == "created"
    assert [c["body"] for c in github.on(7)] == [f"{MARKER}\nbody"]


def test_unchanged_result_leaves_the_comment_untouched(httpserver, client):
    github = FakeGitHub(httpserver)
    github.add(7, f"{MARKER}\nsame", BOT)
    assert client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nsame", BOT).action == "unchanged"
    assert github.writes == []


def test_a_marker_in_someone_elses_comment_is_not_hijacked(httpserver, client):
    github = FakeGitHub(httpserver)
    theirs = github.add(7, f"quoting you: {MARKER}", "mallory")
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nours", BOT)
    assert result.action == "created"
    assert theirs["body"] == f"quoting you: {MARKER}"


def test_workflow_token_cannot_read_user_so_the_author_is_unknown(httpserver, client):
    FakeGitHub(httpserver)
    assert client.login() is None


def test_with_an_unknown_author_a_bots_marker_comment_is_ours(httpserver, client):
    """A GitHub App's installation token cannot read /user either; its comments are its bot's."""
    github = FakeGitHub(httpserver)
    app = github.add(7, f"{MARKER}\nold", "hokusai-app[bot]")
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", None)
    assert (result.action, result.comment.id) == ("updated", app["id"])
    assert len(github.on(7)) == 1


def test_with_an_unknown_author_a_persons_marker_comment_is_left_alone(httpserver, client):
    github = FakeGitHub(httpserver)
    github.add(7, f"see {MARKER}", "mallory")
    assert client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nours", None).action == "created"


def test_an_answer_that_is_not_json_is_a_clear_github_error(httpserver, client):
    httpserver.expect_request("/repos/octo/models/issues/1/comments").respond_with_data(
        "<html>proxy login</html>", content_type="text/html"
    )
    with pytest.raises(GitHubError, match=r"not JSON.*check GITHUB_API_URL"):
        list(client.comments(REPO, 1))


def test_personal_token_login_is_read_from_user(httpserver, client):
    httpserver.expect_request("/user").respond_with_json({"login": "octocat"})
    assert client.login() == "octocat"


def test_rate_limit_403_with_retry_after_is_waited_out_then_retried(httpserver, client, sleeps):
    limited = {"message": "You have exceeded a secondary rate limit"}
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json(
        limited, 403, headers={"Retry-After": "2"}
    )
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json([])
    assert list(client.comments(REPO, 1)) == []
    assert sleeps == [2.0]


def test_primary_rate_limit_waits_until_the_reset_time(httpserver, client, sleeps):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 5)}
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json(
        {"message": "API rate limit exceeded"}, 403, headers=headers
    )
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json([])
    list(client.comments(REPO, 1))
    assert sleeps == [6.0]  # until the reset, plus a second


def test_429_is_retried(httpserver, client, sleeps):
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json(
        {}, 429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json([])
    list(client.comments(REPO, 1))
    assert sleeps == [1.0]


def test_server_error_then_success_is_retried_with_backoff(httpserver, client, sleeps):
    for _ in range(2):
        httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_data(
            "oops", 502
        )
    httpserver.expect_ordered_request("/repos/octo/models/issues/1/comments").respond_with_json([])
    list(client.comments(REPO, 1))
    assert sleeps == [1.0, 2.0]


def test_persistent_server_errors_give_up_after_bounded_attempts(httpserver, client, sleeps):
    httpserver.expect_request("/repos/octo/models/issues/1/comments").respond_with_data("down", 503)
    with pytest.raises(GitHubError) as caught:
        list(client.comments(REPO, 1))
    assert caught.value.status == 503
    assert len(sleeps) == 4  # five attempts in all
    assert sum(sleeps) <= 60


def test_a_rate_limit_longer_than_the_budget_fails_at_once(httpserver, client, sleeps):
    httpserver.expect_request("/repos/octo/models/issues/1/comments").respond_with_json(
        {"message": "limit"}, 429, headers={"Retry-After": "3600"}
    )
    with pytest.raises(GitHubError, match="429"):
        list(client.comments(REPO, 1))
    assert sleeps == []


def test_not_found_is_not_retried_and_says_so(httpserver, client, sleeps):
    httpserver.expect_request("/repos/octo/models/issues/1/comments").respond_with_json(
        {"message": "Not Found"}, 404
    )
    with pytest.raises(GitHubError, match=r"404.*not found, or the token cannot see it") as caught:
        list(client.comments(REPO, 1))
    assert caught.value.status == 404
    assert sleeps == []


def test_read_only_token_403_is_not_retried(httpserver, client, sleeps):
    FakeGitHub(httpserver, read_only=True)
    with pytest.raises(GitHubError, match="fork") as caught:
        client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nx", BOT)
    assert caught.value.status == 403
    assert sleeps == []


def test_the_token_is_sent_as_a_bearer_and_never_appears_in_errors(httpserver, client):
    def echo_token(request):
        return Response(
            json.dumps({"message": f"bad credentials {request.headers['Authorization']}"}), 401
        )

    httpserver.expect_request("/repos/octo/models/issues/1/comments").respond_with_handler(
        echo_token
    )
    with pytest.raises(GitHubError) as caught:
        list(client.comments(REPO, 1))
    assert TOKEN not in str(caught.value)
    assert "***" in str(caught.value)


def test_unreachable_api_is_a_clear_error(sleeps):
    dead = GitHubClient(TOKEN, "http://127.0.0.1:9", sleep=sleeps, timeout=2)
    with pytest.raises(GitHubError, match=r"cannot reach GitHub at http://127\.0\.0\.1:9"):
        list(dead.comments(REPO, 1))


def test_a_pull_request_is_read_with_its_state_head_commit_and_head_repository(httpserver, client):
    github = FakeGitHub(httpserver)
    github.add_pull(31, "a" * 40, head_repo="mallory/models")
    github.add_pull(32, "b" * 40, state="closed", head_repo=None)  # a deleted fork
    found = client.pull_request(REPO, 31)
    assert (found.number, found.state, found.head_sha) == (31, "open", "a" * 40)
    assert found.head_repository == "mallory/models"
    deleted = client.pull_request(REPO, 32)
    assert (deleted.state, deleted.head_repository) == ("closed", None)


@pytest.mark.parametrize(
    "answer",
    [
        {"number": 31, "state": "open", "head": {"sha": "not-a-sha"}},
        {"number": 31, "state": "draft", "head": {"sha": "a" * 40}},
        {"number": 31, "state": "open", "head": None},
        {"number": 99, "state": "open", "head": {"sha": "a" * 40}},  # another pull request
        {"number": True, "state": "open", "head": {"sha": "a" * 40}},
    ],
)
def test_a_pull_request_answer_of_another_shape_is_a_github_error(httpserver, client, answer):
    httpserver.expect_request(f"/repos/{REPO}/pulls/31").respond_with_json(answer)
    with pytest.raises(GitHubError, match="not pull request #31"):
        client.pull_request(REPO, 31)


def test_pull_request_files_are_read_across_pages_with_renames_under_both_names(httpserver, client):
    github = FakeGitHub(httpserver, files_page_size=2)
    github.change(7, "a.txt", "b/c.txt", "d.txt")
    github.change(7, "new/hokusai.yaml", renamed_from="old/hokusai.yaml")
    files = client.pull_request_files(REPO, 7)
    assert files.complete
    assert files.paths == {"a.txt", "b/c.txt", "d.txt", "new/hokusai.yaml", "old/hokusai.yaml"}
    assert github.reads.count(f"/repos/{REPO}/pulls/7/files") == 2  # two pages of two, one more


def test_pull_request_files_at_githubs_3000_limit_are_incomplete(httpserver, client):
    github = FakeGitHub(httpserver)
    github.change(7, *(f"f{i}.txt" for i in range(3005)))
    files = client.pull_request_files(REPO, 7)
    assert not files.complete
    assert "at most 3,000 files" in files.reason
    assert len(files.paths) == 3000


def test_pull_request_files_with_an_entry_without_a_name_are_incomplete(httpserver, client):
    httpserver.expect_request(f"/repos/{REPO}/pulls/7/files").respond_with_json(
        [{"filename": "a.txt"}, {"status": "modified"}]
    )
    files = client.pull_request_files(REPO, 7)
    assert not files.complete
    assert "1 entries" in files.reason


def test_rewrite_comments_updates_only_ours_and_leaves_an_equal_body(httpserver, client):
    github = FakeGitHub(httpserver, page_size=1)
    stale = github.add(7, f"{MARKER}\nold result", BOT)
    done = github.add(7, f"{MARKER}\nno longer changed", BOT)
    theirs = github.add(7, f"{MARKER}\nquoted by a person", "someone")

    results = client.rewrite_comments(REPO, 7, None, lambda c: f"{MARKER}\nno longer changed")
    assert [(r.action, r.comment.id) for r in results] == [
        ("updated", stale["id"]),
        ("unchanged", done["id"]),
    ]
    assert stale["body"] == f"{MARKER}\nno longer changed"
    assert theirs["body"] == f"{MARKER}\nquoted by a person"
    assert [m for m, _ in github.writes] == ["PATCH"]
