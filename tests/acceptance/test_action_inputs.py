"""Action inputs parsed with ASCII-only rules, and secret and URI inputs checked before
anything runs (issue 9, items 1 and 7): a wrong input is a usage error naming the input."""

from __future__ import annotations

import pytest

from hokusai_action.github.action import InputError, mask_values
from tests.acceptance.test_action_files import runner_env, settings

KEY = "hk-live-0f9e8d7c6b5a4321"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pull-request", "²"),  # isdigit() is True, int() raises: was exit 3
        ("pull-request", "\u0663"),  # an Arabic-Indic digit: int() accepts it
        ("pull-request", "\uff11\uff12"),  # fullwidth digits
        ("pull-request", "0"),
        ("pull-request", "-3"),
        ("pull-request", "99999999999"),
        ("deltaone-threshold", "\u0660.\u0660\u0665"),  # float() accepts Arabic-Indic digits
        ("deltaone-threshold", "0.0_5"),  # and underscores
        ("deltaone-threshold", "nan"),
        ("deltaone-threshold", "infinity"),
        ("comment", "\uff54\uff52\uff55\uff45"),
        ("dry-run", "1\u0301"),
        ("retries", "\u0663"),
        ("retries", "²"),
        ("timeout", "\uff16\uff10"),
        ("timeout", "6.0"),
        ("rule", "\uff50oints"),
        ("strict", "\uff54rue"),
    ],
)
def test_numbers_and_flags_are_ascii_only(name, value):
    with pytest.raises(InputError, match=f"input `{name}`") as raised:
        settings(**{name: value})
    assert raised.value.exit_code == 2


def test_ascii_numbers_are_read_as_before():
    s = settings(**{"pull-request": "0012", "deltaone-threshold": "5e-3", "comment": "TRUE"})
    assert (s.pull_request, s.threshold, s.comment) == (12, 0.005, True)


@pytest.mark.parametrize("name", ["api-key", "github-token"])
def test_secret_inputs_are_stripped(name):
    s = settings(**{name: f"  {KEY}\n"})
    assert (s.api_key if name == "api-key" else s.github_token) == KEY


@pytest.mark.parametrize("name", ["api-key", "github-token"])
@pytest.mark.parametrize("inside", ["\n", "\r", "\x1b", "\u2028"])
def test_a_secret_input_with_a_control_character_inside_names_the_input_not_the_value(name, inside):
    with pytest.raises(InputError, match=f"input `{name}`") as raised:
        settings(**{name: f"{KEY[:12]}{inside}{KEY[12:]}"})
    assert raised.value.exit_code == 2
    assert KEY[:12] not in str(raised.value)
    assert KEY[12:] not in str(raised.value)


@pytest.mark.parametrize(
    ("uri", "says"),
    [("htp://x", "did you mean `http://x`?"), ("localhost:5000", "has no scheme")],
)
def test_a_tracking_uri_input_with_a_bad_scheme_is_a_usage_error(uri, says):
    with pytest.raises(InputError, match="input `tracking-uri`") as raised:
        settings(**{"tracking-uri": uri})
    assert raised.value.exit_code == 2
    assert says in str(raised.value)


def test_every_line_of_a_secret_input_and_the_uris_user_part_are_masked():
    env = runner_env(
        {
            "INPUT_API-KEY": "line-one-of-key\nline-two-of-key\n",
            "INPUT_GITHUB-TOKEN": "ghs_token_value",
            "INPUT_TRACKING-URI": "https://alice:pa%2Fss@registry.example",
        }
    )
    masks = mask_values(env)
    assert masks[:3] == ["line-one-of-key", "line-two-of-key", "ghs_token_value"]
    assert {"alice:pa%2Fss", "pa%2Fss", "pa/ss"} <= set(masks)
