"""What the registry messages say is what happened (issue 16): the credential really sent,
MLflow's words whole, our own words unmasked, copyable code without hidden characters."""

from __future__ import annotations

import pytest

from hokusai_action.github.comment import prose
from hokusai_action.inert import ZERO_WIDTH_SPACE
from hokusai_action.registry.settings import (
    collect_secrets,
    credential_sent,
    redact,
    resolve_settings,
)

URI = "https://registry.example/api/mlflow"
BOTH = {
    "HOKUSAI_API_KEY": "hk-key-0123456789",
    "MLFLOW_TRACKING_USERNAME": "alice",
    "MLFLOW_TRACKING_PASSWORD": "s3cret-pass-word",
}


def test_with_a_key_and_a_password_both_set_basic_auth_is_what_mlflow_sends():
    settings = resolve_settings(URI, BOTH)
    assert settings.auth.startswith("MLFLOW_TRACKING_USERNAME=alice and MLFLOW_TRACKING_PASSWORD")
    assert "basic auth" in settings.auth
    (warning,) = settings.auth_warnings
    assert warning.startswith("HOKUSAI_API_KEY set but not sent")


def test_mlflow_itself_gives_basic_auth_precedence_over_the_token():
    """The rule credential_sent follows is MLflow's own (utils/rest_utils.py)."""
    import inspect

    from mlflow.utils import rest_utils

    source = inspect.getsource(rest_utils)
    basic = source.index("if host_creds.username and host_creds.password")
    bearer = source.index("elif host_creds.token:")
    assert basic < bearer


@pytest.mark.parametrize(
    ("uri", "env", "sent", "warns"),
    [
        (URI, {"HOKUSAI_API_KEY": "k" * 12}, "HOKUSAI_API_KEY", []),
        (URI, {"HOKUSAI_API_KEY": "k" * 12, "MLFLOW_TRACKING_TOKEN": "t" * 12},
         "HOKUSAI_API_KEY", ["MLFLOW_TRACKING_TOKEN set but not sent"]),
        (URI, {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_TOKEN": "t" * 12},
         "MLFLOW_TRACKING_TOKEN", ["MLFLOW_TRACKING_USERNAME set without"]),
        ("https://bob:pw@registry.example", BOTH, "the tracking URI's user part",
         ["HOKUSAI_API_KEY and MLFLOW_TRACKING_USERNAME/PASSWORD set but not sent"]),
        (URI, {}, "none", []),
    ],
)  # fmt: skip
def test_the_credential_reported_is_the_one_sent(uri, env, sent, warns):
    auth, warnings = credential_sent(uri, env)
    assert auth.startswith(sent)
    assert [w[: len(p)] for w, p in zip(warnings, warns, strict=True)] == warns


def _explain(settings, error: Exception) -> str:
    from hokusai_action.registry.mlflow_store import MlflowRegistry

    registry = object.__new__(MlflowRegistry)  # only its settings: no client, no connection
    registry.settings = settings
    return registry._explain("list registered models", error)


def test_a_401_with_both_credentials_blames_the_password_and_says_the_key_was_not_sent():
    from mlflow.exceptions import MlflowException

    settings = resolve_settings(URI, BOTH)
    error = MlflowException("API request failed with error code 401 != 200")
    message = _explain(settings, error)
    assert "refused the username and password (401)" in message
    assert "check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in message
    assert "HOKUSAI_API_KEY set but not sent" in message
    assert "refused the API key" not in message


def test_a_404_page_from_a_wrong_path_says_to_check_the_uri_path():
    from mlflow.exceptions import MlflowException

    settings = resolve_settings(URI + "/wrong", {})
    error = MlflowException(
        "API request to endpoint /api/2.0/mlflow/registered-models/search failed with error "
        "code 404 != 200. Response body: '<!doctype html>\n<html lang=en><title>404 Not Found'"
    )
    message = _explain(settings, error)
    assert "answered a web page (HTML) instead of MLflow's REST API" in message
    assert "check the URI's path" in message
    assert "/api/mlflow" in message
    assert "<!doctype" not in message


def test_mlflow_messages_are_shown_whole():
    from mlflow.exceptions import MlflowException

    long = "The filesystem tracking backend is in maintenance mode. " * 12
    error = MlflowException(
        long + "Set `MLFLOW_ALLOW_FILE_STORE=true` to opt out of this exception."
    )
    message = _explain(resolve_settings("sqlite:///x.db", {}), error)
    assert message.endswith("to opt out of this exception.")


def test_a_word_of_our_text_is_not_masked_as_a_run_of_a_secret():
    secrets = collect_secrets({"MLFLOW_TRACKING_PASSWORD": "password-1234567"})
    text = "check MLFLOW_TRACKING_USERNAME and password (basic auth): password-1234567"
    assert redact(text, secrets) == (
        "check MLFLOW_TRACKING_USERNAME and password (basic auth): ***"
    )
    assert redact("cut short: password-12…", secrets) == "cut short: ***…"
    assert redact("at the end: password", secrets) == "at the end: ***"  # a cut, maybe


def test_code_spans_in_our_messages_stay_copyable():
    rendered = prose("value read from `metrics.json:test.accuracy` at @someone: see #3")
    assert "`metrics.json:test.accuracy`" in rendered
    code = rendered.split("`")[1]
    assert ZERO_WIDTH_SPACE not in code
    assert f"@{ZERO_WIDTH_SPACE}someone" in rendered  # outside code: still no mention
    assert f"#{ZERO_WIDTH_SPACE}3" in rendered
