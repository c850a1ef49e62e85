"""Secrets: stripped before use, refused with a control character inside, and redacted in
every form a message could carry (issue 9, item 1); tracking URIs MLflow cannot read are
usage errors (item 7)."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokusai_action.registry.settings import (
    FRAGMENT,
    SettingsError,
    check_tracking_uri,
    collect_secrets,
    redact,
    resolve_settings,
    secret_forms,
)

KEY = "hk-live-4f1c9a7e0b2d6c83"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fragments(secret: str) -> list[str]:
    return [secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)]


def leaked(text: str, secret: str) -> list[str]:
    return [f for f in fragments(secret) if f in text]


def test_a_key_ending_in_a_newline_is_stripped_before_use():
    env = {"HOKUSAI_API_KEY": f"{KEY}\n"}
    settings_ = resolve_settings("http://127.0.0.1:1", env)
    assert settings_.mlflow_environment(env)["MLFLOW_TRACKING_TOKEN"] == KEY


def test_the_invalid_header_message_of_a_key_ending_in_a_newline_is_redacted():
    """requests' InvalidHeader shows the header's repr: redaction used to look for `KEY\\n`
    and left the key itself in place."""
    message = f"Invalid leading whitespace, reserved character(s), or return character(s) in header value: 'Bearer {KEY}\\n'"  # noqa: E501
    shown = redact(message, collect_secrets({"HOKUSAI_API_KEY": f"{KEY}\n"}))
    assert KEY not in shown
    assert "'Bearer ***" in shown


@pytest.mark.parametrize(
    ("name", "value", "what"),
    [
        ("HOKUSAI_API_KEY", f"{KEY[:10]}\n{KEY[10:]}", "a line break"),
        ("MLFLOW_TRACKING_TOKEN", f"{KEY[:10]}\r\n{KEY[10:]}", "a line break"),
        ("MLFLOW_TRACKING_PASSWORD", f"{KEY[:10]}\x07{KEY[10:]}", "U+0007"),
        ("HOKUSAI_API_KEY", f"{KEY[:10]}\u202e{KEY[10:]}", "U+202E"),
        ("MLFLOW_TRACKING_USERNAME", f"{KEY[:10]}\x00{KEY[10:]}", "U+0000"),
    ],
)
def test_a_secret_with_a_control_character_inside_is_refused_naming_the_variable(name, value, what):
    with pytest.raises(SettingsError) as raised:
        resolve_settings("http://127.0.0.1:1", {name: value})
    assert raised.value.exit_code == 2
    message = str(raised.value)
    assert name in message
    assert what in message
    assert not leaked(message, KEY)


def test_a_token_as_the_uris_user_part_is_masked_everywhere():
    uri = f"http://{KEY}@127.0.0.1:5000/api"
    settings_ = resolve_settings(uri, {})
    assert settings_.display_uri == "http://***@127.0.0.1:5000/api"
    error = f"API request to {uri}/2.0/mlflow failed; token {KEY}; basic {b64(KEY + ':')}"
    assert not leaked(redact(error, settings_.secrets), KEY)


def test_user_and_password_in_the_uri_are_masked_with_their_basic_auth_form():
    uri = "https://alice:s3cret-pass%40word@registry.example/api"
    settings_ = resolve_settings(None, {"MLFLOW_TRACKING_URI": uri})
    assert settings_.display_uri == "https://***@registry.example/api"
    echoed = f"rejected Basic {b64('alice:s3cret-pass@word')} for s3cret-pass@word"
    shown = redact(echoed, settings_.secrets)
    assert "s3cret-pass" not in shown
    assert b64("alice:s3cret-pass@word") not in shown
    assert not leaked(shown, b64("alice:s3cret-pass@word"))


def test_basic_auth_from_the_environment_is_masked_in_base64_too():
    env = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": KEY}
    header = f"Authorization: Basic {b64('admin:' + KEY)}"
    assert b64("admin:" + KEY) not in redact(header, collect_secrets(env))


def test_every_eight_character_fragment_of_a_secret_is_masked():
    """A line of a multi-line secret, or a prefix left where a message was cut short."""
    secrets = collect_secrets({"GITHUB_TOKEN": KEY})
    assert redact(f"cut here: {KEY[:9]}", secrets) == "cut here: ***"
    assert redact(f"...{KEY[5:13]}...", secrets) == "...***..."
    assert redact(f"short {KEY[:7]} is kept", secrets) == f"short {KEY[:7]} is kept"
    lines = collect_secrets({"INPUT_API-KEY": "first-line-of-pem\nsecond-line-of-pem"})
    assert redact("got second-line-of-pem", lines) == "got ***"


def test_the_github_token_inputs_are_secrets_too():
    env = {"INPUT_GITHUB-TOKEN": f" {KEY} \n", "INPUT_API-KEY": "hk-other-key-123456"}
    shown = redact(f"Bearer {KEY} and hk-other-key-123456", collect_secrets(env))
    assert shown == "Bearer *** and ***"


SECRET = st.text(alphabet=string.ascii_letters + string.digits + "-_.~+/=", min_size=8, max_size=48)
NOISE = st.text(alphabet=string.printable, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    secret=SECRET,
    around=st.sampled_from(["", "\n", " \n", "\r\n", "\t", "  "]),
    user=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12),
    before=NOISE,
    after=NOISE,
    cut=st.integers(min_value=0, max_value=200),
)
def test_no_form_of_a_random_secret_survives_redaction(secret, around, user, before, after, cut):
    """Whatever the secret and wherever it stands (bare, in a Bearer or Basic header, repr'd,
    as a URI's user part, cut short), no 8 characters of it or of its base64 form remain."""
    env = {"HOKUSAI_API_KEY": secret + around, "MLFLOW_TRACKING_PASSWORD": secret + around,
           "MLFLOW_TRACKING_USERNAME": user}  # fmt: skip
    uri = f"http://{user}:{secret}@127.0.0.1:5000"
    secrets = collect_secrets(env, uris=(uri, f"http://{secret}@h"))
    text = (
        f"{before}Bearer {secret + around!r} {uri}/api Basic {b64(user + ':' + secret)} "
        f"{b64(secret + ':')} {secret}{after}"
    )
    shown = redact(text, secrets)
    truncated = redact(text[: cut + len(before)], secrets)
    for output in (shown, truncated):
        assert not leaked(output, secret)
        assert not leaked(output, b64(user + ":" + secret))
        assert not leaked(output, b64(secret + ":"))


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("htp://x", "did you mean `http://x`?"),
        ("htps://registry.example/api", "did you mean `https://registry.example/api`?"),
        ("localhost:5000", "has no scheme"),
        ("registry.hokus.ai/api/mlflow", "did you mean `https://registry.hokus.ai/api/mlflow`?"),
        ("/tmp/mlruns", "did you mean `sqlite:////tmp/mlruns/mlflow.db`?"),
        ("/tmp/reg.db", "did you mean `sqlite:////tmp/reg.db`?"),
        ("file:///tmp/mlruns", "MLflow 3 refuses `file:` stores"),
        ("http:/x", "no valid host and port"),
        ("http://host:port", "no valid host and port"),
        ("ftp://x", "unknown scheme `ftp`"),
    ],
)
def test_a_uri_mlflow_cannot_read_is_a_usage_error_with_a_suggestion(uri, says):
    with pytest.raises(SettingsError) as raised:
        resolve_settings(uri, {})
    assert raised.value.exit_code == 2
    assert says in str(raised.value)
    assert "--tracking-uri" in str(raised.value)


def test_a_bad_uri_in_the_environment_names_the_variable_and_masks_its_user_part():
    with pytest.raises(SettingsError, match="MLFLOW_TRACKING_URI") as raised:
        resolve_settings(None, {"MLFLOW_TRACKING_URI": f"htps://{KEY}@registry.example"})
    assert KEY not in str(raised.value)
    assert "https://***@registry.example" in str(raised.value)


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:5000",
        "HTTPS://registry.hokus.ai/api/mlflow",
        "sqlite:///mlflow.db",
        "databricks",
        "databricks://profile",
        "postgresql+psycopg2://u:p@db/mlflow",
        " http://127.0.0.1:5000\n",
    ],
)
def test_uris_mlflow_reads_are_accepted_stripped(uri):
    assert check_tracking_uri(uri) == uri.strip()


def test_a_secret_byte_that_is_not_utf8_is_masked_in_the_form_it_is_sent():
    """os.environ holds the byte 0xff as "\\udcff"; a URL or an Authorization header carries
    the byte itself, so its percent-encoded and base64 forms are masked too."""
    forms = secret_forms(["hk_live_\udcffKEY0123"])
    assert "hk_live_%FFKEY0123" in forms
    assert base64.b64encode(b"hk_live_\xffKEY0123").decode() in forms


def test_a_non_ascii_uri_password_is_masked_in_the_basic_header_requests_sends():
    """requests encodes a URI's `user:password` as Latin-1 for its Basic header."""
    forms = secret_forms([], pairs=[("alice", "ñáéíóúüçàèìòùâêîôû")])
    sent = base64.b64encode("alice:ñáéíóúüçàèìòùâêîôû".encode("latin-1")).decode()
    assert sent in forms
    assert redact(f"Authorization: Basic {sent}", forms) == "Authorization: Basic ***"
