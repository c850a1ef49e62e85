"""Overlapping registrations: 8 processes at once, against a real server and the embedded
registry, leave one version per registration key; registrations of one token take turns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.registry.lock import EXPIRES_TAG, FOR_TAG, OWNER_TAG, LockTimeout, lock_model
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.settings import resolve_settings
from tests.conftest import PROJECT
from tests.integration.conftest import Server
from tests.integration.test_register import Workspace

WORKERS = 8
# Rounds of each overlap: a race shows only in some interleavings, so more rounds find more.
# The suite's default keeps a developer's run short; CI (.ci/run) sets 10.
ROUNDS = int(os.environ.get("HOKUSAI_TEST_ROUNDS", "4"))
# MLflow's SQLite store, read in this process, uses a loader SQLAlchemy deprecates.
embedded_reads = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")


class Workers:
    """WORKERS processes running the CLI on cue (tests/support/register_worker.py)."""

    def __init__(self, control: Path) -> None:
        self.control = control
        self.round = 0
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MLFLOW_", "HOKUSAI_", "GITHUB_"))
        }
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.register_worker", str(control), str(n)],
                cwd=PROJECT,
                env={**env, "NO_COLOR": "1"},
            )
            for n in range(WORKERS)
        ]
        self._wait(lambda: all((control / f"ready-{n}").exists() for n in range(WORKERS)))

    def _wait(self, done: object) -> None:
        deadline = time.monotonic() + 180
        while not done():  # type: ignore[operator]
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                raise AssertionError("a worker died or hung")
            time.sleep(0.02)

    def _cue(self, order: dict[str, object]) -> None:
        cue = self.control / f"go-{self.round}"
        cue.with_suffix(".tmp").write_text(json.dumps(order))
        cue.with_suffix(".tmp").rename(cue)

    def run(self, cwd: Path, *argv: str, each: list[list[str]] | None = None) -> list[dict]:
        """Every worker runs `hokusai-action ARGV` in `cwd` at once (or worker n: each[n])."""
        self._cue({"cwd": str(cwd), "argv": list(argv), "each": each})
        answers = [self.control / f"done-{self.round}-{n}" for n in range(WORKERS)]
        self._wait(lambda: all(a.exists() for a in answers))
        self.round += 1
        return [json.loads(a.read_text()) for a in answers]

    def stop(self) -> None:
        self._cue({"stop": True})
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A directory in memory when the system has one: SQLite syncs each of MLflow's dozens of
    table migrations to disk, and the test is about overlap, not disks."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="hokusai-overlap-", dir=shm))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    pool = Workers(tmp_path_factory.mktemp("workers"))
    yield pool
    pool.stop()


def make_repo(root: Path, name: str, token: str, value: float, model: str = "model.pkl") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)
    (root / model).write_bytes(f"weights of {name} at {value}".encode())  # one model, one value
    (root / f"{name}.yaml").write_text(
        f"version: 1\nmodel:\n  name: {name}\n  token_id: {token}\n  path: {model}\n"
        f"benchmark:\n  metric: accuracy\n  value: {value}\n"
        "  dataset: {name: holdout, samples: 5000}\n",
        encoding="utf-8",
    )
    return root / f"{name}.yaml"


def registered_once(results: list[dict]) -> int:
    """Every run exited 0 and reported the same version; that version."""
    assert all(r["exit"] == 0 for r in results), [r["stderr"] for r in results if r["exit"]]
    reports = [json.loads(r["stdout"])["results"][0] for r in results]
    versions = {r["version"] for r in reports}
    assert len(versions) == 1, versions
    statuses = sorted(r["status"] for r in reports)
    assert statuses == ["already_registered"] * (WORKERS - 1) + ["registered"], statuses
    return versions.pop()


def register_json(manifest: Path, *extra: str) -> list[str]:
    return ["register", manifest.name, "--format", "json", *extra]


def test_eight_overlapping_runs_on_a_server_register_once(workers, mlflow_server: Server, tmp_path):
    registry = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    for r in range(ROUNDS):
        name, token = f"overlap-{tmp_path.name[-6:]}-{r}", f"OVERLAP-{os.getpid()}-{r}"
        manifest = make_repo(tmp_path / f"r{r}", name, token, 0.9)
        results = workers.run(
            manifest.parent, *register_json(manifest, "--tracking-uri", mlflow_server.uri)
        )
        version = registered_once(results)
        assert [v.version for v in registry.versions_of_model(name)] == [version] == [1]
        assert registry.aliases_of(name) == {"champion": 1}
        assert registry.tickets(lock_model(token)) == []  # every run released its ticket


@embedded_reads
def test_eight_overlapping_runs_on_a_new_embedded_registry_register_once(workers, fast_tmp):
    tmp_path = fast_tmp
    for r in range(ROUNDS):
        manifest = make_repo(tmp_path / f"r{r}", "churn", "CHURN-001", 0.9)
        version = registered_once(workers.run(manifest.parent, *register_json(manifest)))
        registry = MlflowRegistry(resolve_settings(None, env={}, cwd=manifest.parent))
        assert [v.version for v in registry.versions_of_model("churn")] == [version] == [1]


@embedded_reads
def test_eight_overlapping_runs_on_an_existing_embedded_registry_register_once(workers, fast_tmp):
    tmp_path = fast_tmp
    manifest = make_repo(tmp_path, "churn", "CHURN-001", 0.5)
    registry = MlflowRegistry(resolve_settings(None, env={}, cwd=tmp_path))  # creates it
    for r in range(ROUNDS):
        make_repo(tmp_path, "churn", "CHURN-001", 0.5 + 0.02 * r)  # each round a DeltaOne
        results = workers.run(tmp_path, *register_json(manifest))
        version = registered_once(results)
        assert version == r + 1
        report = next(
            json.loads(x["stdout"])["results"][0] for x in results if '"registered"' in x["stdout"]
        )
        assert report["baseline_version"] == (r or None)  # judged against the one before
        versions = registry.versions_of_model("churn")
        assert [v.version for v in versions] == list(range(1, r + 2))
        expected = {"champion": 1} if r == 0 else {"champion": 1, "challenger": r + 1}
        assert registry.aliases_of("churn") == expected


def test_two_manifests_of_one_token_at_once_are_judged_one_after_the_other(
    workers, mlflow_server: Server, tmp_path
):
    registry = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    uri = ["--tracking-uri", mlflow_server.uri]
    for r in range(3):
        token, root = f"PAIR-{os.getpid()}-{r}", tmp_path / f"r{r}"
        base, first, second = (
            make_repo(root, f"{x}-{tmp_path.name[-6:]}-{r}", token, value, f"{x}.pkl")
            for x, value in (("a", 0.80), ("b", 0.85), ("c", 0.90))
        )
        assert workers.run(root, *register_json(base, *uri))[0]["exit"] == 0
        set_record(registry, token, None, Changes(add_models=(first.stem, second.stem)))
        each = [register_json(first if n % 2 else second, *uri) for n in range(WORKERS)]
        results = workers.run(root, "unused", each=each)
        assert all(x["exit"] == 0 for x in results), [x["stderr"] for x in results]
        made = sorted(
            (json.loads(x["stdout"])["results"][0] for x in results),
            key=lambda report: report["version"] is None,
        )
        reports = {(x["model_name"], x["version"]): x for x in made if x["status"] == "registered"}
        assert len(reports) == 2  # one registration per manifest, whoever ran it
        records = sorted(
            (v for v in registry.versions_for_token(token) if v.name != base.stem),
            key=lambda v: v.created_ms,
        )
        earlier, later = records
        assert earlier.tags["hokusai_baseline_model"] == base.stem
        assert (later.tags["hokusai_baseline_model"], later.tags["baseline_version"]) == (
            earlier.name,
            str(earlier.version),
        )  # the second verdict accounts for the first: no baseline judged twice


def test_lock_tickets_are_not_versions_of_the_token(mlflow_server: Server, tmp_path):
    registry = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    token = f"HIDDEN-{os.getpid()}"
    with registry.token_lock(token, "a test"):
        assert len(registry.tickets(lock_model(token))) == 1
        assert registry.versions_for_token(token) == []  # list, lineage, baselines
    assert registry.tickets(lock_model(token)) == []


def foreign_ticket(registry: MlflowRegistry, token: str, expires_ms: int) -> int:
    """A ticket as a run on another machine takes it."""
    return registry.take_ticket(
        lock_model(token),
        {OWNER_TAG: "another-runner/1/77", EXPIRES_TAG: str(expires_ms), FOR_TAG: "x"},
    )


def test_a_lock_left_by_a_crashed_run_elsewhere_is_taken_when_its_lease_ends(
    mlflow_server: Server, tmp_path
):
    token = f"LEASE-{os.getpid()}"
    registry = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    foreign_ticket(registry, token, int(time.time() * 1000) - 1)  # its lease ended
    ws = Workspace(tmp_path, f"leased-{token.lower()}", token)
    report = register(ws.plan(0.9), registry, Decision())
    assert report.version == 1
    assert registry.tickets(lock_model(token)) == []


def test_a_run_that_waits_past_the_deadline_says_who_holds_the_lock_and_writes_nothing(
    mlflow_server: Server, tmp_path
):
    token = f"BUSY-{os.getpid()}"
    settings = resolve_settings(mlflow_server.uri, env={"HOKUSAI_LOCK_WAIT": "1"})
    registry = MlflowRegistry(settings)
    # a live holder elsewhere: its lease ends within lease + clock skew (a later one is forged)
    held = foreign_ticket(registry, token, int(time.time() * 1000) + 90_000)
    ws = Workspace(tmp_path, f"busy-{token.lower()}", token)
    with pytest.raises(LockTimeout) as e:
        register(ws.plan(0.9), registry, Decision())
    message = str(e.value)
    assert f"another registration of token {token}" in message
    assert f"lock `{lock_model(token)}`, version {held}, held by another-runner/1/77" in message
    assert registry.versions_of_model(ws.name) == []
    assert [t.version for t in registry.tickets(lock_model(token))] == [held]  # ours is gone
