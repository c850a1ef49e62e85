"""Shared fixtures: a throwaway repository and a one-call way to validate manifest text."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from hokusai_action.problems import Problem
from hokusai_action.validation.checker import validate
from hokusai_action.validation.rules import Options

# Hypothesis fails an example that runs past 200 ms by default: a timing, which belongs in
# benchmarks/, and one that two pytest-xdist workers on a loaded machine cross at random.
settings.register_profile("hokusai", deadline=None)
settings.load_profile("hokusai")


def pytest_configure(config: pytest.Config) -> None:
    """Temporary folders (tmp_path) in memory where the system has it, unless --basetemp or
    PYTEST_DEBUG_TEMPROOT says otherwise: SQLite syncs each of the dozens of table migrations
    MLflow runs on every new embedded registry to disk, seconds per registry on a loaded
    machine, and no test is about disks. pytest keeps its last three runs' folders there, as
    it does under /tmp; the pytest-xdist workers get theirs inside the one chosen here."""
    memory = Path("/dev/shm")
    chosen = config.option.basetemp is not None or "PYTEST_DEBUG_TEMPROOT" in os.environ
    if not chosen and memory.is_dir() and os.access(memory, os.W_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(memory)


PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

VALID = """\
version: 1
model:
  name: customer-churn-predictor
  token_id: CHURN-001
  path: models/churn
benchmark:
  metric: accuracy
  value: 0.9312
"""


class Repo:
    """A directory that looks like a Git work tree, with helpers to fill it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / ".git").mkdir()
        (root / "models" / "churn").mkdir(parents=True)
        (root / "models" / "churn" / "model.pkl").write_bytes(b"model")

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def check(self, text: str, relative: str = "hokusai.yaml", **options: object) -> list[Problem]:
        """Validate `text` written as a manifest; returns every problem found."""
        path = self.write(relative, text)
        return validate([path], Options(**options)).problems  # type: ignore[arg-type]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def rules_of(problems: list[Problem]) -> list[str]:
    return [p.rule for p in problems]


CheckFn = Callable[..., list[Problem]]
