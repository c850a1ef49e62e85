"""The action's container entrypoint, run exactly as a runner runs it: the command the
Dockerfile names, a clean environment of INPUT_* and GITHUB_* variables, the workspace as the
working directory. A real MLflow server and a GitHub stand-in on loopback answer it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from werkzeug import Response

from tests.conftest import PROJECT
from tests.support.github_api import FakeGitHub
from tests.support.measuring import claimed

ACTION = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
ENTRYPOINT = json.loads(
    re.search(r"^ENTRYPOINT (.+)$", (PROJECT / "Dockerfile").read_text(), re.M).group(1)
)  # type: ignore[union-attr]
API_KEY = "hk-live-" + uuid.uuid4().hex  # must never be written anywhere
GITHUB_TOKEN = "ghs_" + uuid.uuid4().hex
REPO = "octo/models"
SHA = "c0ffee" + "0" * 34


@dataclass
class Run:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str
    files: dict[str, str]  # every file the action wrote, for secret checks


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name<<DELIMITER` blocks, as the runner reads them."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        outputs[name] = "\n".join(value)
    return outputs


class Workspace:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root, self.tmp = root, tmp
        # False: the entrypoint as a runner starts it, a process of its own. True: its `main`
        # in this process, with the same environment (nothing else of os.environ), working
        # directory and exit status, for tests of what a run decides rather than of the
        # process: a new process spends seconds importing MLflow first.
        self.in_process = False
        suffix = self.suffix = uuid.uuid4().hex[:6].upper()
        self.names: dict[str, str] = {}
        for example in ("churn-classifier", "sentiment-improvement"):
            shutil.copytree(PROJECT / "examples" / example, root / example)
            manifest = root / example / "hokusai.yaml"
            data = manifest.read_text()
            name = re.search(r"name: (\S+)", data).group(1)  # type: ignore[union-attr]
            token = re.search(r"token_id: (\S+)", data).group(1)  # type: ignore[union-attr]
            self.names[example] = f"{name}-{suffix.lower()}"
            data = data.replace(name, self.names[example]).replace(token, f"{token}-{suffix}")
            manifest.write_text(claimed(data))

    def measured(self, example: str) -> None:
        """The example's manifest as shipped (its value measured), under this workspace's
        model name and token."""
        data = (PROJECT / "examples" / example / "hokusai.yaml").read_text()
        name = re.search(r"name: (\S+)", data).group(1)  # type: ignore[union-attr]
        token = re.search(r"token_id: (\S+)", data).group(1)  # type: ignore[union-attr]
        data = data.replace(name, self.names[example]).replace(token, f"{token}-{self.suffix}")
        (self.root / example / "hokusai.yaml").write_text(data)

    def set_value(self, example: str, value: float) -> None:
        """A retrained model (files of its own: one model is rewarded once) at `value`."""
        manifest = self.root / example / "hokusai.yaml"
        text = manifest.read_text()
        model = re.search(r"^  path: (\S+)$", text, re.M).group(1)  # type: ignore[union-attr]
        (self.root / example / model / "retrained.txt").write_text(f"trained to {value}\n")
        current = re.search(r"^  value: \S+$", text, re.M).group(0)  # type: ignore[union-attr]
        manifest.write_text(text.replace(current, f"  value: {value}"))

    def environment(
        self,
        event_name: str,
        event: dict,
        inputs: dict[str, str] | None = None,
        api_url: str = "",
        sha: str = SHA,
    ) -> dict[str, str]:
        """What a runner gives the container: the event payload, GITHUB_* and INPUT_*."""
        event_path, output, summary = (
            self.tmp / "event.json",
            self.tmp / "output",
            self.tmp / "summary.md",
        )
        for path in (output, summary):
            path.write_text("")
        event_path.write_text(json.dumps(event))
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(self.tmp),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.root),
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_SHA": sha,
            "GITHUB_REF": "refs/pull/7/merge"
            if event_name == "pull_request"
            else "refs/heads/main",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": api_url or "http://127.0.0.1:9",
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "42",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        for name, spec in ACTION["inputs"].items():  # what the runner passes, defaults included
            default = str(spec.get("default", ""))
            env[f"INPUT_{name.upper()}"] = (
                GITHUB_TOKEN if default == "${{ github.token }}" else default
            )
        env.update({f"INPUT_{k.upper()}": v for k, v in (inputs or {}).items()})
        return env

    def run(
        self,
        event_name: str,
        event: dict,
        inputs: dict[str, str] | None = None,
        api_url: str = "",
        sha: str = SHA,
    ) -> Run:
        env = self.environment(event_name, event, inputs, api_url, sha)
        output, summary = self.tmp / "output", self.tmp / "summary.md"
        if self.in_process:
            done = _run_here(env, self.root)
        else:
            command = [str(Path(sys.executable).parent / Path(ENTRYPOINT[0]).name),
                       *ENTRYPOINT[1:]]  # fmt: skip
            done = subprocess.run(
                command, cwd=self.root, env=env, capture_output=True, text=True, timeout=300,
                check=False,
            )  # fmt: skip
        written = {
            str(p): p.read_text(errors="replace")
            for p in self.root.rglob("*.json")
            if ".hokusai" in p.parts
        }
        written |= {"output": output.read_text(), "summary": summary.read_text()}
        return Run(
            done.returncode,
            done.stdout + done.stderr,
            parse_outputs(output.read_text()),
            summary.read_text(),
            written,
        )


def _run_here(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The entrypoint's `main` (what ENTRYPOINT's script calls) in this process, with `env`
    as all of os.environ and `cwd` as the working directory; both put back afterwards."""
    from hokusai_action.github.action import main

    out, err = io.StringIO(), io.StringIO()
    saved_environ, saved_cwd = dict(os.environ), Path.cwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    code: int | str | None = 0
    os.environ.clear()
    os.environ.update(env)
    try:
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(), out, err
        try:
            main()
        except SystemExit as e:
            code = e.code
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    assert isinstance(code, int), code  # main ends with sys.exit(an exit code)
    return subprocess.CompletedProcess(ENTRYPOINT, code, out.getvalue(), err.getvalue())


def pr_event(number: int = 7, fork: bool = False) -> dict:
    head_repo = "mallory/models" if fork else REPO
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"repo": {"full_name": head_repo}, "sha": SHA},
            "base": {"repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO},
    }


PUSH = {"ref": "refs/heads/main", "after": SHA, "repository": {"full_name": REPO}}


@pytest.fixture
def server_inputs(mlflow_server) -> dict[str, str]:
    return {"tracking-uri": mlflow_server.uri, "api-key": API_KEY}


def assert_no_secret(run: Run, github: FakeGitHub | None = None) -> None:
    shown = "\n".join(line for line in run.log.splitlines() if not line.startswith("::add-mask::"))
    texts = [shown, *run.files.values()]  # the runner consumes ::add-mask:: lines, and masks
    if github is not None:
        texts += [c["body"] for c in github.comments]
    for text in texts:
        assert API_KEY not in text
        assert GITHUB_TOKEN not in text


def test_pull_request_creates_then_updates_one_comment_per_model(ws, github, server_inputs):
    baseline = ws.run("push", PUSH, server_inputs)  # main's registration: the baseline
    assert baseline.code == 0, baseline.log
    ws.set_value("churn-classifier", 0.9425)
    first = ws.run("pull_request", pr_event(), server_inputs, github.url)
    assert first.code == 0, first.log
    assert len(github.on(7)) == 2  # one comment per model
    churn = next(c for c in github.on(7) if ws.names["churn-classifier"] in c["body"])
    assert "DeltaOne achieved" in churn["body"]
    assert first.outputs["comment-url"].startswith(
        "https://github.example/o/r/pull/7#issuecomment-"
    )

    ws.set_value("churn-classifier", 0.9512)
    second = ws.run("pull_request", pr_event(), server_inputs, github.url)
    assert second.code == 0, second.log
    assert len(github.on(7)) == 2
    assert "0.9512" in next(c for c in github.on(7) if c["id"] == churn["id"])["body"]
    assert [m for m, _ in github.writes].count(
        "PATCH"
    ) == 1  # the other model's result did not change
    assert_no_secret(second, github)


def test_outputs_and_step_summary_describe_the_first_model(ws, github, server_inputs):
    ws.run("push", PUSH, server_inputs)
    ws.set_value("churn-classifier", 0.9425)
    run = ws.run(
        "pull_request",
        pr_event(),
        {**server_inputs, "manifests": "churn-classifier/hokusai.yaml"},
        github.url,
    )
    assert run.code == 0, run.log
    assert run.outputs["deltaone"] == "true"
    assert run.outputs["baseline-version"] == "1"
    assert float(run.outputs["delta"]) == pytest.approx(0.0113)
    assert run.outputs["model-version"] == ""  # compare registers nothing
    results = json.loads((ws.root / run.outputs["results-json"]).read_text())
    assert results["results"][0]["outcome"] == "deltaone"
    assert "DeltaOne achieved" in run.summary
    assert "xychart-beta" in run.summary


def test_push_registers_and_sets_outputs_without_commenting(ws, github, server_inputs):
    run = ws.run(
        "push", PUSH, {**server_inputs, "manifests": "churn-classifier/hokusai.yaml"}, github.url
    )
    assert run.code == 0, run.log
    assert run.outputs["model-version"] == "1"
    assert run.outputs["run-id"]
    assert github.comments == []
    again = ws.run(
        "push", PUSH, {**server_inputs, "manifests": "churn-classifier/hokusai.yaml"}, github.url
    )
    assert again.outputs["model-version"] == "1"  # re-running the workflow registers nothing new
    assert "already registered" in again.summary


def test_api_key_is_masked_first_and_written_nowhere(ws, github, server_inputs):
    run = ws.run("pull_request", pr_event(), server_inputs, github.url)
    assert run.log.splitlines()[:2] == [f"::add-mask::{API_KEY}", f"::add-mask::{GITHUB_TOKEN}"]
    assert_no_secret(run, github)
    assert github.authorizations
    assert all(a == f"Bearer {GITHUB_TOKEN}" for a in github.authorizations)


def test_fork_pull_request_still_compares_and_explains_how_to_comment(
    ws, httpserver, server_inputs
):
    github = FakeGitHub(httpserver, read_only=True)
    run = ws.run("pull_request", pr_event(fork=True), server_inputs, github.url)
    assert run.code == 0, run.log
    assert "::warning::could not post the pull-request comment" in run.log
    assert "workflow_run" in run.log
    assert "compared only" in run.summary
    assert github.comments == []


def test_invalid_manifests_are_annotated_at_most_ten_per_type(ws, github, server_inputs):
    manifest = ws.root / "churn-classifier" / "hokusai.yaml"
    reserved = "".join(f"  mlflow.t{i}: x\n" for i in range(12))
    manifest.write_text(manifest.read_text().replace("tags:\n", "tags:\n" + reserved))
    run = ws.run("pull_request", pr_event(), server_inputs, github.url)
    assert run.code == 1
    annotations = [line for line in run.log.splitlines() if line.startswith("::error")]
    assert len(annotations) == 10  # all GitHub keeps: nine problems, then how many more
    assert annotations[0].startswith("::error file=churn-classifier/hokusai.yaml,line=")
    assert annotations[-1] == "::error::3 more errors: see the step summary"
    assert run.summary.count("tag-reserved") == 12
    assert github.comments == []


def test_a_wrong_input_fails_clearly(ws):
    run = ws.run("push", PUSH, {"mode": "deploy"})
    assert run.code == 2  # a usage error
    assert "::error::input `mode` must be one of" in run.log


def test_dry_run_contacts_no_registry(ws, github):
    dead = {"tracking-uri": "http://127.0.0.1:9", "dry-run": "true"}
    run = ws.run("push", PUSH, dead, github.url)
    assert run.code == 0, run.log
    assert "dry run" in run.summary


def test_combined_comment_for_several_models(ws, github, server_inputs):
    run = ws.run(
        "pull_request", pr_event(8), {**server_inputs, "combine-comments": "true"}, github.url
    )
    assert run.code == 0, run.log
    (comment,) = github.on(8)
    assert "Hokusai DeltaOne results" in comment["body"]
    assert all(name in comment["body"] for name in ws.names.values())


def test_unreachable_registry_fails_the_step_with_a_message(ws, github):
    run = ws.run("push", PUSH, {"tracking-uri": "http://127.0.0.1:9"}, github.url)
    assert run.code == 1
    assert "::error::cannot reach the registry at http://127.0.0.1:9" in run.log
    assert "Traceback" not in run.log


def test_a_new_commit_with_the_same_result_leaves_the_comment_untouched(ws, github, server_inputs):
    inputs = {**server_inputs, "manifests": "churn-classifier/hokusai.yaml"}
    ws.run("pull_request", pr_event(), inputs, github.url, sha="a" * 40)
    again = ws.run("pull_request", pr_event(), inputs, github.url, sha="b" * 40)
    assert again.code == 0, again.log
    assert "comment unchanged" in again.log
    assert [method for method, _ in github.writes] == ["POST"]


def test_fail_on_regression_fails_the_step_but_still_comments(ws, github, server_inputs):
    inputs = {**server_inputs, "manifests": "churn-classifier/hokusai.yaml"}
    ws.run("push", PUSH, inputs)
    ws.set_value("churn-classifier", 0.90)
    run = ws.run("pull_request", pr_event(), {**inputs, "fail-on-regression": "true"}, github.url)
    assert run.code == 1
    assert "::error::benchmark regressed for" in run.log
    assert "regression" in github.on(7)[0]["body"]
    assert ws.run("pull_request", pr_event(), inputs, github.url).code == 0  # off by default


def test_comment_input_false_posts_nothing(ws, github, server_inputs):
    run = ws.run("pull_request", pr_event(), {**server_inputs, "comment": "false"}, github.url)
    assert run.code == 0, run.log
    assert github.comments == []
    assert "DeltaOne" in run.summary or "first registration" in run.summary


def test_workflow_run_comments_on_the_pull_request_input(ws, github, server_inputs):
    event = {"workflow_run": {"head_sha": "f" * 40, "pull_requests": []}}
    github.add_pull(31, "f" * 40)  # GitHub confirms the pull request's head is the run's
    inputs = {**server_inputs, "pull-request": "31", "manifests": "churn-classifier/hokusai.yaml"}
    run = ws.run("workflow_run", event, inputs, github.url)
    assert run.code == 0, run.log
    assert len(github.on(31)) == 1


def test_a_server_echoing_the_key_back_cannot_make_the_action_write_it(ws, github, httpserver):
    """Whatever a registry (or a proxy in front of it) answers, the key stays out."""

    def echo(request):
        body = {
            "error_code": "BAD_REQUEST",
            "message": f"rejected {request.headers.get('Authorization')}",
        }
        return Response(json.dumps(body), 400, content_type="application/json")

    httpserver.expect_request(re.compile("^/api/"), method="GET").respond_with_handler(echo)
    inputs = {
        "tracking-uri": httpserver.url_for("").rstrip("/"),
        "api-key": API_KEY,
    }
    run = ws.run("pull_request", pr_event(), inputs, github.url)
    assert run.code == 1
    assert "rejected Bearer ***" in run.log
    assert_no_secret(run, github)
