"""The entrypoint as a container's PID 1: what it writes goes to the workspace's owner, and
SIGTERM or SIGINT ends it at once, with one line. The image itself: tests/container."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hokusai_action.github.container import hand_over
from tests.support.cli import cli_environment

OWNER = 1001  # the runner's user on GitHub's runners
as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give files away"
)


def owned(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace owned by the runner's user, as the runner mounts it."""
    root = tmp_path / "workspace"
    root.mkdir()
    os.chown(root, OWNER, OWNER)
    return root


@as_root
def test_what_the_run_wrote_goes_to_the_workspaces_owner(workspace: Path):
    since = time.time() - 1
    (workspace / ".hokusai" / "artifacts" / "1").mkdir(parents=True)
    (workspace / ".hokusai" / "mlflow.db").write_bytes(b"db")
    (workspace / ".hokusai" / "artifacts" / "1" / "model.pkl").write_bytes(b"m")
    assert hand_over(workspace, since) == 5
    for path in [workspace, *workspace.rglob("*")]:
        assert owned(path) == (OWNER, OWNER), path


@as_root
def test_files_a_previous_step_left_stay_as_they_are(workspace: Path):
    (workspace / "previous-step.txt").write_text("root's, before us")
    time.sleep(0.05)  # file times come from a coarse clock
    since = time.time()
    time.sleep(0.05)
    (workspace / "ours.txt").write_text("ours")
    hand_over(workspace, since)
    assert owned(workspace / "previous-step.txt") == (0, 0)
    assert owned(workspace / "ours.txt") == (OWNER, OWNER)


@as_root
def test_links_are_handed_over_but_never_followed(workspace: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "file").write_text("not the workspace's")
    since = time.time() - 1
    (workspace / "to-file").symlink_to(outside / "file")
    (workspace / "to-folder").symlink_to(outside / "folder")
    (outside / "folder" / "inside").write_text("not the workspace's either")
    os.link(outside / "file", workspace / "second-name")  # a hard link: another name outside
    hand_over(workspace, since)
    assert owned(workspace / "to-file") == (OWNER, OWNER)
    assert owned(workspace / "to-folder") == (OWNER, OWNER)
    for path in (outside / "file", outside / "folder", outside / "folder" / "inside"):
        assert owned(path) == (0, 0), path


def test_nothing_changes_hands_when_the_workspace_is_ours(tmp_path: Path):
    (tmp_path / "ours.txt").write_text("ours")
    assert hand_over(tmp_path, 0.0) == 0
    assert owned(tmp_path / "ours.txt") == (os.geteuid(), os.getegid())


# A body that writes in the workspace, says it is ready, then waits: in Python (`sleep`), or
# in C code that never returns to the interpreter (`busy`, a long SQLite query).
BODY = textwrap.dedent(
    """\
    import os, sqlite3, sys, time
    from pathlib import Path
    from hokusai_action.github.container import entrypoint

    with entrypoint(os.environ):
        (Path(os.environ["GITHUB_WORKSPACE"]) / "written.txt").write_text("x")
        db = sqlite3.connect(":memory:")
        print("ready", flush=True)
        if sys.argv[1] == "sleep":
            time.sleep(60)
        elif sys.argv[1] == "busy":
            db.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                "SELECT count(*) FROM c"
            ).fetchone()
        else:
            raise RuntimeError("a bug")
    """
)


def start(workspace: Path, how: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", BODY, how],
        env=cli_environment({"GITHUB_WORKSPACE": str(workspace)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def stop(process: subprocess.Popen[str], signum: int) -> tuple[int, str, float]:
    """Send `signum`; the exit code, stderr and how long the process took to end."""
    sent = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    return process.returncode, err, time.monotonic() - sent


@pytest.mark.parametrize(
    ("signum", "code", "how"),
    [
        (signal.SIGTERM, 143, "sleep"),
        (signal.SIGINT, 130, "sleep"),
        (signal.SIGTERM, 143, "busy"),  # the watchdog: the handler cannot run
    ],
)
def test_a_stop_signal_ends_the_run_with_one_line_and_the_shells_code(
    workspace: Path, signum: int, code: int, how: str
):
    process = start(workspace, how)
    if how == "busy":
        time.sleep(0.5)  # into SQLite's C code, where Python runs no signal handler
    returncode, err, took = stop(process, signum)
    assert returncode == code, err
    assert err.splitlines() == [
        f"hokusai-action: stopped by {signal.Signals(signum).name} before the run finished"
    ]
    assert took < 4, f"took {took:.1f} s"  # 1.7 s at most, with a margin for a busy machine
    if how == "busy":
        assert took > 1, "the watchdog, not the handler, ended it"


@as_root
@pytest.mark.parametrize(("how", "signum"), [("sleep", signal.SIGTERM), ("fail", None)])
def test_files_are_handed_over_on_a_stop_and_on_a_crash(
    workspace: Path, how: str, signum: int | None
):
    process = start(workspace, how)
    if signum is not None:
        process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0, err
    assert owned(workspace / "written.txt") == (OWNER, OWNER)


def test_the_action_waiting_on_mlflow_stops_on_sigterm(tmp_path: Path):
    """The real entrypoint, cancelled while a registry that never answers holds it."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pkl").write_bytes(b"m")
    (tmp_path / "hokusai.yaml").write_text(
        "version: 1\nmodel:\n  name: silent-registry\n  token_id: SILENT-1\n  path: m\n"
        "benchmark:\n  metric: accuracy\n  value: 0.9\n"
    )
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.settimeout(120)
        env = {
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_SHA": "c0ffee" + "0" * 34,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REPOSITORY": "octo/models",
            "INPUT_MODE": "register",
            "INPUT_TRACKING-URI": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "INPUT_TIMEOUT": "600",
            "INPUT_RETRIES": "0",
            "INPUT_COMMENT": "false",
        }
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "hokusai-action-github")],
            cwd=tmp_path,
            env=cli_environment(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        connection, _ = silent.accept()  # the action now waits for MLflow's answer
        with connection:
            code, err, took = stop(process, signal.SIGTERM)
    assert code == 143, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "hokusai-action: stopped by SIGTERM before the run finished"
    assert took < 4, f"took {took:.1f} s"
