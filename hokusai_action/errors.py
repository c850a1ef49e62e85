"""The one exception type users see: it ends a run with a message and exit code 1."""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Iterator
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
        with heavy_import(module):
            return importlib.import_module(module)
    except ImportError as e:
        raise _missing(module, extra, feature) from e


@contextlib.contextmanager
def heavy_import(*modules: str) -> Iterator[None]:
    """Import large libraries (MLflow, scikit-learn, pandas: `modules`) without the garbage
    collector.

    Their imports build hundreds of thousands of objects that live as long as the process;
    the collector, run again and again as they pile up, finds nothing to free and costs a
    sixth of the import (0.3 s of MLflow's and scikit-learn's). Frozen once built, later
    collections skip them too. Only when one of `modules` is not imported yet (freezing
    freezes whatever is alive), and only the outermost of nested imports pauses and freezes.
    """
    if all(m in sys.modules for m in modules) or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def require_installed(module: str, *, extra: str, feature: str) -> None:
    """`require`'s message for a dependency that is missing, without importing it yet: the
    import can then wait until the moment it is needed, or run beside other work."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _missing(module, extra, feature)


def _missing(module: str, extra: str, feature: str) -> MissingExtraError:
    return MissingExtraError(
        f"{feature} needs `{module.split('.')[0]}`, which the base install leaves out to keep "
        f"the pre-commit hook light; install it with: pip install 'hokusai-action[{extra}]'"
    )
