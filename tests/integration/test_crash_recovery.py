"""A registration cut off at any of its requests is finished by the next run.

A loopback proxy in front of a real `mlflow server` plays the server dying: the Nth request
is carried out but never answered, and nothing after it gets through
(tests/support/dropping_proxy.py). For every N the test then runs `register` again directly
and checks the end state: one version, every tag and alias, the attestation, the run
FINISHED, and no lock left behind.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

from hokusai_action.errors import HokusaiError
from hokusai_action.registry.lock import lock_model
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.results import Status
from hokusai_action.registry.settings import resolve_settings
from tests.integration.conftest import Server
from tests.integration.test_register import Workspace
from tests.support.dropping_proxy import DroppingProxy

DECISION = Decision()


def end_state(registry: MlflowRegistry, ws: Workspace) -> dict[str, object]:
    """What a finished registration leaves, with the parts that differ per model masked."""
    versions = registry.versions_of_model(ws.name)
    assert len(versions) == 1, [v.version for v in versions]
    record = registry.get_version(ws.name, versions[0].version)
    assert record is not None
    assert record.run_id is not None
    run = registry.client.get_run(record.run_id)
    experiment = registry.client.get_experiment_by_name(ws.name)
    return {
        "version": record.version,
        "version_tags": sorted(record.tags),
        "attested": len(record.tags.get("hokusai_attestation_sha256", "")) == 64,
        "aliases": registry.aliases_of(ws.name),
        "run_status": run.info.status,
        "run_tags": sorted(k for k in run.data.tags if k != "mlflow.runName"),
        "metrics": sorted(run.data.metrics),
        "artifacts": sorted(
            f.path for f in registry.client.list_artifacts(record.run_id, "hokusai")
        ),
        "runs": len(registry.client.search_runs([experiment.experiment_id])),
        "live_tickets": registry.tickets(lock_model(ws.token)),
    }


def methods(requests: list[str]) -> list[str]:
    return [r.split()[0] for r in requests]


def test_a_rerun_after_a_crash_at_any_request_finishes_the_registration(
    mlflow_server: Server, tmp_path: Path, unique: str
):
    port = int(mlflow_server.uri.rsplit(":", 1)[1])
    direct = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))

    def workspace(label: str) -> Workspace:
        (tmp_path / label).mkdir()
        return Workspace(tmp_path / label, f"crash-{unique}-{label}", f"{label}-{unique}")

    reference = workspace("REF")
    with DroppingProxy(port) as counter:
        counting = MlflowRegistry(resolve_settings(counter.uri, env={}))
        register(reference.plan(0.9), counting, DECISION)
        requests = list(counter.requests)
    expected = end_state(direct, reference)
    assert expected["run_status"] == "FINISHED"
    assert expected["attested"]
    assert expected["aliases"] == {"champion": 1}
    assert len(requests) > 20  # lock, searches, run, upload, version, alias, attestation

    for n in range(1, len(requests) + 1):
        ws = workspace(f"CRASH-{n}")
        with DroppingProxy(port, crash_at=n) as proxy:
            crashing = MlflowRegistry(resolve_settings(proxy.uri, env={}, retries=0))
            error = ""
            try:
                register(ws.plan(0.9), crashing, DECISION)
            except HokusaiError as e:
                error = str(e)
            if not error:  # only the lock's release may fail unnoticed: its lease ends it
                assert "hokusai-lock" in requests[n - 1] or "delete" in requests[n - 1]
            else:
                assert "cannot reach the registry" in error
            assert methods(proxy.requests) == methods(requests[:n])
        # A rerun is a new process; in this one MLflow caches each run's artifact store
        # with the URI it was first reached at (the proxy's), so forget it.
        mlflow_tracking_utils._artifact_repos_cache.clear()
        rerun = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
        report = register(ws.plan(0.9), rerun, DECISION)
        assert report.status in (Status.REGISTERED, Status.ALREADY_REGISTERED)
        assert end_state(direct, ws) == expected, f"crash at request {n}: {requests[n - 1]}"
