"""Running the installed `hokusai-action` command as a user does, in a subprocess
(`run_cli`), or the same entry point in this process (`invoke_cli`), which is ten to a hundred
times faster where the process itself is not what a test is about: a fresh process spends
seconds importing MLflow and opening its registry before it does anything."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "hokusai_action"]


def cli_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without its registry, Hokusai or GitHub settings (a
    developer's MLFLOW_TRACKING_URI must not leak into tests), no colour, plus `env`."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HOKUSAI_", "GITHUB_"))
    }
    return {**base, "NO_COLOR": "1", **(env or {})}


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    """`python -m hokusai_action ARGS` in `cli_environment(env)`."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=cli_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def invoke_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`hokusai-action ARGS` through the same `main()` as `run_cli`, in this process: the same
    environment (`cli_environment(env)`, all of os.environ replaced and then restored, so
    nothing one call sets reaches the next), working directory, empty stdin and exit status.
    Use `run_cli` where the process is the point: its output streams as a terminal or file,
    its imports, its redaction of everything it prints, its signals."""
    from hokusai_action.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_environ, saved_cwd = dict(os.environ), Path.cwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    os.environ.clear()
    os.environ.update(cli_environment(env))
    code: int | str | None = 0
    try:
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(), out, err
        with contextlib.suppress(SystemExit):
            try:
                main(list(args))
            except SystemExit as e:
                code = e.code
                raise
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    if not isinstance(code, int):  # sys.exit("message") or sys.exit(None), as Python does
        if code is not None:
            err.write(f"{code}\n")
        code = 0 if code is None else 1
    return subprocess.CompletedProcess(
        ["hokusai-action", *args], code, out.getvalue(), err.getvalue()
    )
