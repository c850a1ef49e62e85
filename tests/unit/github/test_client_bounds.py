"""The GitHub client's bounds, against real loopback servers that misbehave: links that loop
or lead elsewhere, answers that trickle, stall or grow, and JSON of every wrong shape. Each
test uses a short deadline, so a bound that fails shows as a failure, not a hang."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hokusai_action.github.client import MAX_PAGES, GitHubClient, GitHubError
from tests.support.github_api import BOT, FakeGitHub
from tests.support.trickle import TrickleServer, http_answer
from tests.unit.github.test_client import MARKER, REPO, TOKEN, Sleeps

LIST = f"/repos/{REPO}/issues/7/comments"


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(url: str, sleeps: Sleeps, **bounds) -> GitHubClient:
    return GitHubClient(
        TOKEN, url, sleep=sleeps, clock=lambda: 1_000_000.0, monotonic=sleeps.clock, **bounds
    )


@pytest.fixture
def client(httpserver, sleeps) -> GitHubClient:
    return make_client(httpserver.url_for(""), sleeps, deadline=60)


@pytest.fixture
def elsewhere():
    """A second API-like server on another loopback port: it must never be asked anything."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/stolen").respond_with_json([])
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status, headers=headers, content_type="application/json")


# -- links and redirects ------------------------------------------------------------------------
def test_a_next_link_back_at_the_same_page_stops_the_listing(httpserver, client):
    served = []

    def same_page_again(request: Request) -> Response:
        served.append(request.full_path)
        link = {} if len(served) > 50 else {"Link": f'<{request.url}>; rel="next"'}
        return json_response([], headers=link)

    httpserver.expect_request(LIST, method="GET").respond_with_handler(same_page_again)
    httpserver.expect_request(LIST, method="POST").respond_with_json(
        {"id": 9, "body": "x", "user": {"login": BOT, "type": "Bot"}}, 201
    )
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", BOT)
    assert len(served) == 1
    assert result.action == "created"
    assert "points back at a page already read" in result.notices[0]


def test_a_next_link_cycling_between_two_pages_stops(httpserver, client):
    served = []

    def two_pages(request: Request) -> Response:
        served.append(request.args.get("page", "1"))
        other = "2" if request.args.get("page", "1") == "1" else "1"
        base = httpserver.url_for(LIST)
        link = (
            {} if len(served) > 50 else {"Link": f'<{base}?page={other}&per_page=100>; rel="next"'}
        )
        return json_response([], headers=link)

    httpserver.expect_request(LIST).respond_with_handler(two_pages)
    assert list(make_client(httpserver.url_for(""), Sleeps()).comments(REPO, 7)) == []
    assert len(served) <= 3  # the first page may be read once more under another spelling


@pytest.mark.parametrize(
    "target",
    [
        "{elsewhere}/stolen",  # another port of the same address
        "https://{host}:{port}/stolen",  # another scheme
        "http://{other_name}:{port}/stolen",  # another name for the same server
        "http://user:pass@{host}:{port}/stolen",  # credentials of its own
    ],
)
def test_a_next_link_off_the_api_host_is_not_followed(httpserver, client, elsewhere, target):
    url = target.format(
        elsewhere=elsewhere.url_for("").rstrip("/"),
        host=httpserver.host,
        port=httpserver.port,
        other_name="127.0.0.1" if httpserver.host == "localhost" else "localhost",
    )
    httpserver.expect_request(LIST).respond_with_json([], headers={"Link": f'<{url}>; rel="next"'})
    with pytest.raises(GitHubError, match=r"not followed, so the token is not sent there"):
        list(client.comments(REPO, 7))
    assert elsewhere.log == []
    assert all(req.path == LIST for req, _ in httpserver.log)


def test_a_redirect_off_the_api_host_is_not_followed(httpserver, client, elsewhere):
    httpserver.expect_request(LIST).respond_with_data(
        "", 307, headers={"Location": elsewhere.url_for("/stolen")}
    )
    with pytest.raises(GitHubError, match=r"307 redirect points to .*not followed"):
        list(client.comments(REPO, 7))
    assert elsewhere.log == []


def test_a_redirect_on_the_api_host_is_followed_with_the_token(httpserver, client):
    """GitHub answers a renamed repository's requests with 301 (GET) or 307 (others)."""
    github = FakeGitHub(httpserver)
    httpserver.expect_request("/repos/octo/old-name/issues/7/comments").respond_with_data(
        "", 301, headers={"Location": httpserver.url_for(LIST)}
    )
    github.add(7, "hello", "someone")
    assert [c.body for c in client.comments("octo/old-name", 7)] == ["hello"]
    assert github.authorizations == [f"Bearer {TOKEN}"]


def test_a_redirect_loop_ends(httpserver, client):
    httpserver.expect_request(LIST).respond_with_data(
        "", 302, headers={"Location": httpserver.url_for(LIST)}
    )
    with pytest.raises(GitHubError, match="more than 5 redirects"):
        list(client.comments(REPO, 7))
    assert len(httpserver.log) == 6


# -- at most 100 pages --------------------------------------------------------------------------
def test_past_100_pages_a_new_comment_is_posted_with_a_notice(httpserver, client):
    github = FakeGitHub(httpserver, page_size=1)
    for i in range(MAX_PAGES):
        github.add(7, f"chatter {i}", "someone")
    github.add(7, f"{MARKER}\nold", BOT)  # on page 101
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", BOT)
    assert result.action == "created"
    assert "only the first 100 pages (10,000 comments)" in result.notices[0]
    assert [m for m, _ in github.writes] == ["POST"]
    assert sum(1 for req, _ in httpserver.log if req.method == "GET") == MAX_PAGES


def test_endless_distinct_pages_stop_at_100(httpserver, client):
    def endless(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        next_page = httpserver.url_for(LIST) + f"?per_page=100&page={page + 1}"
        link = {"Link": f'<{next_page}>; rel="next"'} if page < 150 else {}
        return json_response([], headers=link)

    httpserver.expect_request(LIST).respond_with_handler(endless)
    listing = client.comments(REPO, 7)
    assert list(listing) == []
    assert len(httpserver.log) == MAX_PAGES
    assert listing.cut is not None


def test_a_comment_on_page_100_is_still_found(httpserver, client):
    github = FakeGitHub(httpserver, page_size=1)
    for i in range(MAX_PAGES - 1):
        github.add(7, f"chatter {i}", "someone")
    ours = github.add(7, f"{MARKER}\nold", BOT)
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", BOT)
    assert (result.action, result.comment.id, result.notices) == ("updated", ours["id"], ())


# -- the deadline and the read bounds -------------------------------------------------------------
def test_retry_waits_stop_where_the_deadline_would_pass(httpserver, sleeps):
    httpserver.expect_request(LIST).respond_with_data("down", 503)
    client = make_client(httpserver.url_for(""), sleeps, deadline=12)
    with pytest.raises(GitHubError, match=r"503.*not retried.*\(8\.0 s\).*s left of") as caught:
        list(client.comments(REPO, 7))
    assert sleeps == [1.0, 2.0, 4.0]  # a wait of 8 s more would end after the 12 s
    assert caught.value.status == 503


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "30"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000029"}],
)
def test_a_rate_limit_wait_longer_than_the_time_left_is_not_waited(httpserver, sleeps, headers):
    httpserver.expect_request(LIST).respond_with_json({"message": "limit"}, 403, headers=headers)
    client = make_client(httpserver.url_for(""), sleeps, deadline=20)
    with pytest.raises(GitHubError, match=r"\(30 s\) is longer than the time left \(\d"):
        list(client.comments(REPO, 7))
    assert sleeps == []


def test_a_non_ascii_digit_in_retry_after_is_not_a_number(httpserver, sleeps):
    httpserver.expect_ordered_request(LIST).respond_with_json({}, 429, headers={"Retry-After": "²"})
    httpserver.expect_ordered_request(LIST).respond_with_json([])
    client = make_client(httpserver.url_for(""), sleeps, deadline=120)
    assert list(client.comments(REPO, 7)) == []
    assert sleeps == [60.0]  # GitHub's advice when it names no wait


def test_nothing_is_sent_once_the_deadline_has_passed(httpserver, sleeps):
    client = make_client(httpserver.url_for(""), sleeps, deadline=0)
    with pytest.raises(GitHubError, match=r"gave up before GET .*deadline of 0\.0 s ran out"):
        client.login()
    assert httpserver.log == []


def test_an_answer_trickling_one_byte_at_a_time_gives_up_at_the_deadline(sleeps):
    body = json.dumps([{"id": 1, "body": "x" * 2000}]).encode()
    with TrickleServer(http_answer(body), at_once=200, interval=0.05) as slow:
        client = make_client(slow.url, sleeps, deadline=1)
        with pytest.raises(GitHubError, match=r"deadline"):
            list(client.comments(REPO, 7))


def test_headers_trickling_one_byte_at_a_time_give_up_at_the_deadline(sleeps):
    """A socket timeout bounds each read, so only the deadline stops a slow status line."""
    with TrickleServer(http_answer(b"[]"), at_once=0, interval=0.05) as slow:
        client = make_client(slow.url, sleeps, deadline=1)
        with pytest.raises(GitHubError, match=r"deadline"):
            client.login()


def test_an_answer_that_stalls_times_out_per_read(sleeps):
    """Headers, then one byte short of the body: the read timeout, not the deadline, ends it."""
    answer = http_answer(b"[]")
    with TrickleServer(answer, at_once=len(answer) - 1, interval=60) as stalled:
        client = make_client(stalled.url, sleeps, deadline=60, timeout=0.2)
        with pytest.raises(GitHubError, match=r"broke off.*[Tt]imed out"):
            list(client.comments(REPO, 7))
    assert stalled.requests == 5  # a stalled GET is retried, within the attempts


def test_a_post_whose_answer_stalls_is_not_sent_again(httpserver, sleeps):
    """The comment may exist already: posting again would make a second one."""
    answer = http_answer(b"{}", "201 Created")
    with TrickleServer(answer, at_once=len(answer) - 1, interval=60) as stalled:
        client = make_client(stalled.url, sleeps, deadline=60, timeout=0.2)
        with pytest.raises(GitHubError, match=r"broke off"):
            client.request("POST", LIST, json_body={"body": "x"})
    assert stalled.requests == 1


def test_an_answer_larger_than_the_limit_is_not_read(httpserver, sleeps):
    httpserver.expect_request(LIST).respond_with_json([{"id": i} for i in range(1000)])
    client = make_client(httpserver.url_for(""), sleeps, deadline=20, max_body=4096)
    with pytest.raises(GitHubError, match=r"larger than 4096 bytes"):
        list(client.comments(REPO, 7))


# -- any JSON shape, or none ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (500, "[]", "application/json", r"500 to GET .*: \[\]"),
        (404, "null", "application/json", r"404 to GET .*: null \(not found"),
        (422, '"just a string"', "application/json", "422"),
        (502, "<html>Bad gateway</html>", "text/html", "502.*Bad gateway"),
        (200, "<html>proxy login</html>", "text/html", r"not JSON \(text/html\)"),
        (200, '[{"id": 1, "bo', "application/json", "not JSON"),
        (200, "[" * 100_000, "application/json", "not JSON"),  # deeper than the parser goes
        (200, '{"message": "hi"}', "application/json", "an object where a list was expected"),
        (200, "null", "application/json", "null where a list was expected"),
        (200, "42", "application/json", "a int where a list was expected"),
        (200, "", "application/json", "not JSON"),
    ],
)
def test_any_body_shape_of_a_list_is_a_clear_error(
    httpserver, client, status, body, content_type, message
):
    httpserver.expect_request(LIST).respond_with_data(body, status, content_type=content_type)
    with pytest.raises(GitHubError, match=message):
        list(client.comments(REPO, 7))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, "null", None),
        (403, "[]", None),
        (200, "[]", "a list where an object was expected"),
        (200, '{"login": 5}', "no login"),
        (200, '{"login": ""}', "no login"),
        (200, "{}", "no login"),
    ],
)
def test_any_body_shape_of_user_is_unknown_or_a_clear_error(
    httpserver, client, status, body, expected
):
    httpserver.expect_request("/user").respond_with_data(body, status)
    if expected is None:
        assert client.login() is None
    else:
        with pytest.raises(GitHubError, match=expected):
            client.login()


def test_comments_of_an_unexpected_shape_are_skipped_with_a_warning(httpserver, client):
    odd = [
        None,
        5,
        "text",
        [],
        {"body": MARKER},  # no id
        {"id": "12", "body": MARKER},
        {"id": True, "body": MARKER},
        {"id": 3},  # no user, no body: kept, never ours
        {"id": 4, "user": None, "body": None},
        {"id": 5, "user": "github-actions[bot]", "body": [MARKER]},
        {"id": 6, "user": {"login": ["x"], "type": "Bot"}, "body": {"text": MARKER}},
    ]
    httpserver.expect_request(LIST, method="GET").respond_with_json(odd)
    httpserver.expect_request(LIST, method="POST").respond_with_json(
        {"id": 9, "body": "x", "user": {"login": BOT, "type": "Bot"}}, 201
    )
    result = client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", BOT)
    assert result.action == "created"
    assert result.warnings == (
        f"skipped 7 item(s) of repos/{REPO}/issues/7/comments of an unexpected shape "
        "(not an object with an integer id)",
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([{"id": 9}], "a list where an object was expected"),
        ({"body": "x"}, "a comment that has no id: the comment may have been posted"),
        (None, "null where an object was expected"),
    ],
)
def test_a_post_answered_with_an_unexpected_shape_is_a_clear_error(
    httpserver, client, answer, message
):
    httpserver.expect_request(LIST, method="GET").respond_with_json([])
    httpserver.expect_request(LIST, method="POST").respond_with_json(answer, 201)
    with pytest.raises(GitHubError, match=message):
        client.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nnew", BOT)


def test_a_comment_url_that_is_not_a_plain_url_is_dropped(httpserver, client):
    """The URL is printed to the log: a line break in it could start a workflow command."""
    forged = "https://x\n::error::forged"
    httpserver.expect_request(LIST, method="GET").respond_with_json([])
    httpserver.expect_request(LIST, method="POST").respond_with_json(
        {"id": 9, "body": "x", "html_url": forged}, 201
    )
    assert client.upsert_comment(REPO, 7, MARKER, "x", BOT).comment.url == ""


def test_an_error_body_is_redacted_before_it_is_cut(httpserver, client):
    httpserver.expect_request(LIST).respond_with_data(
        "x" * 190 + TOKEN, 401, content_type="text/plain"
    )
    with pytest.raises(GitHubError) as caught:
        list(client.comments(REPO, 7))
    assert TOKEN[:8] not in str(caught.value)


def test_control_characters_in_an_error_body_are_shown_escaped(httpserver, client):
    httpserver.expect_request(LIST).respond_with_json(
        {"message": "bad\n::error::forged \x1b]0;title\x07 \u202e"}, 422
    )
    with pytest.raises(GitHubError) as caught:
        list(client.comments(REPO, 7))
    message = str(caught.value)
    assert "\n" not in message
    assert "\x1b" not in message
    assert "\u202e" not in message
    assert r"bad\n::error::forged \x1b]0;title\x07 \u202e" in message
