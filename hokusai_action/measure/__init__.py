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

import tempfile
from collections.abc import Sequence
from pathlib import Path

from hokusai_action.inert import shown
from hokusai_action.measure.measurement import (
    MeasureError,
    Measurement,
    Predictions,
    rounded,
)

__all__ = ["MeasureError", "Measurement", "Predictions", "measure", "rounded"]


def measure(
    model_dir: Path,
    data: Path,
    target: str,
    metric_names: Sequence[str],
    *,
    expected_data_sha256: str | None = None,
    timeout: float = 600.0,
    env_manager: str = "local",
) -> Measurement:
    """The model's values of `metric_names` on `data` (its `target` column the labels).

    MeasureError when the data or the model cannot be measured; a metric that cannot be
    measured from predictions is listed in `unmeasured` with the reason, not raised.
    """
    from hokusai_action.errors import require

    for module in ("numpy", "pandas", "sklearn", "scipy"):
        require(module, extra="measure", feature="measuring a model")
    from hokusai_action.measure import data as data_module
    from hokusai_action.measure import sandbox, scoring

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
    with tempfile.TemporaryDirectory(prefix="hokusai-data-") as scratch:
        dataset = data_module.read(Path(data), target, Path(scratch), expected_data_sha256)
    # The copy of the data (labels included) is gone before the model's process starts.
    run = sandbox.run_model(
        Path(model_dir), dataset.features, timeout=timeout, env_manager=env_manager
    )
    values, unmeasured, how = scoring.score_all(metric_names, dataset.y, run.predictions)
    return Measurement(
        dataset_sha256=dataset.sha256,
        rows=dataset.rows,
        values=values,
        unmeasured=unmeasured,
        predictions=run.predictions,
        packages=run.packages,
        model_sha256=run.model_sha256,
        how=how,
        confinement=run.confinement,
        truth=dataset.y,
    )
