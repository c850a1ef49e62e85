"""The evaluation data: read in the parent process, hashed as the very bytes parsed.

The file is copied into a private folder (mode 0700), hashed as it is copied, parsed, and
the copy removed by the caller once read: what is measured is what was hashed. The model's
process may be running meanwhile (registry/warm.py); it cannot read that folder when it runs
as `nobody` or under Landlock, and otherwise it could read the original file anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hokusai_action.inert import shown
from hokusai_action.measure.measurement import MeasureError, Staged

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".jsonl": "JSON Lines", ".ndjson": "JSON Lines"}
COLUMNS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Dataset:
    # every column but the target: all the model ever sees; read ahead (registry/warm.py),
    # their pickle in a private temporary file instead, so as not to be held in memory
    features: pd.DataFrame | Staged
    y: np.ndarray  # the target column: numbers, booleans or strings
    sha256: str
    rows: int
    target: str = ""
    path: Path | None = None  # the file read, resolved

    def is_for(self, path: Path, target: str, expected_sha256: str | None) -> bool:
        """Whether this is the data a measurement asks for: the same label column, and the
        expected bytes (by hash), or, where no hash is expected, the same file."""
        if target != self.target:
            return False
        if expected_sha256 is not None:
            return expected_sha256.lower() == self.sha256
        return self.path == path.resolve()


KERNEL_FILES = ("proc", "sys", "dev")  # files the kernel makes up, such as our own environ
ORDINARY_UNDER_DEV = ("shm",)  # /dev/shm: a tmpfs of ordinary files (tests keep theirs there)


def _copy(source: Path, copy: Path) -> str:
    """Copy a regular file, and return the sha256 of the bytes copied (one read for both);
    a FIFO or device is refused rather than read (it could hang), and so is a file of /proc,
    /sys or /dev (through a symlink, say): /proc/self/environ is a "regular file" holding our
    secrets, and the features go to the model."""
    parts = source.resolve().parts
    if parts[1:2] in [(name,) for name in KERNEL_FILES] and not (
        parts[1:2] == ("dev",) and parts[2:3] in [(name,) for name in ORDINARY_UNDER_DEV]
    ):
        raise MeasureError(
            f"the data {shown(source)} leads to {shown(source.resolve().as_posix())}, which is "
            "not a data file: point at a CSV, Parquet or JSON Lines file"
        )
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError as e:
        raise MeasureError(
            f"the data {shown(source)} is a folder: point at one CSV, Parquet or JSON Lines file"
        ) from e
    except OSError as e:
        raise MeasureError(f"the data {shown(source)} cannot be read: {e.strerror}") from e
    with os.fdopen(fd, "rb") as src:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise MeasureError(
                f"the data {shown(source)} is a folder: point at one CSV, Parquet or JSON Lines "
                "file"
            )
        if not stat.S_ISREG(mode):
            raise MeasureError(f"the data {shown(source)} is not a regular file")
        digest = hashlib.sha256()
        with copy.open("xb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
        return digest.hexdigest()


def _json_lines(copy: Path, shown_path: str) -> pd.DataFrame:
    """One JSON object per line, parsed by the json module: the same doubles as the CSV's,
    and no guessing of dates from column names (as pandas' read_json does)."""
    import pandas as pd

    records = []
    with copy.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as e:
                raise MeasureError(
                    f"the data {shown_path} cannot be read as JSON Lines: line {number} is not "
                    f"JSON ({shown(getattr(e, 'msg', e), 80)})"
                ) from e
            if not isinstance(record, dict):
                raise MeasureError(
                    f"the data {shown_path} cannot be read as JSON Lines: line {number} is not "
                    "an object of column: value"
                )
            records.append(record)
    if not records:
        raise pd.errors.EmptyDataError("no lines")
    return pd.DataFrame.from_records(records)


def _parse(copy: Path, kind: str, shown_path: str) -> pd.DataFrame:
    import pandas as pd

    try:
        if kind == "CSV":
            return pd.read_csv(copy)
        if kind == "Parquet":
            return pd.read_parquet(copy)
        return _json_lines(copy, shown_path)
    except pd.errors.EmptyDataError as e:
        raise MeasureError(f"the data {shown_path} is empty: it needs a header and rows") from e
    except ImportError as e:
        raise MeasureError(
            f"reading {kind} needs `{e.name or 'pyarrow'}`, which this environment lacks: "
            "pip install 'hokusai-action[measure]'"
        ) from e
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        # pyarrow's ArrowInvalid is a ValueError
        raise MeasureError(
            f"the data {shown_path} cannot be read as {kind} ({shown(e, 160)}): check the file "
            "and its extension"
        ) from e


def _labels(column: pd.Series, target: str, shown_path: str) -> np.ndarray:
    import numpy as np

    missing = column.isna().to_numpy()
    if missing.any():
        raise MeasureError(
            f"the data {shown_path} has no label in column `{shown(target)}` on "
            f"{int(missing.sum())} rows (the first is row {int(np.flatnonzero(missing)[0]) + 1}): "
            "fill or drop them"
        )
    values = column.to_numpy()
    if values.dtype.kind in "biuf":
        return values
    if all(isinstance(v, str) for v in values):
        return values.astype(str)
    if all(isinstance(v, bool | int | float) for v in values):
        return np.asarray(values.tolist())
    raise MeasureError(
        f"the data {shown_path}'s column `{shown(target)}` mixes text and numbers: write every "
        "label the same way"
    )


def read(path: Path, target: str, scratch: Path, expected_sha256: str | None = None) -> Dataset:
    """The data at `path` split into features and labels, hashed; `scratch` is a private
    folder the caller removes."""
    shown_path = shown(path.as_posix())
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise MeasureError(
            f"the data {shown_path} is not a format hokusai-action reads: use a .csv, .parquet or "
            ".jsonl (JSON Lines) file"
        )
    copy = scratch / f"data{path.suffix.lower()}"
    sha256 = _copy(path, copy)  # the hash of the very bytes parsed below
    if expected_sha256 is not None and expected_sha256.lower() != sha256:
        raise MeasureError(
            f"the data {shown_path} hashes to {sha256}, but the benchmark's dataset is "
            f"{expected_sha256.lower()}: measure on the benchmark's own data, or update "
            "benchmark.dataset.sha256 if the benchmark changed"
        )
    frame = _parse(copy, kind, shown_path)
    if frame.shape[0] == 0:
        raise MeasureError(f"the data {shown_path} has no rows")
    columns = [str(c) for c in frame.columns]
    if target not in columns:
        listed = ", ".join(shown(c, 40) for c in columns[:COLUMNS_SHOWN])
        more = f" and {len(columns) - COLUMNS_SHOWN} more" if len(columns) > COLUMNS_SHOWN else ""
        raise MeasureError(
            f"the data {shown_path} has no column `{shown(target)}` (the target): its columns are "
            f"{listed}{more}; name the label column as the data does"
        )
    if len(columns) == 1:
        raise MeasureError(
            f"the data {shown_path} holds the target `{shown(target)}` and no features"
        )
    label = frame.columns[columns.index(target)]
    y = _labels(frame[label], target, shown_path)
    return Dataset(
        frame.drop(columns=[label]), y, sha256, int(frame.shape[0]), target, path.resolve()
    )
