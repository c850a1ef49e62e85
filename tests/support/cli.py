"""Running the installed `hokusai-action` command as a user does, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    """`python -m hokusai_action ARGS` with no colour and none of the caller's registry,
    Hokusai or GitHub settings (a developer's MLFLOW_TRACKING_URI must not leak into tests)."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HOKUSAI_", "GITHUB_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "hokusai_action", *args],
        cwd=cwd,
        env={**base, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
