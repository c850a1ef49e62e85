"""Measuring a model's benchmark value on the benchmark's data, instead of taking it as typed.

    measure(model_dir, data, target, metric_names) -> Measurement

`data.py` reads and hashes the data in this process; `sandbox.py` runs the model (whose
loading runs its author's code) in a child process that never sees the labels nor our
secrets, under this Python or, with `--env-manager uv|virtualenv`, one that `overlay.py`
gives the model's own requirements; `scoring.py` computes each metric with scikit-learn;
`predictions.py` turns the per-row predictions into bytes and back; `paired.py` tells
whether a new version beats its baseline on the same rows. Nothing heavy is imported until
a model is measured.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hokusai_action.inert import shown
from hokusai_action.measure.measurement import (
    MeasureError,
    Measurement,
    Predictions,
    rounded,
)

if TYPE_CHECKING:
    from hokusai_action.measure.data import Dataset
    from hokusai_action.measure.sandbox import ModelProcess

__all__ = ["MeasureError", "Measurement", "Predictions", "measure", "read_data", "rounded"]


def read_data(data: Path, target: str, expected_sha256: str | None = None) -> Dataset:
    """The data read and hashed as the very bytes parsed (data.py), its copy removed.
    MeasureError when it cannot be read, or hashes otherwise than `expected_sha256`."""
    from hokusai_action.errors import heavy_import
    from hokusai_action.measure import data as data_module

    _return_large_frees()
    with heavy_import("pandas"):
        import pandas  # noqa: F401
    with tempfile.TemporaryDirectory(prefix="hokusai-data-") as scratch:
        return data_module.read(Path(data), target, Path(scratch), expected_sha256)


def measure(
    model_dir: Path,
    data: Path,
    target: str,
    metric_names: Sequence[str],
    *,
    expected_data_sha256: str | None = None,
    timeout: float = 600.0,
    env_manager: str = "local",
    started: ModelProcess | None = None,
    dataset: Dataset | None = None,
) -> Measurement:
    """The model's values of `metric_names` on `data` (its `target` column the labels).

    The model's process starts first, so that it loads the model while this process reads the
    data, or was `started` earlier, with the data read too (`dataset`, used only if it is this
    very data: registry/warm.py). MeasureError when the data or the model cannot be measured;
    a metric that cannot be measured from predictions is listed in `unmeasured` with the
    reason, not raised.
    """
    from hokusai_action.errors import require_installed

    for module in ("numpy", "pandas", "sklearn", "scipy"):  # imported as they are needed
        require_installed(module, extra="measure", feature="measuring a model")
    from hokusai_action.measure import sandbox

    if env_manager not in sandbox.ENV_MANAGERS:
        raise MeasureError(
            f"--env-manager must be one of {', '.join(sandbox.ENV_MANAGERS)}, not "
            f"`{shown(env_manager)}`"
        )
    if Path(data).resolve().is_relative_to(Path(model_dir).resolve()):
        raise MeasureError(
            f"the data {shown(Path(data).as_posix())} lies in the model's folder "
            f"{shown(Path(model_dir).as_posix())}, which the model is given whole: it would be "
            "given its labels; keep the benchmark's data out of the model's folder"
        )
    with started or sandbox.ModelProcess(Path(model_dir), env_manager) as child:
        if dataset is None or not dataset.is_for(Path(data), target, expected_data_sha256):
            dataset = read_data(Path(data), target, expected_data_sha256)
        # The data's copy (labels included) is gone before the features are sent, and ours
        # of the features is dropped once sent: the model's process holds its own.
        y, sha256, rows = dataset.y, dataset.sha256, dataset.rows
        child.send(dataset.features, rows)
        del dataset
        run = child.result(timeout=timeout)
    from hokusai_action.measure import scoring  # scikit-learn, once the model's process ended

    values, unmeasured, how = scoring.score_all(metric_names, y, run.predictions)
    return Measurement(
        dataset_sha256=sha256,
        rows=rows,
        values=values,
        unmeasured=unmeasured,
        predictions=run.predictions,
        packages=run.packages,
        model_sha256=run.model_sha256,
        how=how,
        confinement=run.confinement,
        truth=y,
    )


M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def _return_large_frees() -> None:
    """Keep glibc from raising its mmap threshold as large buffers are freed (its dynamic
    default), which leaves the CSV parser's freed buffers in the heap for the rest of the
    run: with the threshold fixed they go back to the system at once, some 30 MB held while
    the model's process holds its own copy of the features. Elsewhere than glibc: nothing."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 128 * 1024)
