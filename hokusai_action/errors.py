"""The one exception type users see: it ends a run with a message and exit code 1."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

# Set before a library is first imported, unless the user set them: MLflow's client reports
# usage to MLflow's servers by default, and hokusai-action contacts nothing it was not asked to.
ENVIRONMENT_BEFORE_IMPORT = {"mlflow": {"MLFLOW_DISABLE_TELEMETRY": "true"}}


class HokusaiError(Exception):
    """A problem the user can fix; the message says how. Never a traceback (unless --debug)."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class MissingExtraError(HokusaiError):
    exit_code = 2


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it.

    The base install stays light for the pre-commit hook; commands that talk to MLflow or
    GitHub import their libraries through here, at the moment they need them.
    """
    for name, value in ENVIRONMENT_BEFORE_IMPORT.get(module.split(".")[0], {}).items():
        os.environ.setdefault(name, value)
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(
            f"{feature} needs `{module.split('.')[0]}`, which the base install leaves out to "
            f"keep the pre-commit hook light; install it with: "
            f"pip install 'hokusai-action[{extra}]'"
        ) from e
