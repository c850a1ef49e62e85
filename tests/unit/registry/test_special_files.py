"""`register` checks the model files again just before reading them: a FIFO swapped in after
validation is a clear error, never a hang."""

from __future__ import annotations

import hashlib
import os
import socket

import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import plan as plan_module
from hokusai_action.registry.plan import hash_model_files, plan
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.conftest import VALID
from tests.support.fifo import without_hanging


def validated(repo, text: str = VALID):
    path = repo.write("hokusai.yaml", text)
    result, manifests = check_paths([path], Options())
    assert result.valid, result.problems
    return manifests[0]


def test_fifo_swapped_into_the_model_after_validation_fails_planning_clearly(repo):
    manifest = validated(repo)
    fifo = repo.root / "models" / "churn" / "weights.bin"
    os.mkfifo(fifo)
    with pytest.raises(HokusaiError) as caught:
        without_hanging([fifo], lambda: plan(manifest, None))
    message = str(caught.value)
    assert message.startswith(f"{manifest.file}: model path `models/churn` holds `weights.bin`")
    assert "FIFO" in message


def test_model_file_swapped_for_a_fifo_after_validation_fails_clearly(repo):
    manifest = validated(repo, VALID.replace("models/churn", "models/churn/model.pkl"))
    fifo = repo.root / "models" / "churn" / "model.pkl"
    fifo.unlink()
    os.mkfifo(fifo)
    with pytest.raises(HokusaiError, match=r"model path `models/churn/model.pkl` is a FIFO"):
        without_hanging([fifo], lambda: plan(manifest, None))


def test_hashing_refuses_a_socket_inside_the_model(repo, monkeypatch):
    monkeypatch.chdir(repo.root / "models" / "churn")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("serve.sock")
        with pytest.raises(HokusaiError, match=r"holds `serve\.sock`, which is a socket"):
            hash_model_files(repo.root / "models" / "churn")


def test_a_fifo_appearing_between_the_check_and_the_read_is_not_waited_on(repo):
    """The last line of defence: files are opened without blocking and checked once open."""
    fifo = repo.root / "models" / "churn" / "late.bin"
    os.mkfifo(fifo)
    with pytest.raises(HokusaiError, match=r"late\.bin is not a regular file any more"):
        without_hanging([fifo], lambda: plan_module._read_regular(fifo, hashlib.sha256()))


def test_regular_model_files_hash_as_before(repo):
    files = hash_model_files(repo.root / "models" / "churn")
    assert (files.files, files.size) == (1, len(b"model"))
