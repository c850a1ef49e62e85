"""Every command shown in the README and in docs/ is run, as shown, by a test: the README's
"own model in five minutes" top to bottom, each docs page's commands in the order shown, and
the basic-auth server of docs/troubleshooting.md for real. A page that gains a shell block
no test runs fails `test_every_shell_command_shown_is_run_by_a_test`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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


def test_the_readme_own_model_in_five_minutes_runs_as_shown(tmp_path: Path):
    (train,) = [b for b in re.findall(r"```python\n(.*?)```", FIVE_MINUTES, re.S) if "argv" in b]
    (tmp_path / "train.py").write_text(train, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    outputs = []
    for line in shell_lines(FIVE_MINUTES):
        if line == ACTIVATE:
            continue
        result = run_shell(line, tmp_path)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        outputs.append((line, result.stdout))
    registered = next(out for line, out in outputs if line == "hokusai-action register my-model")
    (shown,) = [b for b in re.findall(r"```text\n(.*?)```", FIVE_MINUTES, re.S) if "load it" in b]
    database = f"sqlite:///{(tmp_path / '.hokusai' / 'mlflow.db').as_posix()}"

    def same(text: str) -> list[str]:
        text = RUN_ID.sub("RUN", text.replace(database, "DB"))
        text = re.sub(r"\b[0-9a-f]{64}\b", "SHA", text)
        return [line for line in text.splitlines() if not line.startswith("  note:")]

    assert same(registered) == same(
        shown.replace("sqlite:////home/you/project/.hokusai/mlflow.db", "DB")
    )
    loaded = next(out for line, out in outputs if line.startswith("MLFLOW_TRACKING_URI="))
    assert "flavor: mlflow.sklearn" in loaded
    promoted = next(out for line, out in outputs if "promote" in line)
    assert "promoted `my-churn-model` version 2 to @champion (was version 1)" in promoted
    assert "0.853 vs baseline 0.802" in outputs[-3][1]  # the second registration: a DeltaOne
    assert "+5.10 pp -> DeltaOne achieved" in outputs[-3][1]


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_basic_auth_server_of_troubleshooting_starts_and_doctor_logs_in(tmp_path: Path):
    """As shown, on a free port instead of 5000 (another may hold it)."""
    server, doctor = shell_lines((PROJECT / "docs" / "troubleshooting.md").read_text("utf-8"))
    port = str(_free_port())
    env = {**environment(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(
        ["bash", "-c", server.replace("--port 5000", f"--port {port}")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, "the server of docs/troubleshooting.md stopped"
                assert time.monotonic() < deadline, "the server did not start in 120 s"
                time.sleep(0.5)
        result = run_shell(doctor.replace(":5000", f":{port}"), tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "auth: MLFLOW_TRACKING_USERNAME=admin and MLFLOW_TRACKING_PASSWORD" in result.stdout
        assert "status: ok" in result.stdout
    finally:  # the server and its workers: the session bash started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
