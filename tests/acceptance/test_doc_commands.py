"""Every command shown in the README and in docs/ is run, as shown, by a test: each docs page's
commands in the order shown here, the README's "own model in five minutes" top to bottom in
test_doc_readme_commands.py, and the basic-auth server of docs/troubleshooting.md for real in
test_doc_troubleshooting.py (three files, so that pytest-xdist runs them side by side). A page
that gains a shell block no test runs fails `test_every_shell_command_shown_is_run_by_a_test`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.support.cli import cli_environment

README = (PROJECT / "README.md").read_text(encoding="utf-8")
FIVE_MINUTES = README[README.index("## Your own model in five minutes") :]
FIVE_MINUTES = FIVE_MINUTES[: FIVE_MINUTES.index("\n## ", 1)]
# The README's two commands: test_readme.py checks them, CI (`.ci/run`) runs the second and
# tests/integration/test_demo.py the demo the first ends with.
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q"
README_COMMANDS = ("the demo", "the test suite")
ACTIVATE = "source .venv/bin/activate"  # what the tests' PATH does: the venv's bin first
RUN_IN_ORDER = ("commands.md", "manifest.md")  # from the root of a copy of the examples
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")


def shell_lines(text: str) -> list[str]:
    """The commands of the ```sh blocks, without their trailing `# comment`."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines += [re.sub(r"\s{2,}# .*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line]


def environment() -> dict[str, str]:
    """The activated virtual environment: its bin first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return cli_environment({"PATH": path})


def run_shell(line: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=environment(), capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def test_every_shell_command_shown_is_run_by_a_test():
    readme = shell_lines(README)
    rest = set(readme) - set(shell_lines(FIVE_MINUTES))
    assert len(rest) == len(README_COMMANDS)
    assert all(line.startswith(INSTALL) for line in rest)  # the two commands
    for page in sorted((PROJECT / "docs").glob("*.md")):
        if shell_lines(page.read_text(encoding="utf-8")):
            assert page.name in (*RUN_IN_ORDER, "troubleshooting.md"), f"run {page.name}'s commands"


@pytest.fixture
def examples_repo(tmp_path: Path) -> Path:
    """A copy of the examples and the schema, committed in a Git repository of its own."""
    shutil.copytree(PROJECT / "examples", tmp_path / "examples")
    shutil.copytree(PROJECT / "schemas", tmp_path / "schemas")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "examples"], cwd=tmp_path, check=True)
    return tmp_path


@pytest.mark.parametrize("page", RUN_IN_ORDER)
def test_each_command_of_a_docs_page_runs_as_shown(examples_repo: Path, page: str):
    for line in shell_lines((PROJECT / "docs" / page).read_text(encoding="utf-8")):
        result = run_shell(line, examples_repo)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
