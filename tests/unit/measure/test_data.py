"""The data is read as the file's own bytes, hashed, and split into features and labels."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hokusai_action.measure import MeasureError
from hokusai_action.measure.data import read

FRAME = pd.DataFrame({"x1": [0.1, 1 / 3, 2.5e-8, 7.0], "x2": [1, 2, 3, 4],
                      "label": [0, 1, 1, 0]})  # fmt: skip


def _write(path, frame=FRAME):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:  # json.dumps writes the shortest repr of each double, as to_csv does
        lines = (json.dumps(record) for record in frame.to_dict(orient="records"))
        path.write_text("".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture
def scratch(tmp_path):
    """The private folder the data is copied into (measure() makes one per call)."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("name", ["data.csv", "data.parquet", "data.jsonl", "data.ndjson"])
def test_each_format_gives_the_same_features_and_labels(tmp_path, scratch, name):
    path = _write(tmp_path / name)
    dataset = read(path, "label", scratch)
    assert list(dataset.features.columns) == ["x1", "x2"]
    np.testing.assert_array_equal(dataset.features["x1"].to_numpy(), FRAME["x1"].to_numpy())
    np.testing.assert_array_equal(dataset.y, [0, 1, 1, 0])
    assert dataset.rows == 4
    assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_hash_mismatch_is_refused_naming_both_hashes(tmp_path, scratch):
    path = _write(tmp_path / "data.csv")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(MeasureError) as raised:
        read(path, "label", scratch, expected_sha256="ab" * 32)
    assert actual in str(raised.value)
    assert "ab" * 32 in str(raised.value)


def test_a_missing_target_names_the_columns_found(tmp_path, scratch):
    frame = pd.DataFrame({f"feature_{i}": [1.0] for i in range(25)})
    path = _write(tmp_path / "data.csv", frame)
    with pytest.raises(MeasureError) as raised:
        read(path, "label", scratch)
    message = str(raised.value)
    assert "no column `label`" in message
    assert "feature_0, feature_1" in message
    assert "feature_19 and 5 more" in message
    assert "feature_20" not in message


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.txt", b"a,b\n1,2\n", "use a .csv, .parquet or .jsonl"),
        ("data.csv", b"", "is empty"),
        ("data.csv", b"x,label\n", "has no rows"),
        ("data.parquet", b"not parquet at all", "cannot be read as Parquet"),
        ("data.jsonl", b'{"x": 1, "label": 0}\n{"x": \n', "cannot be read as JSON Lines"),
        ("data.csv", b"x,label\n1,0\n2,\n", "no label in column `label` on 1 rows"),
        ("data.csv", b"label\n1\n", "no features"),
    ],
)
def test_unreadable_data_says_what_is_wrong(tmp_path, scratch, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MeasureError, match=message):
        read(path, "label", scratch)


def test_a_fifo_is_refused_rather_than_read(tmp_path, scratch):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    with pytest.raises(MeasureError, match="not a regular file"):
        read(fifo, "label", scratch)


def test_string_labels_come_back_as_strings(tmp_path, scratch):
    path = tmp_path / "data.csv"
    path.write_text("x,label\n1,cat\n2,dog\n")
    assert read(path, "label", scratch).y.tolist() == ["cat", "dog"]


def test_a_link_to_our_own_environ_is_refused(tmp_path, scratch):
    """/proc/self/environ passes for a regular file; parsed, our secrets would be features."""
    link = tmp_path / "data.csv"
    link.symlink_to("/proc/self/environ")
    with pytest.raises(MeasureError, match="which is not a data file"):
        read(link, "label", scratch)


def test_data_in_dev_shm_is_an_ordinary_file_but_other_dev_files_are_refused(tmp_path, scratch):
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm here")
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        data = Path(folder) / "data.csv"
        data.write_text("x,label\n1,0\n2,1\n")
        assert read(data, "label", scratch).rows == 2
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    with pytest.raises(MeasureError, match="which is not a data file"):
        read(link, "label", scratch)
