"""The GitHub client redacts an error body before cutting it short (issue 9, item 1): a cut
falling inside the token used to leave its prefix in the message."""

from __future__ import annotations

import base64

import pytest
from werkzeug import Response

from hokusai_action.github.client import GitHubClient, GitHubError

TOKEN = "ghs_0a1B2c3D4e5F6g7H8i9J"


@pytest.mark.parametrize("pad", [170, 176, 180, 188])
def test_an_error_body_cut_inside_the_echoed_token_leaves_no_part_of_it(httpserver, pad):
    def echo(request):
        said = f"{'x' * pad}{request.headers.get('Authorization')} and more"
        return Response(said, 400, content_type="text/plain")

    httpserver.expect_request("/user").respond_with_handler(echo)
    client = GitHubClient(f"{TOKEN}\n".strip(), httpserver.url_for(""), sleep=lambda s: None)
    with pytest.raises(GitHubError) as raised:
        client.request("GET", "user")
    message = str(raised.value)
    assert "x" * 8 in message  # the body is there, cut short
    assert not [TOKEN[i : i + 8] for i in range(len(TOKEN) - 7) if TOKEN[i : i + 8] in message]


@pytest.mark.parametrize("user", ["x-access-token", "git", "oauth2", "u"])
def test_the_token_in_basic_auth_form_is_masked_whatever_the_user_name(httpserver, user):
    """Any user name shifts the base64 differently: each alignment is masked."""
    basic = base64.b64encode(f"{user}:{TOKEN}".encode()).decode()
    httpserver.expect_request("/user").respond_with_data(f"saw Basic {basic}", 400)
    client = GitHubClient(TOKEN, httpserver.url_for(""), sleep=lambda s: None)
    with pytest.raises(GitHubError) as raised:
        client.request("GET", "user")
    message = str(raised.value)
    assert "saw Basic " in message
    inner = basic[len(user) + 4 : -4]  # the characters that encode only the token
    assert not [inner[i : i + 8] for i in range(len(inner) - 7) if inner[i : i + 8] in message]
