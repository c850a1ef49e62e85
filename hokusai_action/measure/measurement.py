"""What a measurement returns, and the one error it raises.

Kept apart from the work itself so that `hokusai_action.measure` imports nothing heavy: the
pre-commit hook imports the package tree, and NumPy, pandas and MLflow load only when a model
is measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from hokusai_action.errors import HokusaiError

if TYPE_CHECKING:
    import numpy as np


class MeasureError(HokusaiError):
    """Measuring failed: the message says what, on which file, and the fix."""


@dataclass(frozen=True, slots=True)
class Predictions:
    """A model's output on each row of the data, as checked arrays (never object arrays)."""

    labels: np.ndarray  # model.predict, one per row: numbers, booleans or strings
    proba: np.ndarray | None  # (rows, classes) probabilities, or None when the model gives none
    classes: np.ndarray | None  # the class of each column of `proba`

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True, slots=True)
class Measurement:
    dataset_sha256: str
    rows: int
    values: dict[str, float]  # catalogue metric name -> the value scikit-learn computed
    unmeasured: dict[str, str]  # metric name -> why it was not measured
    predictions: Predictions
    packages: dict[str, str]  # versions the model ran with, in the child process
    model_sha256: str  # the model files as copied and measured (hash_model_files' algorithm)
    how: dict[str, str] = field(default_factory=dict)  # metric -> how it was computed
    # "landlock ABI n: ..." when the kernel confined the model's files; "none: why" otherwise
    confinement: str = ""
    # the labels scored (the target column), for the paired test: the data may be gone by then
    truth: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Staged:
    """Features pickled into a private, nameless temporary file (pipe.stage), to be sent
    to the model's process later without being held in memory meanwhile."""

    file: IO[bytes]

    def close(self) -> None:
        self.file.close()


SIGNIFICANT_DIGITS = 12


def rounded(value: float) -> float:
    """`value` to 12 significant digits: what the verdict of record compares, so that two
    runs of the same model on the same data (or two BLAS builds) give the same verdict."""
    if not math.isfinite(value):
        return value
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
