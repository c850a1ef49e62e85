"""Run the demo's history through the real code path.

Each step of `history/` is validated, planned and registered with the same functions
`hokusai-action register` calls, into an embedded registry in a temporary folder that is
deleted afterwards. So the demo shows computed verdicts only, and a second run starts from
nothing and gives the same result (MLflow's run IDs aside, which are new each time). It never
reads the user's registry settings: whatever MLFLOW_TRACKING_URI says, it writes only there.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hokusai_action.errors import HokusaiError
from hokusai_action.registry.results import Report

if TYPE_CHECKING:
    from hokusai_action.validation.manifest import Manifest

HISTORY = Path(__file__).resolve().with_name("history")


@dataclass(frozen=True, slots=True)
class Step:
    """One registered step: its place in the history (`position` of `total`), its folder,
    and what `register` reported."""

    position: int
    total: int
    folder: str
    report: Report


def step_folders(history: Path = HISTORY) -> list[Path]:
    """The steps, in order: the folders of `history` that hold a manifest, by their leading
    number (`2-…` before `10-…`), then by name."""

    def order(folder: Path) -> tuple[int, str]:
        found = re.match(r"\d+", folder.name)
        return (int(found.group()) if found else 0, folder.name)

    return sorted((d for d in history.iterdir() if (d / "hokusai.yaml").is_file()), key=order)


def load_steps(history: Path = HISTORY) -> list[Manifest]:
    """Every step's manifest, validated before anything is registered. The history ships
    with hokusai-action, so an invalid step is our bug (exit 3). The history is the steps'
    repository: the holdout they share lies beside their folders, in a clone as in an
    installed package (which has no `.git` to find a root by)."""
    from hokusai_action.validation.checker import check_paths
    from hokusai_action.validation.rules import Options

    manifests = []
    for folder in step_folders(history):
        result, found = check_paths((folder,), Options(root=history))
        if not result.valid or len(found) != 1:
            problems = "; ".join(f"{p.line}:{p.column} {p.message}" for p in result.problems)
            raise HokusaiError(
                f"the demo's step {folder.name} is broken: "
                + (problems or f"{len(found)} manifests where one was expected")
                + "; reinstall hokusai-action",
                exit_code=3,
            )
        manifests += found
    if not manifests:
        raise HokusaiError(f"the demo's history at {history} is empty", exit_code=3)
    return manifests


@contextlib.contextmanager
def _terminated_cleanly() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, `timeout`) ends the run as an exception would, so the
    temporary folder is deleted; by default the process would just die and leave it."""

    def stop(signum: int, frame: object) -> None:
        sys.exit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    history: Path = HISTORY, on_registry: Callable[[Path], None] | None = None
) -> Iterator[Step]:
    """Register each step of `history`, in order, into a new throw-away embedded registry and
    yield each as it is done. `on_registry` is told where the registry is, before the first."""
    from hokusai_action.registry.mlflow_store import MlflowRegistry
    from hokusai_action.registry.plan import plan
    from hokusai_action.registry.register import Decision, register
    from hokusai_action.registry.settings import collect_secrets, embedded_settings
    from hokusai_action.registry.warm import warmed

    manifests = load_steps(history)
    try:
        workspace = tempfile.TemporaryDirectory(prefix="hokusai-demo-")
    except OSError as e:
        raise HokusaiError(
            f"cannot create a temporary folder for the demo's registry ({e.strerror or e}); "
            "set TMPDIR to a writable folder"
        ) from e
    with workspace as tmp, _terminated_cleanly():
        home = Path(tmp) / ".hokusai"
        if on_registry is not None:
            on_registry(home)
        # The history is no Git work tree: no commit to record (and no note at each step
        # saying so: the intro does).
        plans = [plan(manifest, None) for manifest in manifests]
        # the first step's model loads while the registry is made (registry/warm.py)
        with warmed(plans, Decision()) as decision:
            settings = embedded_settings(home, secrets=collect_secrets(os.environ))
            registry = MlflowRegistry(settings)
            for position, (manifest, p) in enumerate(zip(manifests, plans, strict=True), 1):
                report = register(p, registry, decision)
                yield Step(position, len(manifests), manifest.directory.name, report)
