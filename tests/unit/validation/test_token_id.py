from __future__ import annotations

import pytest

from hokusai_action.validation.rules import suggest_token_id, token_id_problem
from tests.conftest import VALID, rules_of


@pytest.mark.parametrize(
    "token", ["MODEL-001", "SENT-AI", "IMG-DETECT", "CHURN-001", "A", "A1-2B", "X" * 64]
)
def test_valid_token_ids_are_accepted(token):
    assert token_id_problem(token) is None


@pytest.mark.parametrize(
    ("token", "suggestion"),
    [
        ("model_001", "MODEL-001"),
        ("sentai", "SENTAI"),
        ("img detect", "IMG-DETECT"),
        ("-ABC", "ABC"),
        ("ABC-", "ABC"),
        ("A--B", "A-B"),
        ("CHURN-001\n", "CHURN-001"),
        (" CHURN-001", "CHURN-001"),
    ],
)
def test_invalid_token_ids_are_rejected_with_the_fix(token, suggestion):
    message = token_id_problem(token)
    assert message is not None
    assert f"did you mean `{suggestion}`?" in message


@pytest.mark.parametrize("token", ["", "1ABC", "X" * 65, "ÄBC"])
def test_token_ids_without_an_obvious_fix_get_no_suggestion(token):
    message = token_id_problem(token)
    assert message is not None
    assert "did you mean" not in message


def test_trailing_newline_is_explained():
    assert "line break" in (token_id_problem("CHURN-001\n") or "")


def test_over_long_token_id_states_the_limit():
    assert "limit is 64" in (token_id_problem("A" * 65) or "")


def test_suggestion_is_itself_valid():
    for raw in ["a b c", "x__y", "Mixed-Case-1"]:
        suggestion = suggest_token_id(raw)
        assert suggestion is not None
        assert token_id_problem(suggestion) is None


def test_token_rule_replaces_the_schema_pattern_message(repo):
    problems = repo.check(VALID.replace("CHURN-001", "churn-001"))
    assert rules_of(problems) == ["token-id"]
    assert "`CHURN-001`" in problems[0].message
