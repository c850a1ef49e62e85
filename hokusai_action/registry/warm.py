"""Model processes started before the registry is read, so that loading a model overlaps it.

Measuring a model costs two Python start-ups: ours, which imports MLflow and opens the
registry, and the model's (hokusai_action.measure.sandbox), which imports the model's
libraries and unpickles it. Each is a few seconds, and only the record (read from the
registry) says for sure that the value must be measured. So the first plan that asks to be
measured (no claimed value, or a label column named in its manifest) has its model's process
started first, to load while we read the manifest's data and open the registry. The data is
read before MLflow is imported, while the model's process is still starting, and kept on disk
until sent: the CSV parser's peak and the two processes' libraries are never held at once. It
is used only if it is what the record names (its hash and label column), and the features
are sent only once the record is read. If the record does not need the model (its values are
claimed), the process is stopped unused: its code has run, contained as every model's is.

No two models' processes are run at once: one model's code must have no chance to meddle
with another's measurement. So only one is started ahead, and it is stopped before any other
plan's model is loaded. (A process a model detaches from its session is ended too in the
action's container; elsewhere docs/measured-values.md says what it can reach.)

Never under a privileged event (`Measuring.may_load`), and never for `--env-manager uv` or
`virtualenv`, whose environment is built only when it is known to be needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hokusai_action.measure.measurement import Staged
from hokusai_action.registry import measured
from hokusai_action.registry.measured import claimed

if TYPE_CHECKING:
    from hokusai_action.measure.data import Dataset
    from hokusai_action.measure.sandbox import ModelProcess
    from hokusai_action.registry.judge import Decision
    from hokusai_action.registry.measured import Measuring
    from hokusai_action.registry.plan import Plan


def asks_to_be_measured(p: Plan, options: Measuring) -> bool:
    """Whether `p` will very likely be measured, from its manifest alone, and can be here."""
    return (
        options.may_load
        and options.env_manager == "local"
        and (p.model.path / "MLmodel").is_file()
        and (not claimed(p) or bool(p.dataset.get("target")))
        and all(importlib.util.find_spec(m) for m in ("numpy", "pandas", "sklearn", "mlflow"))
    )


class Warm:
    """The model process started ahead for the first plan that asks to be measured."""

    def __init__(self, plans: Sequence[Plan], options: Measuring) -> None:
        self._running: Started | None = None
        try:
            first = next((p for p in plans if asks_to_be_measured(p, options)), None)
        except Exception:  # an unreadable folder: said where the plan is measured
            first = None
        if first is not None:
            self._running = _start(first)

    def take(self, p: Plan) -> Started | None:
        """What was started for `p`, now the caller's to use and close. None if nothing was;
        a process started for another plan is stopped then, before `p`'s model is loaded."""
        started, self._running = self._running, None
        if started is not None and started.key != _key(p):
            started.close()
            return None
        return started

    def discard(self, p: Plan) -> None:
        """`p` is not measured after all: stop what was started."""
        if (started := self.take(p)) is not None:
            started.close()

    def close(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None


def _start(p: Plan) -> Started | None:
    """`p`'s model process, and its data read and staged. Starting ahead is only a speed-up:
    a model or data that cannot be read (or a library that is missing) is left to `measure`,
    which says why where the plan is measured."""
    from hokusai_action.measure import read_data
    from hokusai_action.measure.pipe import stage
    from hokusai_action.measure.sandbox import ModelProcess

    try:
        started = Started(_key(p), ModelProcess(p.model.path))
    except Exception:  # said where the plan is measured
        return None
    target = p.dataset.get("target")
    if isinstance(target, str):
        try:
            ahead = read_data(measured.data_file(p, None), target, p.benchmark.sha256)
            # held on disk, not in memory, while MLflow loads and the model does
            started.dataset = dataclasses.replace(ahead, features=stage(ahead.features))
        except Exception:  # read again, and said, where the plan is measured
            started.dataset = None
        except BaseException:  # interrupted: nothing started is left running
            started.close()
            raise
    return started


@dataclass(slots=True)
class Started:
    """A plan's model process, and the manifest's data read for it (None if it was not)."""

    key: tuple[str, str]
    process: ModelProcess
    dataset: Dataset | None = None

    def close(self) -> None:
        self.process.close()
        if self.dataset is not None and isinstance(self.dataset.features, Staged):
            self.dataset.features.close()  # the staged pickle: its file goes with it


def _key(p: Plan) -> tuple[str, str]:
    return (str(p.manifest), p.model.sha256)


@contextlib.contextmanager
def warmed(plans: Sequence[Plan], decision: Decision) -> Iterator[Decision]:
    """`decision` with its plans' model processes starting; every one is ended on leaving."""
    warm = Warm(plans, decision.measuring)
    try:
        yield dataclasses.replace(
            decision, measuring=dataclasses.replace(decision.measuring, warm=warm)
        )
    finally:
        warm.close()
