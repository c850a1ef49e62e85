"""Per-row predictions: checked, and turned into bytes (an .npz) and back.

The lead logs them as a run artifact, `hokusai/predictions/<dataset sha256>.npz`, so that a
later version is compared with its baseline row by row (`paired.py`). Those bytes come back
from a registry that anyone with write access could have filled, and the arrays the model's
process writes come from the model's author: so reading refuses pickles and object arrays,
bounds the size, and checks shapes, kinds and finiteness in one place, `check()`.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from hokusai_action.inert import shown
from hokusai_action.measure.measurement import MeasureError, Predictions

if TYPE_CHECKING:
    import numpy as np

MAX_BYTES = 256 * 1024 * 1024  # an .npz read back: compressed and uncompressed alike
# numpy kinds a prediction may have: bool, signed and unsigned integers, floats, unicode.
LABEL_KINDS = "biufU"
PROBA_KINDS = "biuf"
ARRAYS = ("labels", "proba", "classes")
TOLERANCE = 1e-6  # how far outside [0, 1] a float32 probability may round


def _kind_text(array: np.ndarray) -> str:
    return {"O": "Python objects", "S": "bytes", "V": "records", "M": "dates", "m": "durations",
            "c": "complex numbers"}.get(array.dtype.kind, str(array.dtype))  # fmt: skip


def check(
    pred: Predictions, rows: int | None = None, *, source: str = "the model's output"
) -> Predictions:
    """`pred` when its arrays are what scoring can read, else MeasureError naming the fault.

    Labels: one per row, numbers, booleans or strings, finite. Probabilities: (rows, classes)
    numbers in [0, 1], with a 1-D array of distinct classes naming their columns.
    """
    import numpy as np

    labels, proba, classes = pred.labels, pred.proba, pred.classes
    if not isinstance(labels, np.ndarray) or labels.ndim != 1:
        shape = getattr(labels, "shape", None)
        raise MeasureError(f"{source} is not one prediction per row (its shape is {shape})")
    if labels.dtype.kind not in LABEL_KINDS:
        raise MeasureError(
            f"{source} is not numbers or strings: its predictions are {_kind_text(labels)}"
        )
    if rows is not None and labels.shape[0] != rows:
        raise MeasureError(
            f"{source} is not one prediction per row: {labels.shape[0]} predictions for "
            f"{rows} rows of data"
        )
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        bad = int(np.flatnonzero(~np.isfinite(labels))[0])
        raise MeasureError(
            f"{source} is not finite: the prediction for row {bad} is {shown(labels[bad])}"
        )
    if (proba is None) != (classes is None):
        raise MeasureError(f"{source} gives probabilities without their classes, or classes alone")
    if proba is None or classes is None:
        return pred
    if not isinstance(proba, np.ndarray) or proba.ndim != 2 or proba.dtype.kind not in PROBA_KINDS:
        raise MeasureError(f"{source} is not a table of probabilities (rows x classes)")
    if (
        not isinstance(classes, np.ndarray)
        or classes.ndim != 1
        or (classes.dtype.kind not in LABEL_KINDS)
    ):
        raise MeasureError(f"{source} does not name its classes as numbers or strings")
    if proba.shape != (labels.shape[0], classes.shape[0]) or classes.shape[0] < 1:
        raise MeasureError(
            f"{source} is not one probability per row and class: probabilities of shape "
            f"{proba.shape} for {labels.shape[0]} rows and {classes.shape[0]} classes"
        )
    if len(np.unique(classes)) != classes.shape[0]:
        raise MeasureError(f"{source} names a class twice")
    if proba.size and not (
        np.isfinite(proba).all() and proba.min() >= -TOLERANCE and proba.max() <= 1 + TOLERANCE
    ):
        raise MeasureError(
            f"{source} is not probabilities: a value is outside [0, 1] or not finite"
        )
    return pred


def to_bytes(pred: Predictions) -> bytes:
    """The predictions as an .npz (compressed; no pickles)."""
    import numpy as np

    check(pred, source="the predictions")
    arrays = {"labels": pred.labels}
    if pred.proba is not None and pred.classes is not None:
        arrays.update(proba=pred.proba, classes=pred.classes)
    out = io.BytesIO()
    np.savez_compressed(out, allow_pickle=False, **arrays)
    return out.getvalue()


def from_bytes(data: bytes, *, source: str = "the stored predictions") -> Predictions:
    """Predictions from `to_bytes`' bytes; MeasureError for anything else (a pickle, an object
    array, an unknown array, a zip bomb, a wrong shape)."""
    import numpy as np

    if len(data) > MAX_BYTES:
        raise MeasureError(f"{source} are {len(data)} bytes, over the {MAX_BYTES} allowed")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
        names = sorted(info.filename for info in infos)
        if sum(info.file_size for info in infos) > MAX_BYTES:
            raise MeasureError(f"{source} unpack to more than {MAX_BYTES} bytes")
        unknown = [
            n for n in names if n.removesuffix(".npy") not in ARRAYS or not n.endswith(".npy")
        ]
        if unknown or "labels.npy" not in names:
            raise MeasureError(
                f"{source} are not an .npz of labels, proba and classes (it holds "
                f"{', '.join(shown(n) for n in names[:5]) or 'nothing'})"
            )
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ARRAYS if f"{name}.npy" in names}
    except MeasureError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        # numpy refuses an object array with ValueError ("Object arrays cannot be loaded ...")
        raise MeasureError(
            f"{source} cannot be read as an .npz of plain arrays ({shown(e, 120)}): they were "
            "not written by hokusai-action; measure the baseline again"
        ) from e
    pred = Predictions(arrays["labels"], arrays.get("proba"), arrays.get("classes"))
    return check(pred, source=source)
