"""Model processes started before the registry is read, so that loading a model overlaps it.

Measuring a model costs two Python start-ups: ours, which imports MLflow and opens the
registry, and the model's (hokusai_action.measure.sandbox), which imports the model's
libraries and unpickles it. Each is a few seconds, and only the record (read from the
registry) says for sure that the value must be measured. So, for a plan that asks to be
measured (no claimed value, or a label column named in its manifest), the model's process is
started first and loads while we read the manifest's data and open the registry; one plan at
a time, so that no more than one model is held in memory. The data is read before MLflow is
imported, while the model's process is still starting: the CSV parser's peak and the two
processes' libraries are never held at once. The data read is used only if it is what the
record names (its hash and label column); the features are sent once the record is known.
A process the record turns out not to need (its values are claimed) is stopped unused.

Never under a privileged event (`Measuring.may_load`), and never for `--env-manager uv` or
`virtualenv`, whose environment is built only when it is known to be needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hokusai_action.registry import measured
from hokusai_action.registry.measured import claimed

if TYPE_CHECKING:
    from hokusai_action.measure.data import Dataset
    from hokusai_action.measure.sandbox import ModelProcess
    from hokusai_action.registry.judge import Decision
    from hokusai_action.registry.measured import Measuring
    from hokusai_action.registry.plan import Plan


def asks_to_be_measured(p: Plan, options: Measuring) -> bool:
    """Whether `p` will very likely be measured, from its manifest alone."""
    return (
        options.may_load
        and options.env_manager == "local"
        and (p.model.path / "MLmodel").is_file()
        and (not claimed(p) or bool(p.dataset.get("target")))
    )


class Warm:
    """The plans' model processes, started one at a time ahead of their measurement."""

    def __init__(self, plans: Sequence[Plan], options: Measuring) -> None:
        self._waiting = [p for p in plans if asks_to_be_measured(p, options)]
        self._running: Started | None = None
        self.start_next()

    def start_next(self) -> None:
        """Start the next plan's process, unless one is running, and read its data. A model
        or data that cannot be read is left to `measure`, which says why where the plan is
        measured."""
        from hokusai_action.errors import HokusaiError
        from hokusai_action.measure import read_data
        from hokusai_action.measure.sandbox import ModelProcess, stage

        while self._running is None and self._waiting:
            p = self._waiting.pop(0)
            with contextlib.suppress(HokusaiError):  # MeasureError is one
                self._running = Started(_key(p), ModelProcess(p.model.path))
            target = p.dataset.get("target")
            if self._running is not None and isinstance(target, str):
                with contextlib.suppress(HokusaiError):
                    data = measured.data_file(p, None)
                    ahead = read_data(data, target, p.benchmark.sha256)
                    # held on disk, not in memory, while MLflow loads and the model does
                    staged = stage(ahead.features)  # type: ignore[arg-type]
                    self._running.dataset = dataclasses.replace(ahead, features=staged)

    def take(self, p: Plan) -> Started | None:
        """What was started for `p`, now the caller's to use and close; None if nothing was
        (another plan's process keeps running for it)."""
        if self._running is None or self._running.key != _key(p):
            return None
        started, self._running = self._running, None
        return started

    def discard(self, p: Plan) -> None:
        """`p` is not measured after all: end its process, and start the next."""
        if (started := self.take(p)) is not None:
            started.close()
        self.start_next()

    def close(self) -> None:
        self._waiting.clear()
        if self._running is not None:
            self._running.close()
            self._running = None


@dataclass(slots=True)
class Started:
    """A plan's model process, and the manifest's data read for it (None if it was not)."""

    key: tuple[str, str]
    process: ModelProcess
    dataset: Dataset | None = None

    def close(self) -> None:
        self.process.close()
        features = self.dataset.features if self.dataset is not None else None
        if hasattr(features, "seek"):  # the staged pickle: its file goes with it
            features.close()  # type: ignore[union-attr]


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
