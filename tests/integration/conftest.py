"""Real MLflow servers for the registry tests, started once per session on loopback.

Each server gets its own store (SQLite, or a private PostgreSQL cluster as in production) and
artifact folder in a temporary directory and a free port on 127.0.0.1; tests use unique model
names, so they share a server safely. Under pytest-xdist each worker process is a session of
its own: it starts the servers its tests use, once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from tests.integration.test_action_entrypoint import Workspace
from tests.support.github_api import FakeGitHub
from tests.support.postgres import postgres_cluster, server_binaries

MLFLOW = str(Path(sys.executable).parent / "mlflow")
ADMIN_PASSWORD = "hokusai-test-admin-pw-1"  # a throwaway test server's
# MLflow's basic_auth.ini, but for its credential cache (see `cached_auth_server`)
CACHED_AUTH = """\
[mlflow]
default_permission = READ
database_uri = sqlite:///basic_auth.db
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
auth_cache_ttl_seconds = 3600
"""


@dataclass(frozen=True)
class Server:
    uri: str
    log: Path
    store: str  # its --backend-store-uri: sqlite:///... or postgresql+psycopg2://...

    @property
    def backend(self) -> str:
        return "postgres" if self.store.startswith("postgresql") else "sqlite"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _mlflow_server(
    workdir: Path, *extra: str, env: dict[str, str] | None = None, store: str | None = None
) -> Iterator[Server]:
    """`mlflow server` on a free port; its store is `store`, else SQLite in `workdir`."""
    port = _free_port()
    log = workdir / "server.log"
    store = store or f"sqlite:///{workdir / 'mlflow.db'}"
    command = [
        MLFLOW, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", store,
        "--artifacts-destination", str(workdir / "artifacts"), *extra,
    ]  # fmt: skip
    full_env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})}
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Server(uri, log, store)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server


@contextlib.contextmanager
def _auth_server(workdir: Path, config: str | None = None) -> Iterator[Server]:
    """MLflow's basic-auth app, with MLflow's own configuration unless `config` is given."""
    env = {
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
    }
    if config is not None:
        (workdir / "basic_auth.ini").write_text(config, encoding="utf-8")
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(workdir / "basic_auth.ini")
    with _mlflow_server(workdir, "--app-name", "basic-auth", env=env) as server:
        yield server


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with MLflow's basic-auth app: it refuses requests without valid credentials."""
    with _auth_server(tmp_path_factory.mktemp("mlflow-auth")) as server:
        yield server


@pytest.fixture(scope="session")
def cached_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The basic-auth app with the credential cache MLflow offers (`auth_cache_ttl_seconds`),
    for tests that register as users with passwords: without it every request pays a
    deliberately slow password hash, about a second on a loaded machine, 30 s for one
    `register`. A wrong password is never cached. It cannot take a bearer token (MLflow 3.17
    answers 500 there): tests of API keys use `auth_server`."""
    with _auth_server(tmp_path_factory.mktemp("mlflow-auth-cached"), CACHED_AUTH) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose registry lives in PostgreSQL, the production registry's backend."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin "
            "or on PATH: install Debian's `postgresql` package (.ci/run does) to run the "
            "registry tests against a PostgreSQL-backed MLflow server"
        )
    workdir = tmp_path_factory.mktemp("mlflow-postgres")
    with (
        postgres_cluster(binaries) as cluster,
        _mlflow_server(workdir, store=cluster.url) as server,
    ):
        yield server


# The session-scoped server fixture of each backend.
BACKENDS = {"sqlite": "mlflow_server", "postgres": "postgres_mlflow_server"}
on_both_backends = pytest.mark.parametrize("backend", sorted(BACKENDS), indirect=True)
"""Runs a test that uses `server_settings` (or `server`) against each backend's server."""


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of `server`: SQLite unless a test is marked `on_both_backends`."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def server(request: pytest.FixtureRequest, backend: str) -> Server:
    return request.getfixturevalue(BACKENDS[backend])


@pytest.fixture(params=sorted(BACKENDS))
def any_server(request: pytest.FixtureRequest) -> Server:
    """A server of each backend in turn: the test runs once with SQLite, once with PostgreSQL."""
    return request.getfixturevalue(BACKENDS[request.param])


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The registry sets MLflow's variables in os.environ (as a CLI process may); undo it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def server_settings(server: Server) -> RegistrySettings:
    return resolve_settings(server.uri, env={})


@pytest.fixture
def unique() -> str:
    """A suffix that keeps model names and tokens apart on the shared server."""
    return uuid.uuid4().hex[:8].upper()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A GitHub workspace holding two examples under names and tokens of its own."""
    (tmp_path / "ws").mkdir()
    return Workspace(tmp_path / "ws", tmp_path)


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    """GitHub's REST API, played on loopback."""
    return FakeGitHub(httpserver)


@pytest.fixture(scope="session")
def measured_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Real scikit-learn models and their holdout (tests/support/measuring.py), trained once
    per test process: tests copy them (Repo.plan), never change them."""
    from tests.support.measuring import train

    return train(tmp_path_factory.mktemp("measured-models"))


@pytest.fixture(scope="module")
def embedded_measuring(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    """An embedded registry of its own, per module, for the measured-value tests."""
    root = tmp_path_factory.mktemp("measured-registry")
    (root / ".git").mkdir()
    return resolve_settings(None, env={}, cwd=root)
