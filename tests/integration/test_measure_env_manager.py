"""`--env-manager uv` (and virtualenv) install what a model requires and this environment
lacks, from the package index, and the model is measured with it.

Real and offline: a pure-Python wheel of `hokusai-probe-dep` (absent here) is written in the
test and served by a PEP 503 index on loopback (pytest-httpserver); the model is an MLflow
models-from-code PythonModel whose predictions come from that package.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from sklearn import metrics
from werkzeug import Response

from hokusai_action.measure import MeasureError, measure
from hokusai_action.measure.sandbox import _needed_paths, child_identity, unreachable

WHO = child_identity()
BLOCKED = next((p for p in _needed_paths() if WHO and unreachable(p, WHO)), None)
pytestmark = pytest.mark.skipif(
    BLOCKED is not None, reason=f"run as root from an interpreter `nobody` cannot read ({BLOCKED})"
)


def _landlock_abi() -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return int(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


LANDLOCK = sys.platform.startswith("linux") and _landlock_abi() >= 1
WHEEL = "hokusai_probe_dep-1.0-py3-none-any.whl"
PROBE = '''
"""A package the test environment lacks: the model's predictions come from it."""


def label(values):
    return [1 if v % 3 == 0 else 0 for v in values]
'''
MODEL = """
import pandas as pd

import mlflow
from mlflow.pyfunc import PythonModel


class NeedsProbe(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None):
        import hokusai_probe_dep

        return hokusai_probe_dep.label(model_input["x"].tolist())


mlflow.models.set_model(NeedsProbe())
"""


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _wheel(folder: Path) -> Path:
    """A wheel as `pip wheel` would make it: the module, METADATA, WHEEL and RECORD."""
    info = "hokusai_probe_dep-1.0.dist-info"
    files = {
        "hokusai_probe_dep/__init__.py": textwrap.dedent(PROBE).encode(),
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: hokusai-probe-dep\nVersion: 1.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hokusai-test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = "".join(f"{n},sha256={_digest(d)},{len(d)}\n" for n, d in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = folder / WHEEL
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("env-manager-model")
    (root / "needs_probe.py").write_text(textwrap.dedent(MODEL))
    for name, requirement in (("model", "hokusai-probe-dep==1.0"),
                              ("absent", "hokusai-probe-absent==1.0")):  # fmt: skip
        mlflow.pyfunc.save_model(root / name, python_model=str(root / "needs_probe.py"),
                                 pip_requirements=["mlflow", requirement])  # fmt: skip
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("env-manager-data") / "numbers.csv"
    pd.DataFrame({"x": range(30), "label": [1 if x % 6 == 0 else 0 for x in range(30)]}).to_csv(
        path, index=False
    )
    return path


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Overlays (and uv's cache) in a folder `nobody` can reach (pytest's tmp_path is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="hokusai-env-cache-"))
    folder.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setenv("UV_NO_CONFIG", "1")  # no index of the user's configuration is asked:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # the tests reach loopback only
    for key in ("UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(key, raising=False)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def index(httpserver: HTTPServer, tmp_path: Path, cache: Path, monkeypatch) -> HTTPServer:
    """A PEP 503 index on loopback holding hokusai-probe-dep 1.0 and nothing else."""
    wheel = _wheel(tmp_path).read_bytes()
    page = (
        f'<html><body><a href="/files/{WHEEL}#sha256={hashlib.sha256(wheel).hexdigest()}">'
        f"{WHEEL}</a></body></html>"
    )
    httpserver.expect_request("/simple/hokusai-probe-dep/").respond_with_data(
        page, content_type="text/html"
    )
    httpserver.expect_request(f"/files/{WHEEL}").respond_with_data(
        wheel, content_type="application/octet-stream"
    )
    httpserver.expect_request("/simple/hokusai-probe-absent/").respond_with_response(
        Response("not found", status=404)
    )
    url = httpserver.url_for("/simple/")
    monkeypatch.setenv("UV_INDEX_URL", url.replace("://", "://probe-user:probe-secret-7@"))
    monkeypatch.setenv("PIP_INDEX_URL", url)
    return httpserver


def _expected(data: Path) -> float:
    frame = pd.read_csv(data)
    return float(metrics.accuracy_score(frame["label"], [1 if v % 3 == 0 else 0 for v in frame.x]))


def test_local_names_the_missing_package_and_the_env_manager_fix(model, data, cache):
    with pytest.raises(MeasureError) as raised:
        measure(model / "model", data, "label", ["accuracy"], env_manager="local")
    message = str(raised.value)
    assert "`hokusai_probe_dep`" in message
    assert "--env-manager uv" in message
    assert "Traceback" not in message


def test_uv_installs_the_missing_package_from_the_index_and_reuses_it(model, data, index):
    first = measure(model / "model", data, "label", ["accuracy"], env_manager="uv")
    assert first.values["accuracy"] == pytest.approx(_expected(data))
    if LANDLOCK:  # the overlay's Python confines itself as this one does
        assert first.confinement.startswith("landlock ABI")
    assert any("hokusai-probe-dep" in entry[0].path for entry in index.log)
    hits = len(index.log)
    second = measure(model / "model", data, "label", ["accuracy"], env_manager="uv")
    assert second.values == first.values
    assert len(index.log) == hits  # the overlay was reused: the index was not asked again


def test_virtualenv_installs_the_missing_package_with_pip(model, data, index):
    measured = measure(model / "model", data, "label", ["accuracy"], env_manager="virtualenv")
    assert measured.values["accuracy"] == pytest.approx(_expected(data))


def test_a_package_the_index_lacks_is_named_with_the_index_host(model, data, index):
    with pytest.raises(MeasureError) as raised:
        measure(model / "absent", data, "label", ["accuracy"], env_manager="uv")
    message = str(raised.value)
    assert "hokusai-probe-absent" in message
    assert f"http://{index.host}:{index.port}" in message
    assert "probe-secret-7" not in message
    assert "Traceback" not in message


def test_an_index_that_cannot_be_reached_is_named_with_the_package(model, data, cache, monkeypatch):
    import socket

    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("UV_INDEX_URL", f"http://127.0.0.1:{port}/simple/")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(MeasureError) as raised:
        measure(model / "model", data, "label", ["accuracy"], env_manager="uv")
    message = str(raised.value)
    assert "hokusai-probe-dep==1.0" in message
    assert f"http://127.0.0.1:{port}" in message
    assert "Traceback" not in message
