"""docs/ stays true: the comment example is what the code renders, the workflows are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hokusai_action import __version__
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
def test_docs_show_each_documented_workflow(workflow: Path):
    """docs/action.md or docs/fork-safety.md shows the file as it is (the linters in
    test_workflows.py check the file), with `@<commit-sha>` for the release tag until a
    release exists."""
    major = __version__.split(".")[0]
    text = workflow.read_text(encoding="utf-8")
    shown = text.replace(
        f"hokusai-protocol/hokusai-action@v{major}", "hokusai-protocol/hokusai-action@<commit-sha>"
    )
    pages = [PROJECT / "docs" / n for n in ("action.md", "fork-safety.md")]
    (page,) = [p for p in pages if f"](workflows/{workflow.name})" in p.read_text(encoding="utf-8")]
    assert f"```yaml\n{shown}```" in page.read_text(encoding="utf-8")


def test_readme_links_the_two_workflows():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for name in ("pull-request.yml", "push.yml"):
        assert f"](docs/workflows/{name})" in readme


def test_links_between_pages_lead_to_files_that_exist():
    for page in [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            path = (page.parent / target.partition("#")[0]).resolve()
            assert path.exists(), f"{page.name}: {target}"


if __name__ == "__main__":
    EXAMPLE.write_text(render_example(), encoding="utf-8")
