"""The client keeps GitHub's rules for integrators (issue 16), against the loopback stand-in
misbehaving as GitHub does: a POST answered 502 after GitHub made the comment, a secondary
rate limit with no header, and writes sent faster than one a second."""

from __future__ import annotations

import itertools

import pytest

from hokusai_action.github.client import (
    MAX_PAGES,
    SECONDARY_WAIT,
    WRITE_INTERVAL,
    GitHubClient,
    GitHubError,
)
from tests.support.dropping_proxy import DroppingProxy
from tests.support.github_api import BOT, FakeGitHub
from tests.unit.github.test_client import MARKER, REPO, TOKEN, Sleeps

OTHER = "<!-- hokusai-action:deltaone model=def -->"


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def paced(httpserver, sleeps: Sleeps, deadline: float = 120.0) -> GitHubClient:
    """A client whose waits are recorded, not slept (its deadline counts them as slept)."""
    return GitHubClient(
        TOKEN, httpserver.url_for(""), sleep=sleeps, monotonic=sleeps.clock, deadline=deadline
    )


# -- 1. a 5xx on POST: look before posting again -------------------------------------------------
def test_a_post_answered_502_after_github_made_the_comment_is_not_posted_twice(httpserver, sleeps):
    github = FakeGitHub(httpserver, created_then_502=1)
    result = paced(httpserver, sleeps).upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", None)
    assert [c["body"] for c in github.on(7)] == [f"{MARKER}\nbody"]  # one comment, not two
    assert [m for m, _ in github.writes] == ["POST"]
    assert github.listings(7) == 2  # listed again after the 502, before deciding
    assert (result.action, result.comment.id) == ("created", github.on(7)[0]["id"])


def test_a_post_answered_502_that_made_nothing_is_posted_again_after_looking(httpserver, sleeps):
    github = FakeGitHub(httpserver, lost_posts=1)
    result = paced(httpserver, sleeps).upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", None)
    assert result.action == "created"
    assert [c["body"] for c in github.on(7)] == [f"{MARKER}\nbody"]
    assert [m for m, _ in github.writes] == ["POST", "POST"]
    assert github.listings(7) == 2


def test_a_post_whose_connection_dropped_after_sending_is_found_by_listing_again(httpserver):
    """GitHub made the comment; its answer never came (the connection closed). The client
    looks before deciding: the comment is there, so it is not posted again."""
    github = FakeGitHub(httpserver, page_size=100)
    with DroppingProxy(httpserver.port, crash_at=2) as proxy:  # 1: the listing, 2: the POST
        waits: list[float] = []

        def sleep(seconds: float) -> None:  # the server is back by the time the wait ends
            waits.append(seconds)
            proxy.crash_at = None

        client = GitHubClient(TOKEN, proxy.uri, sleep=sleep)
        result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", None)
    assert result.action == "created"
    assert [c["body"] for c in github.on(7)] == [f"{MARKER}\nbody"]
    path = f"/repos/{REPO}/issues/7/comments"
    assert proxy.requests == [
        f"GET {path}?per_page=100",
        f"POST {path}",
        f"GET {path}?per_page=100",
    ]
    assert waits


def test_a_lost_post_is_not_sent_again_when_the_list_cannot_be_read_to_its_end(httpserver, sleeps):
    """A new comment is listed last: past MAX_PAGES pages it cannot be looked for."""
    github = FakeGitHub(httpserver, page_size=1, created_then_502=1)
    for i in range(MAX_PAGES):
        github.add(7, f"comment {i}", "someone")
    with pytest.raises(GitHubError, match="not posted again") as raised:
        paced(httpserver, sleeps).upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", None)
    assert raised.value.maybe_done
    assert [m for m, _ in github.writes] == ["POST"]
    assert len(github.on(7)) == MAX_PAGES + 1


def test_posts_that_keep_failing_give_up_after_bounded_tries(httpserver, sleeps):
    github = FakeGitHub(httpserver, lost_posts=100)
    with pytest.raises(GitHubError) as raised:
        paced(httpserver, sleeps).upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", None)
    assert raised.value.status == 502
    assert raised.value.maybe_done
    assert 1 < len(github.writes) <= 5
    assert github.listings(7) == len(github.writes)  # every POST after the first looked first


# -- 2. a secondary rate limit without headers ---------------------------------------------------
def test_a_secondary_rate_limit_without_headers_waits_at_least_a_minute_then_posts(
    httpserver, sleeps
):
    github = FakeGitHub(httpserver, secondary_limits=1)
    result = paced(httpserver, sleeps).upsert_comment(REPO, 7, MARKER, f"{MARKER}\nbody", None)
    assert result.action == "created"
    assert len(github.on(7)) == 1
    assert max(sleeps) >= 60 == SECONDARY_WAIT
    posts = [m for m, _, _ in github.requests if m == "POST"]
    assert posts == ["POST", "POST"]  # refused, then sent again once the wait was over


def test_a_secondary_rate_limit_is_never_blamed_on_the_token_or_a_fork(httpserver, sleeps):
    FakeGitHub(httpserver, secondary_limits=100)
    with pytest.raises(GitHubError) as raised:  # 60 s fits in 100 s, 120 s more does not
        paced(httpserver, sleeps, deadline=100).upsert_comment(REPO, 7, MARKER, "body", None)
    message = str(raised.value)
    assert raised.value.rate_limited
    assert "secondary rate limit" in message
    assert "rate limit: too many requests for now, not a missing permission" in message
    assert "fork" not in message
    assert "may not do this" not in message
    assert sleeps == [60.0]


def test_a_secondary_rate_limit_on_user_is_waited_out_not_taken_for_an_app_token(
    httpserver, sleeps
):
    """A 403 from /user means "an app token" only when it is not a rate limit."""
    httpserver.expect_ordered_request("/user").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."}, 403
    )
    httpserver.expect_ordered_request("/user").respond_with_json({"login": "octocat"})
    assert paced(httpserver, sleeps).login() == "octocat"
    assert sleeps == [60.0]


def test_a_rate_limited_user_is_an_error_not_an_unknown_author(httpserver, sleeps):
    """Taken for an app token, it would make every bot's marker comment ours."""
    httpserver.expect_request("/user").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."}, 403
    )
    with pytest.raises(GitHubError) as raised:
        paced(httpserver, sleeps, deadline=30).login()  # no time for the minute's wait
    assert raised.value.rate_limited


def test_a_secondary_rate_limit_with_retry_after_waits_what_github_says(httpserver, sleeps):
    httpserver.expect_ordered_request("/user").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."}, 403, {"Retry-After": "90"}
    )
    httpserver.expect_ordered_request("/user").respond_with_json({"login": "octocat"})
    assert paced(httpserver, sleeps).login() == "octocat"
    assert sleeps == [90.0]


# -- 3. comments listed once; writes a second apart ----------------------------------------------
def test_one_listing_serves_every_comment_of_a_run(httpserver, sleeps):
    github = FakeGitHub(httpserver)
    github.add(7, f"{OTHER}\nold", BOT)
    client = paced(httpserver, sleeps)
    thread = client.read_comments(REPO, 7)
    first = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\none", None, thread=thread)
    second = client.upsert_comment(REPO, 7, OTHER, f"{OTHER}\nnew", None, thread=thread)
    again = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\none", None, thread=thread)
    assert (first.action, second.action, again.action) == ("created", "updated", "unchanged")
    assert github.listings(7) == 1
    assert len(github.on(7)) == 2


def test_writes_are_at_least_a_second_apart_on_the_servers_clock(httpserver):
    github = FakeGitHub(httpserver)
    client = GitHubClient(TOKEN, httpserver.url_for(""))  # real waits: 2 s in all
    thread = client.read_comments(REPO, 7)
    for i in range(3):
        client.upsert_comment(REPO, 7, f"{MARKER}{i}", f"{MARKER}{i}\nbody", None, thread=thread)
    times = github.times("POST", "PATCH")
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= WRITE_INTERVAL == 1.0, gaps


def test_reads_are_not_paced(httpserver, sleeps):
    FakeGitHub(httpserver)
    client = paced(httpserver, sleeps)
    for _ in range(3):
        client.read_comments(REPO, 7)
    assert sleeps == []


def test_the_wait_between_writes_counts_against_the_deadline(httpserver, sleeps):
    github = FakeGitHub(httpserver)
    client = paced(httpserver, sleeps, deadline=0.9)  # less than the second to wait
    thread = client.read_comments(REPO, 7)
    client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\n1", None, thread=thread)
    with pytest.raises(GitHubError, match=r"no time left for the 1\.0 s GitHub asks between"):
        client.upsert_comment(REPO, 7, OTHER, f"{OTHER}\n2", None, thread=thread)
    assert len(github.on(7)) == 1
    assert sleeps == []
