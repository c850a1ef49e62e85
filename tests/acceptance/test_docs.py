"""docs/ stays true: the comment example is what the code renders, the workflows are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from hokusai_action.github.comment import comment_body
from tests.conftest import PROJECT
from tests.support.reports import sample_report

EXAMPLE = PROJECT / "docs" / "comment-example.md"
WORKFLOWS = sorted((PROJECT / "docs" / "workflows").glob("*.yml"))


def render_example() -> str:
    body = comment_body(sample_report(), "register")
    return (
        "# The pull-request comment\n\n"
        "What hokusai-action posts on a pull request, for one model, as GitHub renders it. The\n"
        "source follows. This file is checked by `tests/acceptance/test_docs.py`; regenerate it\n"
        "with `python -m tests.acceptance.test_docs`.\n\n"
        "---\n\n"
        f"{body}\n\n"
        "---\n\n"
        "## Source\n\n"
        f"````markdown\n{body}\n````\n"
    )


def test_comment_example_is_what_the_code_renders():
    assert EXAMPLE.read_text(encoding="utf-8") == render_example(), (
        "run: python -m tests.acceptance.test_docs"
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_readme_shows_each_documented_workflow(workflow: Path):
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert f"docs/workflows/{workflow.name}" in readme
    # the README shows the file as it is (the linters in test_workflows.py check the file)
    assert f"```yaml\n{workflow.read_text(encoding='utf-8')}```" in readme


if __name__ == "__main__":
    EXAMPLE.write_text(render_example(), encoding="utf-8")
