"""The image built from the Dockerfile, run as GitHub's runner runs it (conftest.py): against
the GitHub stand-in and a real MLflow server, in a workspace owned by the runner's user."""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from hokusai_action import __version__
from tests.container.conftest import OWNER, docker
from tests.container.test_lock import locked
from tests.integration.test_action_entrypoint import PUSH, pr_event

# What the base image brings besides the lock: its own installer.
BASE_PACKAGES = {"pip", "setuptools", "wheel"}


def test_a_pull_request_run_comments_and_writes_its_outputs(cws, github, mlflow_server):
    inputs = {"tracking-uri": mlflow_server.uri}
    baseline = cws.run("push", PUSH, inputs)  # main's registration: the baseline
    assert baseline.code == 0, baseline.log
    cws.set_value("churn-classifier", 0.9425)
    run = cws.run("pull_request", pr_event(), inputs, github.url)
    assert run.code == 0, run.log
    churn = next(c for c in github.on(7) if cws.names["churn-classifier"] in c["body"])
    assert "DeltaOne achieved" in churn["body"]
    assert run.outputs["deltaone"] == "true"
    assert run.outputs["comment-url"] == churn["html_url"]
    assert "DeltaOne achieved" in run.summary
    assert cws.not_owned() == []


def test_the_image_measures_the_model_itself_as_nobody(cws, mlflow_server):
    """The shipped churn example names its holdout and label column: the registration in the
    image loads the model in its sandboxed child (as `nobody`: the container runs as root)
    and records the measured value, which the summary says."""
    cws.measured("churn-classifier")
    run = cws.run("push", PUSH, {"tracking-uri": mlflow_server.uri})
    assert run.code == 0, run.log
    results = json.loads((cws.root / ".hokusai" / "action-results.json").read_text())
    churn = next(r for r in results["results"] if r["model_name"] == cws.names["churn-classifier"])
    assert churn["measured"]["value"] == 0.9312
    assert churn["measured"]["rows"] == 5000
    assert "measured by hokusai-action on churn-holdout v2.1 (5,000 rows)" in run.summary
    assert cws.not_owned() == []


# Two models measured in one run: the first leaves a process behind in a session of its own
# (beyond the kill of its process group); the second refuses to load if that process lives.
LEAVES_ONE = """
import os, subprocess
import mlflow
from mlflow.pyfunc import PythonModel


class LeavesOne(PythonModel):
    def load_context(self, context):
        subprocess.Popen(["sleep", "301.5"], start_new_session=True)

    def predict(self, context, model_input, params=None):
        return [0] * len(model_input)


mlflow.models.set_model(LeavesOne())
"""
LOOKS_FOR_IT = """
import os
import mlflow
from mlflow.pyfunc import PythonModel


class LooksForIt(PythonModel):
    def load_context(self, context):
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read().startswith(b"sleep\\x00301.5"):
                        raise RuntimeError(f"the model before left process {pid} running")
            except OSError:
                pass

    def predict(self, context, model_input, params=None):
        return [0] * len(model_input)


mlflow.models.set_model(LooksForIt())
"""


def _pyfunc(root: Path, folder: str, code: str, token: str) -> None:
    import mlflow.pyfunc

    (root / folder).mkdir()
    (root / folder / "model.py").write_text(textwrap.dedent(code))
    mlflow.pyfunc.save_model(root / folder / "model", python_model=str(root / folder / "model.py"),
                             pip_requirements=["mlflow"])  # fmt: skip
    (root / folder / "model.py").unlink()
    (root / folder / "holdout.csv").write_text("x,label\n1,0\n2,0\n3,1\n")
    (root / folder / "hokusai.yaml").write_text(
        f"version: 1\nmodel:\n  name: {folder}-{token.lower()}\n  token_id: {token}\n"
        "  path: model\n  flavor: pyfunc\nbenchmark:\n  metric: accuracy\n"
        "  dataset: {name: holdout, path: holdout.csv, target: label}\n"
    )


@pytest.mark.filterwarnings("ignore:.*type hints:UserWarning")  # the models' own
def test_a_process_a_model_leaves_behind_is_ended_before_the_next_model_loads(cws, mlflow_server):
    """In the container every `nobody` process is a model's: one the first model detached
    from its session (setsid) would otherwise live on, as `nobody` like the next model, and
    could write into that model's work folder."""
    for folder, code in (("a-leaves-one", LEAVES_ONE), ("b-looks-for-it", LOOKS_FOR_IT)):
        _pyfunc(cws.root, folder, code, f"SWEEP-{cws.suffix}-{folder[0].upper()}")
    cws._own()  # the runner's checkout belongs to the runner
    run = cws.run("push", PUSH, {"tracking-uri": mlflow_server.uri})
    assert run.code == 0, run.log
    results = json.loads((cws.root / ".hokusai" / "action-results.json").read_text())
    measured = {r["model_name"].split("-")[0]: r["measured"] for r in results["results"]}
    assert measured["a"]["value"] == measured["b"]["value"] == 0.666666666667  # both measured
    assert "left process" not in run.log


def test_what_the_run_writes_belongs_to_the_workspaces_owner(cws):
    # the embedded registry (.hokusai/mlflow.db, its lock, artifacts), asked for: on a push it
    # is refused by default, as it is lost with the runner
    run = cws.run("push", PUSH, {"embedded-registry": "warn"})
    assert run.code == 0, run.log
    written = {p.name for p in (cws.root / ".hokusai").iterdir()}
    assert {"mlflow.db", "mlflow.db.lock", "action-results.json"} <= written, written
    assert cws.not_owned() == []
    # The owner can delete it, which `rm -rf .hokusai` as uid 1001 could not before.
    removed = docker(
        "run", "--rm", "--user", f"{OWNER}:{OWNER}", "-v", f"{cws.root}:/w",
        "--entrypoint", "rm", cws.image, "-rf", "/w/.hokusai",
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    assert not (cws.root / ".hokusai").exists()


def test_sigterm_stops_the_container_at_once_with_143(cws):
    """`docker stop` sends SIGTERM and kills after its grace (10 s, exit 137) a container
    that ignores it, as Python as PID 1 does without a handler."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # a registry that never answers
        silent.settimeout(120)
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        command, env = cws.command(
            "push", PUSH, {"tracking-uri": uri, "timeout": "600", "retries": "0"}
        )
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            connection, _ = silent.accept()  # the action now waits on MLflow
            with connection:
                sent = time.monotonic()
                stopped = docker("stop", "--time", "10", cws.names_started[-1])
                took = time.monotonic() - sent
            log, _ = process.communicate(timeout=60)
        finally:
            process.kill()
    assert stopped.returncode == 0, stopped.stderr
    assert process.returncode == 143, log
    assert log.splitlines()[-1] == "hokusai-action: stopped by SIGTERM before the run finished"
    assert "Traceback" not in log
    assert took < 4, f"docker stop took {took:.1f} s"  # 2 s, with a margin for a busy machine
    assert (cws.root / ".hokusai").exists()  # it wrote its state, and handed it over
    assert cws.not_owned() == []


def test_the_image_holds_the_locked_packages_and_nothing_else(image):
    listed = docker(
        "run", "--rm", "--entrypoint", "python", image, "-c",
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    installed = {
        name.lower().replace("_", "-"): version
        for name, version in json.loads(listed.stdout).items()
    }
    assert installed.pop("hokusai-action") == __version__
    for name in BASE_PACKAGES:
        installed.pop(name, None)
    assert installed == locked("action.lock")
    checked = docker("run", "--rm", "--entrypoint", "python", image, "-m", "pip", "check")
    assert checked.returncode == 0, checked.stdout  # every dependency is in the lock
