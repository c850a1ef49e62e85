"""Every folder under tests/fixtures/{valid,invalid} is a case; adding one adds a test.

An invalid case lists what it must produce in `expected.txt`, one `line:col severity rule`
per line, so a change that moves a location or drops a finding fails here. A line may go on
with ` | message` to pin the message's text as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hokusai_action.validation.checker import validate
from hokusai_action.validation.rules import Options
from tests.conftest import FIXTURES

VALID = sorted((FIXTURES / "valid").iterdir())
INVALID = sorted((FIXTURES / "invalid").iterdir())


def _run(case: Path, messages: list[bool] | None = None) -> list[str]:
    """The problems as `line:col severity rule`, with ` | message` where `messages` says so."""
    result = validate([case / "hokusai.yaml"], Options(root=case))
    wanted = messages or []
    return [
        f"{p.line}:{p.column} {p.severity} {p.rule}"
        + (f" | {p.message}" if i < len(wanted) and wanted[i] else "")
        for i, p in enumerate(result.problems)
    ]


@pytest.mark.parametrize("case", VALID, ids=lambda p: p.name)
def test_valid_fixture_has_no_problems(case: Path) -> None:
    assert _run(case) == []


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.name)
def test_invalid_fixture_reports_exactly_the_expected_problems(case: Path) -> None:
    lines = (case / "expected.txt").read_text(encoding="utf-8").split("\n")
    expected = [line for line in lines if line]
    assert _run(case, [" | " in line for line in expected]) == expected


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.name)
def test_invalid_fixture_lists_at_least_one_problem(case: Path) -> None:
    assert (case / "expected.txt").read_text(encoding="utf-8").strip()
