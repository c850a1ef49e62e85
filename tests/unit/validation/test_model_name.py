"""Model names MLflow's registry would refuse are validation errors, located, with a fix."""

from __future__ import annotations

import pytest

from hokusai_action.validation.rules import model_name_problem
from tests.conftest import VALID, rules_of


@pytest.mark.parametrize(
    ("name", "fix"), [('"."', "`model`"), ('".."', "`model`"), ("..v2", "`v2`")]
)
def test_names_mlflow_reads_as_paths_are_rejected_with_a_fix(repo, name, fix):
    problems = repo.check(VALID.replace("customer-churn-predictor", name))
    assert rules_of(problems) == ["model-name"]
    assert (problems[0].line, problems[0].column) == (3, 9)
    assert f"write a name such as {fix}" in problems[0].message


@pytest.mark.parametrize("name", [".hidden", "v1.", "a..b", 'it\'s "x" \\', "100% [draft]"])
def test_names_with_dots_quotes_and_backslashes_are_accepted(repo, name):
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert repo.check(VALID.replace("customer-churn-predictor", quoted)) == []


def test_a_name_of_only_unicode_spaces_is_blank_to_mlflow():
    """MLflow refuses `name.strip() == ""`, whatever whitespace the schema's pattern knows."""
    assert "blank" in (model_name_problem("\u00a0\u2003") or "")
    assert model_name_problem("a\u00a0b") is None
