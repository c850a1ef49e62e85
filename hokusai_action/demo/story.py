"""Run the demo's history through the real code path and render what it did.

Each step of `history/` is validated, planned and registered with the same functions
`hokusai-action register` calls, into an embedded registry in a temporary folder that is
deleted afterwards. So the demo shows computed verdicts only, and a second run starts from
nothing and gives the same result (MLflow's run IDs aside, which are new each time).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hokusai_action.errors import HokusaiError
from hokusai_action.registry.results import Report

HISTORY = Path(__file__).resolve().with_name("history")


@dataclass(frozen=True, slots=True)
class Step:
    """One registered step: its place in the history, what changed, and the report."""

    number: int
    of: int
    folder: str
    report: Report


def step_folders(history: Path = HISTORY) -> list[Path]:
    """The steps, in order: the folders of `history` that hold a manifest, by name."""
    return sorted(d for d in history.iterdir() if (d / "hokusai.yaml").is_file())


def run(
    history: Path = HISTORY, on_registry: Callable[[Path], None] | None = None
) -> Iterator[Step]:
    """Register each step of `history`, in order, into a new throw-away embedded registry and
    yield each as it is done. `on_registry` is told where the registry is, before the first."""
    from hokusai_action.registry.mlflow_store import MlflowRegistry
    from hokusai_action.registry.plan import plan
    from hokusai_action.registry.register import Decision, register
    from hokusai_action.registry.settings import embedded_settings
    from hokusai_action.validation.checker import check_paths
    from hokusai_action.validation.rules import Options

    folders = step_folders(history)
    try:
        workspace = tempfile.TemporaryDirectory(prefix="hokusai-demo-")
    except OSError as e:
        raise HokusaiError(
            f"cannot create a temporary folder for the demo's registry ({e.strerror or e}); "
            "set TMPDIR to a writable folder"
        ) from e
    with workspace as tmp:
        home = Path(tmp) / ".hokusai"
        if on_registry is not None:
            on_registry(home)
        registry = MlflowRegistry(embedded_settings(home))
        for position, folder in enumerate(folders, 1):
            result, manifests = check_paths((folder,), Options())
            if not result.valid or len(manifests) != 1:
                found = "; ".join(f"{p.line}:{p.column} {p.message}" for p in result.problems)
                raise HokusaiError(  # the history ships with hokusai-action: our bug
                    f"the demo's step {folder.name} is not a valid manifest: {found}",
                    exit_code=3,
                )
            manifest = manifests[0]
            # Not from Git: no commit is recorded, and no note says so at every step.
            report = register(plan(manifest, None), registry, Decision())
            yield Step(position, len(folders), folder.name, report)
