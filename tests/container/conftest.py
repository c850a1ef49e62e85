"""The action's image, run as GitHub's runner runs a container action.

The image to test is named by HOKUSAI_ACTION_IMAGE (.ci/run builds the Dockerfile as
`hokusai-action:ci`, on a stand-in base where Docker Hub is out of reach). Without it, or
without a Docker daemon, these tests skip: the README's plain pytest needs neither.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The GitHub stand-in and the real MLflow server of the integration tests, shared.
from tests.integration.conftest import github, mlflow_server  # noqa: F401
from tests.integration.test_action_entrypoint import ACTION, REPO, SHA, Workspace, parse_outputs

MAIN = "refs/heads/main"
OWNER = 1001  # the runner's user on GitHub's runners: the workspace is its checkout


@pytest.fixture(scope="session")
def image() -> str:
    name = os.environ.get("HOKUSAI_ACTION_IMAGE", "")
    if not name:
        pytest.skip(
            "no image to test: set HOKUSAI_ACTION_IMAGE to an image built from the Dockerfile "
            "(.ci/run builds one as hokusai-action:ci)"
        )
    if shutil.which("docker") is None:
        pytest.skip("no `docker` command on this machine")
    found = docker("image", "inspect", name)
    if found.returncode != 0:
        pytest.skip(f"image {name} is not available: {found.stderr.strip()[:300]}")
    return name


def docker(*args: str, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass
class ContainerRun:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str


class RunnerWorkspace(Workspace):
    """A checkout owned by the runner's user, with the runner's folders beside it, that the
    image runs in: `docker run` as the runner writes it, `--network host` so the container
    reaches the test servers on the host's loopback."""

    def __init__(self, root: Path, tmp: Path, image: str) -> None:
        super().__init__(root, tmp)
        self.image = image
        self.names_started: list[str] = []
        for folder in ("_github_home", "_github_workflow", "_runner_file_commands"):
            (tmp / folder).mkdir()
        self._own()

    def _own(self) -> None:
        for path in [self.root, *self.root.rglob("*"), *self.tmp.glob("_*")]:
            os.lchown(path, OWNER, OWNER)

    def command(
        self,
        event_name: str,
        event: dict,
        inputs: dict[str, str] | None = None,
        api_url: str = "",
    ) -> tuple[list[str], dict[str, str]]:
        """The runner's `docker run` and the environment it passes by name (`-e NAME`)."""
        workflow, commands = self.tmp / "_github_workflow", self.tmp / "_runner_file_commands"
        step = uuid.uuid4().hex
        for path, text in (
            (workflow / "event.json", json.dumps(event)),
            (commands / f"set_output_{step}", ""),
            (commands / f"step_summary_{step}", ""),
        ):
            path.write_text(text)
            os.chown(path, OWNER, OWNER)  # the runner's files: only what the image writes is root's
        env = {
            "HOME": "/github/home",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_SHA": SHA,
            "GITHUB_REF": "refs/pull/7/merge" if event_name == "pull_request" else MAIN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": api_url or "http://127.0.0.1:9",
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "42",
            "GITHUB_OUTPUT": f"/github/file_commands/set_output_{step}",
            "GITHUB_STEP_SUMMARY": f"/github/file_commands/step_summary_{step}",
        }
        for name, spec in ACTION["inputs"].items():  # every input, defaults included
            default = str(spec.get("default", ""))
            env[f"INPUT_{name.upper()}"] = "ghs_test" if default.startswith("${{") else default
        env.update({f"INPUT_{k.upper()}": v for k, v in (inputs or {}).items()})
        name = f"hokusai-test-{step[:12]}"
        self.names_started.append(name)
        command = ["docker", "run", "--name", name, "--workdir", "/github/workspace", "--rm"]
        for variable in env:
            command += ["-e", variable]
        for host, inside in (
            (self.tmp / "_github_home", "/github/home"),
            (workflow, "/github/workflow"),
            (commands, "/github/file_commands"),
            (self.root, "/github/workspace"),
        ):
            command += ["-v", f"{host}:{inside}"]
        return [*command, "--network", "host", self.image], {**os.environ, **env}

    def outputs(self, env: dict[str, str]) -> tuple[dict[str, str], str]:
        commands = self.tmp / "_runner_file_commands"
        output = (commands / Path(env["GITHUB_OUTPUT"]).name).read_text()
        return parse_outputs(output), (commands / Path(env["GITHUB_STEP_SUMMARY"]).name).read_text()

    def run(  # type: ignore[override]
        self,
        event_name: str,
        event: dict,
        inputs: dict[str, str] | None = None,
        api_url: str = "",
    ) -> ContainerRun:
        command, env = self.command(event_name, event, inputs, api_url)
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        outputs, summary = self.outputs(env)
        return ContainerRun(done.returncode, done.stdout + done.stderr, outputs, summary)

    def not_owned(self) -> list[str]:
        """Every path in the workspace its owner does not own."""
        return [
            f"{path.relative_to(self.root)} ({path.lstat().st_uid}:{path.lstat().st_gid})"
            for path in [self.root, *self.root.rglob("*")]
            if (path.lstat().st_uid, path.lstat().st_gid) != (OWNER, OWNER)
        ]


@pytest.fixture
def cws(tmp_path: Path, image: str) -> Iterator[RunnerWorkspace]:
    (tmp_path / "workspace").mkdir()
    workspace = RunnerWorkspace(tmp_path / "workspace", tmp_path, image)
    yield workspace
    for name in workspace.names_started:  # a test that failed half-way leaves none running
        docker("rm", "--force", name)
