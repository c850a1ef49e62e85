"""The GitHub Action's container entrypoint: the runner's environment in, the CLI's functions
out, results as outputs, a step summary and a sticky pull-request comment.

A runner starts the container with each input as `INPUT_<NAME>` (upper-cased, hyphens
kept: `INPUT_TRACKING-URI`), without enforcing `required`, and with the event payload at
`GITHUB_EVENT_PATH`. Inside the container `git` refuses the workspace ("dubious
ownership"), so the commit, ref and repository come from the environment, never from git.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hokusai_action.errors import HokusaiError

# Every input of action.yml with its default; tests check the two agree.
INPUT_DEFAULTS: dict[str, str] = {
    "manifests": "",
    "mode": "auto",
    "tracking-uri": "",
    "api-key": "",
    "github-token": "",  # action.yml: ${{ github.token }}
    "comment": "true",
    "combine-comments": "false",
    "deltaone-threshold": "0.01",
    "fail-on-regression": "false",
    "dry-run": "false",
    "pull-request": "",
}
REQUIRED_INPUTS = ("mode", "github-token")
SECRET_INPUTS = ("api-key", "github-token")
MODES = ("auto", "validate", "compare", "register")
MAX_ANNOTATIONS = 10  # GitHub shows at most 10 annotations of each type per step
RESULTS_FILE = ".hokusai/action-results.json"


class InputError(HokusaiError):
    """A wrong or missing input: the message names it."""


def input_value(env: Mapping[str, str], name: str) -> str:
    return env.get(f"INPUT_{name.upper()}", "").strip()


def read_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """Inputs with action.yml's defaults; the required ones must be set and non-empty."""
    missing = [n for n in REQUIRED_INPUTS if not input_value(env, n)]
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        raise InputError(
            f"required input {names} is empty; set it under `with:` in the workflow "
            "(a secret that does not exist in this repository is empty too)"
        )
    return {name: input_value(env, name) or default for name, default in INPUT_DEFAULTS.items()}


def _flag(inputs: Mapping[str, str], name: str) -> bool:
    value = inputs[name].lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0", ""):
        return False
    raise InputError(f"input `{name}` must be true or false, not {inputs[name]!r}")


@dataclass
class Runner:
    """What the runner tells us about this run."""

    workspace: Path
    event_name: str
    event: dict[str, Any]
    sha: str | None
    ref: str | None
    repository: str | None
    api_url: str
    server_url: str
    run_id: str | None
    output_file: Path | None
    summary_file: Path | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Runner:
        event: dict[str, Any] = {}
        if env.get("GITHUB_EVENT_PATH"):
            try:
                event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise HokusaiError(
                    f"cannot read the event payload at GITHUB_EVENT_PATH: {e}"
                ) from e
        return cls(
            workspace=Path(env.get("GITHUB_WORKSPACE") or "."),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            sha=env.get("GITHUB_SHA") or None,
            ref=env.get("GITHUB_REF") or None,
            repository=env.get("GITHUB_REPOSITORY") or None,
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
            run_id=env.get("GITHUB_RUN_ID") or None,
            output_file=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
            summary_file=Path(env["GITHUB_STEP_SUMMARY"])
            if env.get("GITHUB_STEP_SUMMARY")
            else None,
        )

    @property
    def pull_request(self) -> dict[str, Any]:
        return self.event.get("pull_request") or {}

    @property
    def from_fork(self) -> bool:
        """A pull request from a fork: read-only token, no secrets."""
        head = (self.pull_request.get("head") or {}).get("repo") or {}
        base = (self.pull_request.get("base") or {}).get("repo") or {}
        return bool(head) and head.get("full_name") != base.get("full_name")

    def default_mode(self) -> str:
        return "register" if self.event_name == "push" else "compare"


@dataclass
class RunResult:
    """What the run produced, for outputs and the exit status."""

    reports: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    comment_url: str = ""
    failed: bool = False


# -- output to the runner ---------------------------------------------------------------------
def log(message: str = "") -> None:
    print(message, flush=True)


def workflow_command(kind: str, message: str, **props: object) -> None:
    from hokusai_action.reporters import _escape_data, _escape_property

    rendered = ",".join(f"{k}={_escape_property(str(v))}" for k, v in props.items())
    log(f"::{kind}{' ' + rendered if rendered else ''}::{_escape_data(message)}")


def write_outputs(path: Path | None, outputs: Mapping[str, str]) -> None:
    """`name<<DELIMITER` blocks in $GITHUB_OUTPUT: safe for any value, multi-line included."""
    if path is None:
        return
    with path.open("a", encoding="utf-8") as f:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(path: Path | None, markdown: str) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(markdown.rstrip("\n") + "\n\n")


# -- the run ------------------------------------------------------------------------------
def find_manifests(patterns: str) -> list[Path]:
    """Manifests (relative to the workspace, the current directory) matching the input's
    globs, one per line or space-separated; all of them when it is empty."""
    from hokusai_action.manifest import find_manifests as every_manifest

    if not patterns.strip():
        return sorted(every_manifest(Path()))
    chosen: list[Path] = []
    for pattern in patterns.split():
        matches = sorted(p for p in Path().glob(pattern) if p.is_file())
        if not matches:
            raise InputError(f"input `manifests`: `{pattern}` matches no file in the workspace")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def annotate(problems: list[Any]) -> None:
    """Workflow-command annotations, at most 10 of each type (GitHub shows no more)."""
    from hokusai_action.reporters import workflow_command as annotation

    for severity in ("error", "warning"):
        of_type = [p for p in problems if str(p.severity) == severity]
        for problem in of_type[:MAX_ANNOTATIONS]:
            log(annotation(problem))
        if len(of_type) > MAX_ANNOTATIONS:
            more = len(of_type) - MAX_ANNOTATIONS
            log(f"::{severity}::{more} more {severity}s: see the step summary")


def run(env: Mapping[str, str]) -> int:
    for name in SECRET_INPUTS:  # before anything else is printed
        if value := input_value(env, name):
            log(f"::add-mask::{value}")
    inputs = read_inputs(env)
    runner = Runner.from_env(env)
    mode = inputs["mode"].lower()
    if mode not in MODES:
        raise InputError(f"input `mode` must be one of {', '.join(MODES)}, not {inputs['mode']!r}")
    if mode == "auto":
        mode = runner.default_mode()
    dry_run = _flag(inputs, "dry-run")
    event = runner.event_name or "a local run"
    log(f"hokusai-action: {mode}{' (dry run)' if dry_run else ''} on {event}")

    with contextlib.chdir(runner.workspace):  # annotations name files from the repository root
        return _run_in_workspace(mode, dry_run, inputs, runner)


def _run_in_workspace(mode: str, dry_run: bool, inputs: Mapping[str, str], runner: Runner) -> int:
    from hokusai_action.markdown import problems_section
    from hokusai_action.problems import Severity
    from hokusai_action.rules import Options
    from hokusai_action.validate import check_paths

    outcome = RunResult()
    paths = find_manifests(inputs["manifests"])
    if not paths:
        append_summary(runner.summary_file, "### Hokusai\n\nNo `hokusai.yaml` in the repository.")
        log("::warning::no hokusai.yaml or hokusai.yml found in the repository")
        write_outputs(runner.output_file, _outputs(outcome, ""))
        return 0
    result, manifests = check_paths(paths, Options(root=Path.cwd()))
    annotate(result.problems)
    if not result.valid:
        append_summary(runner.summary_file, "\n".join(problems_section(result.problems)))
        errors = result.count(Severity.ERROR)
        log(f"::error::{errors} error(s) in the manifests: nothing was compared or registered")
        write_outputs(runner.output_file, _outputs(outcome, _write_results(outcome, result)))
        return 1
    if mode == "validate":
        append_summary(
            runner.summary_file, f"### Hokusai\n\n✅ {len(result.files)} manifest(s) valid."
        )
        write_outputs(runner.output_file, _outputs(outcome, _write_results(outcome, result)))
        return 0

    _judge(mode, dry_run, inputs, runner, manifests, outcome)
    _publish(mode, inputs, runner, outcome)
    write_outputs(runner.output_file, _outputs(outcome, _write_results(outcome, result)))
    return 1 if outcome.failed else 0


def _judge(
    mode: str,
    dry_run: bool,
    inputs: Mapping[str, str],
    runner: Runner,
    manifests: list[Any],
    outcome: RunResult,
) -> None:
    from hokusai_action import registration
    from hokusai_action.deltaone import Outcome
    from hokusai_action.settings import resolve_settings

    if inputs["api-key"]:
        os.environ["HOKUSAI_API_KEY"] = inputs["api-key"]  # MLflow's client reads it from here
    try:
        threshold = float(inputs["deltaone-threshold"])
    except ValueError:
        raise InputError(
            f"input `deltaone-threshold` must be a number, not {inputs['deltaone-threshold']!r}"
        ) from None
    if not 0 < threshold <= 1:
        raise InputError(
            "input `deltaone-threshold` must be above 0 and at most 1 (0.01 is one point)"
        )
    decision = registration.Decision(threshold=threshold)
    env = {**os.environ}
    settings = resolve_settings(inputs["tracking-uri"] or None, env)
    plans = [registration.plan(m, runner.sha) for m in manifests]
    if dry_run:
        outcome.reports = [registration.dry_run(p, settings.display_uri) for p in plans]
        return
    from hokusai_action.registry import MlflowRegistry

    step = registration.register if mode == "register" else registration.compare
    try:
        registry = MlflowRegistry(settings)
        for p in plans:
            outcome.reports.append(step(p, registry, decision))
    except HokusaiError as e:
        if runner.from_fork and mode == "compare":
            log(f"::warning::could not compare from a fork's pull request (no secrets here): {e}")
            outcome.errors.append(f"compare skipped: {e}")
        else:
            log(f"::error::{e}")
            outcome.errors.append(str(e))
            outcome.failed = True
    regressed = [
        r for r in outcome.reports if r.verdict and r.verdict.outcome is Outcome.REGRESSION
    ]
    if regressed and _flag(inputs, "fail-on-regression"):
        names = ", ".join(r.plan.model_name for r in regressed)
        log(f"::error::benchmark regressed for {names} (fail-on-regression)")
        outcome.failed = True


def _publish(mode: str, inputs: Mapping[str, str], runner: Runner, outcome: RunResult) -> None:
    from hokusai_action import markdown

    bodies: list[tuple[str | None, str]]
    if _flag(inputs, "combine-comments") and len(outcome.reports) > 1:
        bodies = [(None, markdown.combined_body(outcome.reports, mode))]
    else:
        bodies = [(r.plan.model_name, markdown.comment_body(r, mode)) for r in outcome.reports]
    summary = "\n\n".join(body for _, body in bodies)
    if outcome.errors:
        summary += "\n\n" + "\n".join(f"> ⚠️ {markdown.text(e)}" for e in outcome.errors)
    append_summary(runner.summary_file, summary)

    number = inputs["pull-request"] or str(runner.pull_request.get("number", ""))
    if not bodies or not _flag(inputs, "comment"):
        return
    if not number:
        log("no pull request for this event: the result is in the step summary, not a comment")
        return
    if not number.isdigit():
        raise InputError(f"input `pull-request` must be a pull request number, not {number!r}")
    from hokusai_action.github import GitHubClient, GitHubError

    try:
        client = GitHubClient(inputs["github-token"], runner.api_url)
        author = client.login()
        for _, body in bodies:
            posted = client.upsert_comment(
                runner.repository or "", int(number), body.splitlines()[0], body, author
            )
            log(f"comment {posted.action}: {posted.comment.url}")
            outcome.comment_url = outcome.comment_url or posted.comment.url
    except GitHubError as e:  # a comment never fails the registration
        log(f"::warning::could not post the pull-request comment: {e}")
        if runner.from_fork or e.status in (403, 404):
            log(
                "::notice::Pull requests from forks get a read-only token. To comment on them, "
                "run this action from a separate `workflow_run` workflow (see the README: "
                "'Pull requests from forks'); the result is in this run's step summary."
            )


def _write_results(outcome: RunResult, result: Any) -> str:
    from hokusai_action.report import reports_json
    from hokusai_action.reporters import to_json

    data = {
        **reports_json(outcome.reports),
        "validation": to_json(result),
        "errors": outcome.errors,
    }
    path = Path(RESULTS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return RESULTS_FILE


def _outputs(outcome: RunResult, results: str) -> dict[str, str]:
    """Outputs describe the first model; results-json has them all."""
    first = outcome.reports[0] if outcome.reports else None
    verdict = first.verdict if first else None
    baseline = verdict.baseline if verdict else None
    return {
        "model-version": str(first.version) if first and first.version else "",
        "run-id": (first.run_id or "") if first else "",
        "deltaone": "true" if verdict and verdict.achieved else "false",
        "delta": "" if not verdict or verdict.delta is None else repr(round(verdict.delta, 12)),
        "baseline-version": str(baseline.version) if baseline and baseline.version else "",
        "comment-url": outcome.comment_url,
        "results-json": results,
    }


def main() -> None:
    from hokusai_action.settings import collect_secrets, redact

    env = dict(os.environ)
    try:
        code = run(env)
    except HokusaiError as e:
        log(redact(f"::error::{e}", collect_secrets(env)))
        code = 1
    except Exception as e:  # a bug: say so, never with a secret in it
        log(
            redact(
                f"::error::internal error in hokusai-action: {type(e).__name__}: {e}",
                collect_secrets(env),
            )
        )
        code = 3
    sys.exit(code)


if __name__ == "__main__":
    main()
