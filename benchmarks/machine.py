"""What every benchmark prints about the machine it ran on, so figures can be compared."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path
from typing import Any


def facts() -> dict[str, Any]:
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        usable = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.replace("\n", " "),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
    }


def tool_environment(tmp: Path) -> dict[str, str]:
    """The environment the timed tools run in: a private bytecode cache in `tmp` (written by
    the warm-up, read by the timed runs, whatever the caller's PYTHONDONTWRITEBYTECODE), and
    no MLFLOW_TRACKING_URI of the caller's: each tool uses the registry the benchmark made."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env
