"""What the parent checks around the model's process, without starting one: who can reach
the interpreter, and what it reads back from the work folder it shares with the model."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hokusai_action.measure import MeasureError, measure
from hokusai_action.measure.sandbox import (
    Identity,
    _environment,
    _load_array,
    _read_untrusted,
    check_reachable,
    refuse_links_out,
    run_model,
    unreachable,
)

OTHER = Identity(os.getuid() + 4242, os.getgid() + 4242)  # neither owner nor group of our files


@pytest.fixture
def open_dir():
    """A folder every user can search (pytest's own tmp_path is not: its parent is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="hokusai-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_an_interpreter_nobody_cannot_reach_is_named_with_the_fix(open_dir):
    private = open_dir / "private"
    (private / "bin").mkdir(parents=True)
    python = private / "bin" / "python"
    python.write_text("")
    python.chmod(0o755)
    private.chmod(0o700)
    assert unreachable(python, OTHER) == private
    with pytest.raises(MeasureError) as raised:
        check_reachable(OTHER, [python])
    message = str(raised.value)
    assert f"cannot read {python}" in message
    assert f"blocked at {private}" in message
    assert "chmod a+rX" in message


def test_a_readable_install_passes(open_dir):
    python = open_dir / "python"
    python.write_text("")
    python.chmod(0o755)
    assert unreachable(python, OTHER) is None
    check_reachable(OTHER, [python])


def test_the_childs_environment_holds_nothing_of_ours(tmp_path, monkeypatch):
    monkeypatch.setenv("HOKUSAI_API_KEY", "secret")
    assert sorted(_environment(tmp_path)) == ["HOME", "LANG", "PATH", "TMPDIR"]


def test_a_pickled_array_from_the_model_is_refused(tmp_path):
    np.save(tmp_path / "labels.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(MeasureError, match="not plain numbers or strings"):
        _load_array(tmp_path / "labels.npy", None, 1 << 20)


def test_a_symlink_left_by_the_model_is_not_followed(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("parent's file")
    (tmp_path / "labels.npy").symlink_to(secret)
    with pytest.raises(MeasureError, match="not a plain file"):
        _read_untrusted(tmp_path / "labels.npy", None, 1 << 20)


def test_a_file_the_model_did_not_write_is_refused(tmp_path):
    (tmp_path / "labels.npy").write_bytes(b"x")  # ours, not the child's: a hard link, say
    with pytest.raises(MeasureError, match="not a file the model wrote"):
        _read_untrusted(tmp_path / "labels.npy", OTHER, 1 << 20)


def test_an_oversized_output_is_refused(tmp_path):
    (tmp_path / "labels.npy").write_bytes(b"x" * 2048)
    with pytest.raises(MeasureError, match="over 1024 bytes"):
        _read_untrusted(tmp_path / "labels.npy", None, 1024)


def test_an_unknown_env_manager_is_refused(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,label\n1,0\n")
    with pytest.raises(MeasureError, match="--env-manager must be one of local, uv, virtualenv"):
        measure(tmp_path, data, "label", ["accuracy"], env_manager="conda")


@pytest.mark.parametrize("target", ["/proc/self/environ", "../data/holdout.csv"])
def test_a_symlink_out_of_the_model_is_refused_before_anything_is_copied(tmp_path, target):
    """Copying follows links, as root: a link to our environ or to the labels would hand
    them to the model's process."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "holdout.csv").write_text("label\n1\n")
    (model / "extra").symlink_to(target)
    with pytest.raises(MeasureError, match="holds extra, a symlink to outside the model's folder"):
        run_model(model, pd.DataFrame({"x": [1]}))


def test_a_symlink_within_the_model_is_copied(tmp_path):
    model = tmp_path / "model"
    (model / "weights").mkdir(parents=True)
    (model / "weights" / "w.bin").write_bytes(b"w")
    (model / "alias.bin").symlink_to("weights/w.bin")
    refuse_links_out(model)  # no error


def test_data_inside_the_models_folder_is_refused(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    data = tmp_path / "holdout.csv"
    data.write_text("x,label\n1,0\n")
    with pytest.raises(MeasureError, match="it would be given its labels"):
        measure(tmp_path, data, "label", ["accuracy"])
