"""Running the installed `hokusai-action` command as a user does, in a subprocess."""

from __future__ import annotations

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
