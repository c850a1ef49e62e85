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
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hokusai_action.errors import HokusaiError
from hokusai_action.github import container
from hokusai_action.github.changed import model_name
from hokusai_action.github.publish import publish
from hokusai_action.github.workflow_commands import (
    SECRETS,
    annotate,
    append_summary,
    clean,
    command,
    log,
    write_outputs,
)
from hokusai_action.registry import DEFAULT_RETRIES, DEFAULT_TIMEOUT

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
    "require-significance": "false",
    "fail-on-regression": "false",
    "dry-run": "false",
    "pull-request": "",
    "rule": "auto",
    "promote": "challenger",
    "missing-paths": "error",
    "strict": "false",
    "retries": str(DEFAULT_RETRIES),  # as the command line
    "timeout": str(DEFAULT_TIMEOUT),
    "changed-only": "true",
    "tolerance": "1e-6",
    "env-manager": "local",
    "pull-request-measurements": "",
    "embedded-registry": "auto",
}
# Choices of the inputs that take one word, as the command line's options.
CHOICES: dict[str, tuple[str, ...]] = {
    "rule": ("auto", "points", "relative"),
    "promote": ("challenger", "champion"),
    "missing-paths": ("error", "warn", "ignore"),
    "embedded-registry": ("auto", "error", "warn"),
    "env-manager": ("local", "uv", "virtualenv"),
}
RANGES: dict[str, tuple[int, int]] = {"retries": (0, 10), "timeout": (1, 600)}  # as the CLI
SECRET_INPUTS = ("api-key", "github-token")
MODES = ("auto", "validate", "compare", "register")
RESULTS_FILE = ".hokusai/action-results.json"
# Inputs are parsed with ASCII-only rules: `isdigit()` and `float()` accept "²" or "٣".
_PULL_REQUEST = re.compile(r"[0-9]{1,10}")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_PULL_REQUEST = 2**31 - 1


class InputError(HokusaiError):
    """A wrong or missing input: the message names it. A usage error (exit 2)."""

    exit_code = 2


def input_value(env: Mapping[str, str], name: str) -> str:
    return env.get(f"INPUT_{name.upper()}", "").strip()


def read_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """Inputs with action.yml's defaults. None is required: an empty one (a secret that does
    not exist in this repository is empty too) means its default, and an empty `github-token`
    matters only when a comment is to be posted."""
    return {name: input_value(env, name) or default for name, default in INPUT_DEFAULTS.items()}


def _flag(inputs: Mapping[str, str], name: str) -> bool:
    value = inputs[name].lower() if inputs[name].isascii() else inputs[name]
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise InputError(f"input `{name}` must be true or false, not {inputs[name]!r}")


def _choice(inputs: Mapping[str, str], name: str) -> str:
    """One of CHOICES[name], in any ASCII case."""
    value = inputs[name].lower() if inputs[name].isascii() else inputs[name]
    if value not in CHOICES[name]:
        raise InputError(
            f"input `{name}` must be one of {', '.join(CHOICES[name])}, not {inputs[name]!r}"
        )
    return value


def _integer(inputs: Mapping[str, str], name: str) -> int:
    """A whole number in RANGES[name], in ASCII digits."""
    low, high = RANGES[name]
    text = inputs[name]
    if not (re.fullmatch(r"[0-9]{1,4}", text) and low <= int(text) <= high):
        raise InputError(
            f"input `{name}` must be a whole number from {low} to {high} written with ASCII "
            f"digits, not {text!r}"
        )
    return int(text)


@dataclass(frozen=True)
class Settings:
    """Every input, checked before anything is done: a typo fails the step, not half of it."""

    mode: str  # validate | compare | register | auto (decided with the event)
    manifests: tuple[str, ...]
    tracking_uri: str | None
    api_key: str
    github_token: str
    comment: bool
    combine_comments: bool
    threshold: float
    require_significance: bool
    fail_on_regression: bool
    dry_run: bool
    pull_request: int | None
    rule: str = "auto"  # auto | points | relative
    promote: str = "challenger"
    missing_paths: str = "error"  # error | warn | ignore
    strict: bool = False
    retries: int = DEFAULT_RETRIES
    timeout: int = DEFAULT_TIMEOUT
    changed_only: bool = True  # on a pull request, judge only the models it changes
    embedded_registry: str = "auto"  # register into the workspace's throw-away registry?
    measurements: str = ""  # workflow_run: the pull request's own run's results file
    tolerance: str = "1e-6"  # how far a claim may be from the measurement
    env_manager: str = "local"  # where a measured model is loaded

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, str]) -> Settings:
        from hokusai_action.registry.settings import (
            SettingsError,
            check_tracking_uri,
            clean_secret,
        )

        try:  # secrets and the URI name the input, never the value
            api_key = clean_secret("input `api-key`", inputs["api-key"])
            github_token = clean_secret("input `github-token`", inputs["github-token"])
            uri = inputs["tracking-uri"]
            tracking_uri = check_tracking_uri(uri, "input `tracking-uri`") if uri else None
        except SettingsError as e:
            raise InputError(str(e)) from None
        mode = inputs["mode"].lower()
        if mode not in MODES:
            raise InputError(
                f"input `mode` must be one of {', '.join(MODES)}, not {inputs['mode']!r}"
            )
        patterns = tuple(inputs["manifests"].split())
        for pattern in patterns:
            parts = PurePosixPath(pattern).parts
            if pattern.startswith(("/", "\\")) or ".." in parts:
                raise InputError(
                    f"input `manifests`: `{pattern}` must be a glob relative to the "
                    "repository root, inside it (no leading `/`, no `..`)"
                )
        tolerance = inputs["tolerance"]
        if not _NUMBER.fullmatch(tolerance):
            raise InputError(
                "input `tolerance` must be a number >= 0 written with ASCII digits (1e-6 is "
                f"the default), not {tolerance!r}"
            )
        measurements = inputs["pull-request-measurements"]
        if measurements.startswith(("/", "\\")) or ".." in PurePosixPath(measurements).parts:
            raise InputError(
                f"input `pull-request-measurements`: `{measurements}` must be a path relative "
                "to the workspace, inside it (no leading `/`, no `..`)"
            )
        text = inputs["deltaone-threshold"]
        threshold = float(text) if _NUMBER.fullmatch(text) else float("nan")
        if not 0 < threshold <= 1:
            raise InputError(
                "input `deltaone-threshold` must be a number above 0 and at most 1 written "
                f"with ASCII digits (0.01 is one point), not {text!r}"
            )
        number = inputs["pull-request"]
        if number and not (_PULL_REQUEST.fullmatch(number) and 0 < int(number) <= MAX_PULL_REQUEST):
            raise InputError(
                "input `pull-request` must be a pull request number, ASCII digits 0-9 (e.g. "
                f"`12`), not {number!r}"
            )
        return cls(
            mode=mode,
            manifests=patterns,
            tracking_uri=tracking_uri,
            api_key=api_key,
            github_token=github_token,
            comment=_flag(inputs, "comment"),
            combine_comments=_flag(inputs, "combine-comments"),
            threshold=threshold,
            require_significance=_flag(inputs, "require-significance"),
            fail_on_regression=_flag(inputs, "fail-on-regression"),
            dry_run=_flag(inputs, "dry-run"),
            pull_request=int(number) if number else None,
            rule=_choice(inputs, "rule"),
            promote=_choice(inputs, "promote"),
            missing_paths=_choice(inputs, "missing-paths"),
            strict=_flag(inputs, "strict"),
            retries=_integer(inputs, "retries"),
            timeout=_integer(inputs, "timeout"),
            changed_only=_flag(inputs, "changed-only"),
            embedded_registry=_choice(inputs, "embedded-registry"),
            measurements=measurements,
            tolerance=tolerance,
            env_manager=_choice(inputs, "env-manager"),
        )


@dataclass
class Runner:
    """What the runner tells us about this run."""

    workspace: Path
    event_name: str
    event: dict[str, Any]
    sha: str | None
    repository: str | None
    api_url: str
    output_file: Path | None
    summary_file: Path | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Runner:
        event: dict[str, Any] = {}
        if env.get("GITHUB_EVENT_PATH"):
            try:
                event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError) as e:  # nested past Python's limit
                raise HokusaiError(
                    f"cannot read the event payload at GITHUB_EVENT_PATH: {type(e).__name__}"
                ) from e

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        return cls(
            workspace=Path(env.get("GITHUB_WORKSPACE") or "."),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event if isinstance(event, dict) else {},
            sha=env.get("GITHUB_SHA") or None,
            repository=env.get("GITHUB_REPOSITORY") or None,
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            output_file=path("GITHUB_OUTPUT"),
            summary_file=path("GITHUB_STEP_SUMMARY"),
        )

    @property
    def pull_request(self) -> dict[str, Any]:
        found = self.event.get("pull_request")
        return found if isinstance(found, dict) else {}  # a hostile payload: no object

    @property
    def from_fork(self) -> bool:
        """A pull request from a fork: read-only token, no secrets. A deleted fork leaves
        `head.repo: null`: still a fork (its token and secrets are a fork's)."""
        if not self.pull_request:
            return False
        head = _field(self.pull_request, "head", "repo", "full_name")
        base = _field(self.pull_request, "base", "repo", "full_name")
        return head is None or head != base

    @property
    def closed(self) -> bool:
        """The event's pull request is closed (or merged): its comments are left as they are."""
        return self.pull_request.get("state") == "closed" or (
            bool(self.pull_request) and self.event.get("action") == "closed"
        )

    @property
    def commit(self) -> str | None:
        """The commit whose files are checked out: under workflow_run, GITHUB_SHA is the
        default branch's head, not the run's."""
        head = _field(self.event, "workflow_run", "head_sha")
        if isinstance(head, str) and re.fullmatch(r"[0-9a-f]{40}", head):
            return head
        return self.sha if self.sha and re.fullmatch(r"[0-9a-f]{40}", self.sha) else None

    def default_mode(self) -> str:
        return "register" if self.event_name == "push" else "compare"


def _field(data: Any, *keys: str) -> Any:
    """data[k1][k2]…, or None where the (hostile) payload has no such object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _number(value: Any) -> int | None:
    """A pull request number from a payload: a positive int (not a bool), else None."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_PULL_REQUEST
    return value if ok else None


# -- which pull request a comment goes to ----------------------------------------------------
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class PullRequest:
    """The pull request a comment goes to. `check_head` is set while GitHub has yet to confirm
    that its head is this run's commit: nothing is ever posted to it before."""

    number: int
    closed: bool = False
    check_head: str | None = None
    unchecked: str = ""  # why the check could not be made: no comment


class PullRequestMismatch(HokusaiError):
    """The `pull-request` input names a pull request whose head is another commit (exit 1)."""


def event_pull_request(runner: Runner, wanted: int | None) -> PullRequest | None:
    """The pull request of this event, from the payload and the `pull-request` input.

    Under workflow_run the input comes from an artifact the triggering run wrote, which a fork
    controls. It is taken as it is only when GitHub lists it in `workflow_run.pull_requests`
    for the run's head commit and this repository; otherwise GitHub must confirm its head
    commit first (`check_head`). Without an input, the first listed pull request is used."""
    if runner.event_name != "workflow_run":
        own = _number(runner.pull_request.get("number")) or _number(runner.event.get("number"))
        number = wanted or own
        if number is None:
            return None
        return PullRequest(number, closed=number == own and runner.closed)
    head = _field(runner.event, "workflow_run", "head_sha")
    head = head.lower() if isinstance(head, str) and _SHA.fullmatch(head.lower()) else None
    listed = _listed_pull_requests(runner, head)
    if wanted is None:
        return PullRequest(listed[0]) if listed else None
    if wanted in listed:
        return PullRequest(wanted)
    if head is None:
        raise PullRequestMismatch(
            "the workflow_run event has no head_sha, so the `pull-request` input "
            f"(#{wanted}) cannot be checked against the run that triggered this workflow: "
            "nothing was posted"
        )
    return PullRequest(wanted, check_head=head)


def _listed_pull_requests(runner: Runner, head: str | None) -> list[int]:
    """Numbers in `workflow_run.pull_requests` (GitHub fills it for branches of this
    repository, not for forks) whose head is the run's commit and whose base is this
    repository: a fork's run can list the fork's own pull requests."""
    items = _field(runner.event, "workflow_run", "pull_requests")
    if head is None or not runner.repository or not isinstance(items, list):
        return []
    base_url = f"/repos/{runner.repository}".lower()
    numbers = []
    for item in items:
        number = _number(_field(item, "number"))
        sha, url = _field(item, "head", "sha"), _field(item, "base", "repo", "url")
        if (
            number is not None
            and isinstance(sha, str)
            and sha.lower() == head
            and isinstance(url, str)
            and url.lower().endswith(base_url)
        ):
            numbers.append(number)
    return numbers


def check_pull_request(client: Any, repository: str, target: PullRequest) -> PullRequest:
    """The target once GitHub confirms (`GET /repos/{owner}/{repo}/pulls/{n}`) that its head
    is the run's commit; PullRequestMismatch when it is another commit."""
    if target.check_head is None:
        return target
    found = client.pull_request(repository, target.number)
    if found.head_sha.lower() != target.check_head:
        raise PullRequestMismatch(
            f"input `pull-request` is #{target.number}, whose head commit is "
            f"{found.head_sha[:12]}, but the workflow_run that triggered this workflow is for "
            f"{target.check_head[:12]}: the number does not belong to that run, so nothing was "
            "posted. Pass the number the triggering run recorded for its own pull request (if "
            "the pull request got a new commit since, that commit's run comments)"
        )
    return PullRequest(target.number, closed=found.state == "closed")


def comment_target(settings: Settings, runner: Runner) -> PullRequest | None:
    """Where the comment goes, checked with GitHub when it must be. Raises
    PullRequestMismatch (the step fails, nothing is posted); a check GitHub could not answer
    leaves the target `unchecked` (a warning, no comment)."""
    target = event_pull_request(runner, settings.pull_request)
    if target is None or target.check_head is None or not settings.github_token:
        return target  # without a token nothing is posted, and the run says why
    from hokusai_action.github.client import GitHubClient, GitHubError

    try:
        client = GitHubClient(settings.github_token, runner.api_url)
        return check_pull_request(client, runner.repository or "", target)
    except GitHubError as e:
        reason = f"could not check that pull request #{target.number} is this run's: {e}"
        return PullRequest(target.number, check_head=target.check_head, unchecked=reason)


@dataclass
class RunResult:
    """What the run produced, for outputs and the exit status."""

    reports: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    validation: Any = None
    comment_url: str = ""
    comment_id: str = ""
    failed: bool = False
    pull_request: PullRequest | None = None  # where the comment goes
    selected: bool = False  # changed-only chose the models from the pull request's files
    touched: list[Any] = field(default_factory=list)  # manifests it changes
    untouched: list[Any] = field(default_factory=list)  # manifests it does not change
    registry: Any = None  # the registry the reports were written to, to mark them reported
    throwaway: bool = False  # registered into the workspace's embedded registry


def mask_values(env: Mapping[str, str]) -> list[str]:
    """What to ask the runner to mask: each line of each secret input (a runner masks a
    multi-line value by its first line only), then the tracking URI's user part."""
    from hokusai_action.registry.settings import secret_values

    values = [
        line.strip()
        for name in SECRET_INPUTS
        for line in input_value(env, name).splitlines()
        if line.strip()
    ]
    values += secret_values({}, uris=(input_value(env, "tracking-uri"),))
    return list(dict.fromkeys(values))


# -- the run ------------------------------------------------------------------------------
def find_manifests(patterns: tuple[str, ...]) -> list[Path]:
    """Manifests (relative to the workspace, the current directory) matching the globs; all
    of them when there are none."""
    from hokusai_action.validation.manifest import find_manifests as every_manifest

    if not patterns:
        return sorted(every_manifest(Path()))
    chosen: list[Path] = []
    for pattern in patterns:
        try:
            matches = sorted(p for p in Path().glob(pattern) if p.is_file())
        except ValueError as e:  # a pattern pathlib refuses (`models**`)
            raise InputError(f"input `manifests`: `{pattern}` is not a valid glob: {e}") from e
        if not matches:
            raise InputError(f"input `manifests`: `{pattern}` matches no file in the workspace")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def run(env: Mapping[str, str]) -> int:
    from hokusai_action.registry.settings import collect_secrets
    from hokusai_action.validation.output import escape_data

    for value in mask_values(env):  # before anything else is printed
        print(f"::add-mask::{escape_data(value)}", flush=True)
    SECRETS[:] = collect_secrets(env)
    settings = Settings.from_inputs(read_inputs(env))
    runner = Runner.from_env(env)
    mode = runner.default_mode() if settings.mode == "auto" else settings.mode
    event = runner.event_name or "a local run"
    log(f"hokusai-action: {mode}{' (dry run)' if settings.dry_run else ''} on {event}")
    result = RunResult()
    # Annotations and the results file name files from the repository root.
    with contextlib.chdir(runner.workspace):
        unsafe = _state_outside_workspace()
        try:
            if unsafe:
                command("error", unsafe)
                result.failed = True
            else:
                _run_in_workspace(mode, settings, runner, result)
        finally:  # outputs even when something failed half-way
            written = "" if unsafe else _write_results(result)
            write_outputs(runner.output_file, _outputs(result, written))
            _mark_reported(result, env)
    return 1 if result.failed else 0


def _mark_reported(result: RunResult, env: Mapping[str, str]) -> None:
    """After the outputs: the DeltaOnes they report are tagged reported (see reporting.py)."""
    from hokusai_action.registry import reporting

    if result.registry is None or not reporting.to_report(result.reports):
        return
    by = f"run {env.get('GITHUB_RUN_ID', '?')}.{env.get('GITHUB_RUN_ATTEMPT', '?')}"
    for problem in reporting.mark_reported(result.registry, result.reports, by):
        command("warning", problem)


def _state_outside_workspace() -> str:
    """Why the action must not write its state (`.hokusai/`: the throwaway registry, the
    results file) here, or "". A pull request can commit `.hokusai` as a symlink; following
    it would write, or overwrite, a file anywhere the runner may."""
    state = Path(RESULTS_FILE).parent
    for path in (state, Path(RESULTS_FILE), state / "mlflow.db", state / "artifacts"):
        if path.is_symlink() or (
            path.exists() and not path.resolve().is_relative_to(Path.cwd().resolve())
        ):
            return (
                f"`{path.as_posix()}` in the workspace is a symlink: hokusai-action writes its "
                "registry and results there and follows no link; remove it from the repository"
            )
    return ""


def _run_in_workspace(mode: str, settings: Settings, runner: Runner, result: RunResult) -> None:
    from hokusai_action.github.comment import problems_section
    from hokusai_action.problems import Severity
    from hokusai_action.validation.checker import check_paths
    from hokusai_action.validation.rules import Options

    paths = find_manifests(settings.manifests)
    if not paths:
        append_summary(runner.summary_file, "### Hokusai\n\nNo `hokusai.yaml` in the repository.")
        command("warning", "no hokusai.yaml or hokusai.yml found in the repository")
        return
    missing = {"error": Severity.ERROR, "warn": Severity.WARNING, "ignore": None}
    options = Options(
        missing_paths=missing[settings.missing_paths], root=Path.cwd(),
        registering=mode != "validate",  # a Git LFS pointer is no model to compare or register
        missing_paths_fix="set the input `missing-paths: warn`",
    )  # fmt: skip
    validation, manifests = check_paths(paths, options, strict=settings.strict)
    result.validation = validation
    annotate(validation.problems)
    if not validation.valid:
        append_summary(runner.summary_file, "\n".join(problems_section(validation.problems)))
        errors = validation.count(Severity.ERROR)
        if settings.strict:
            errors += validation.count(Severity.WARNING)
        kind = "problem(s) (strict: warnings count)" if settings.strict else "error(s)"
        log(f"{errors} {kind} in the manifests: nothing was compared or registered")
        result.failed = True
        return
    if mode == "validate":
        append_summary(
            runner.summary_file, f"### Hokusai\n\n✅ {len(validation.files)} manifest(s) valid."
        )
        return
    if settings.comment or settings.changed_only:
        # Checked before anything is judged: a mismatch does nothing. changed-only needs it
        # too: an unconfirmed number must not choose the models any more than the comment.
        result.pull_request = comment_target(settings, runner)
    manifests = _changed_only(mode, settings, runner, manifests, result)
    _judge(mode, settings, runner, manifests, result)
    publish(mode, settings, runner, result)


def _judge(
    mode: str, settings: Settings, runner: Runner, manifests: list[Any], result: RunResult
) -> None:
    from hokusai_action.registry import register as registration
    from hokusai_action.registry.plan import plan
    from hokusai_action.registry.settings import resolve_settings

    if not manifests:  # the pull request changes no model: no registry request at all
        return
    if settings.api_key:
        os.environ["HOKUSAI_API_KEY"] = settings.api_key  # MLflow's client reads it from here
    registry_settings = resolve_settings(
        settings.tracking_uri, os.environ, retries=settings.retries, timeout=settings.timeout
    )
    plans = [plan(m, runner.commit) for m in manifests]
    decision = _decision(settings, plans, runner.event_name)
    if settings.dry_run:
        uri = registry_settings.display_uri
        result.reports = [registration.dry_run(p, uri, decision) for p in plans]
        return
    from hokusai_action.registry.mlflow_store import MlflowRegistry

    if mode == "register" and registry_settings.embedded and _throwaway(settings, runner, result):
        return
    from hokusai_action.registry.warm import warmed

    step = registration.register if mode == "register" else registration.compare
    try:
        with warmed(plans, decision) as decision:  # models load while the registry opens
            registry = result.registry = MlflowRegistry(registry_settings)
            for p in plans:
                result.reports.append(step(p, registry, decision))
                if result.throwaway:  # said in the comment too
                    result.reports[-1].notes.insert(0, f"⚠ {THROWAWAY}")
                _say_what_the_record_did(result.reports[-1])
    except HokusaiError as e:
        result.errors.append(str(e))
        if runner.from_fork and mode == "compare":
            command(
                "warning", f"could not compare from a fork's pull request (it gets no secrets): {e}"
            )
        else:
            command("error", str(e))
            result.failed = True
    if settings.fail_on_regression and (worse := registration.regressed(result.reports)):
        from hokusai_action.inert import shown

        names = ", ".join(f"`{shown(r.plan.model_name)}`" for r in worse)
        command("error", f"benchmark regressed for {names} (fail-on-regression)")
        result.failed = True


THROWAWAY = (
    "registering into the embedded registry `.hokusai/mlflow.db` inside the runner's "
    "workspace, which is lost with the runner: nothing registered here is kept, and nothing "
    "here is paid. Set the input `tracking-uri` (Hokusai's registry: "
    "https://registry.hokus.ai/api/mlflow) and `api-key`"
)


def _throwaway(settings: Settings, runner: Runner, result: RunResult) -> bool:
    """A registration into the workspace's embedded registry is lost with the runner: an
    error on a push under GitHub Actions (input `embedded-registry: auto`, the default, or
    `error`), a warning elsewhere or with `warn`. True when the run must register nothing."""
    policy = settings.embedded_registry
    on_runner = os.environ.get("GITHUB_ACTIONS") == "true" and runner.event_name == "push"
    if policy == "error" or (policy == "auto" and on_runner):
        command("error", f"refused: {THROWAWAY}, or `embedded-registry: warn` to try it out")
        append_summary(runner.summary_file, f"### Hokusai\n\n⛔ Refused: {THROWAWAY}.")
        result.failed = True
        return True
    command("warning", THROWAWAY)
    append_summary(runner.summary_file, f"> ⚠️ {THROWAWAY}.")
    result.throwaway = True
    return False


def _say_what_the_record_did(report: Any) -> None:
    """A record created on first use, and a verdict the record refused, are warnings: they
    change what every later pull request is judged by, or why this one is not paid."""
    from hokusai_action.registry.deltaone import Outcome

    if report.record_created:
        command("warning", report.notes[0])
    unjudged = (Outcome.BENCHMARK_MISMATCH, Outcome.MODEL_NOT_IN_RECORD, Outcome.SAME_MODEL)
    if report.verdict is not None and report.verdict.outcome in unjudged:
        command("warning", f"{report.plan.manifest}: no DeltaOne: {report.verdict.reason}")


def _decision(settings: Settings, plans: list[Any], event: str = "") -> Any:
    """How to judge, as the command line's options say; a rule that means nothing for a
    manifest's metric is a usage error naming the input. Under a privileged event no model
    is loaded to be measured (registry/measured.py)."""
    from hokusai_action.registry import register as registration
    from hokusai_action.registry.deltaone import Rule, rule_problem
    from hokusai_action.registry.measured import Measuring

    rule = {"auto": None, "points": Rule.POINTS, "relative": Rule.RELATIVE}[settings.rule]
    for p in plans:
        if problem := rule_problem(p.metric, rule, settings.threshold):
            problem = problem.replace("--rule ", "rule: ")
            raise InputError(f"input `rule` (or `deltaone-threshold`): {p.manifest}: {problem}")
    given = {  # inputs set otherwise than their defaults: a notice once a record decides
        "--deltaone-threshold": settings.threshold != float(INPUT_DEFAULTS["deltaone-threshold"]),
        "--rule": settings.rule != INPUT_DEFAULTS["rule"],
        "--require-significance": settings.require_significance,
    }
    return registration.Decision(
        threshold=settings.threshold,
        rule=rule,
        promote=registration.Promote(settings.promote),
        require_significance=settings.require_significance,
        explicit=frozenset(name for name, differs in given.items() if differs),
        measuring=Measuring(
            settings.tolerance, settings.env_manager, event, relayed=_relayed(settings, event)
        ),
    )


def _relayed(settings: Settings, event: str) -> tuple[Any, ...]:
    """Under a privileged event, what the pull request's own run measured (its results file,
    passed on by the fork-safe pattern): shown as not verified, never recorded."""
    from hokusai_action.registry.measured import PRIVILEGED_EVENTS, relayed_measurements

    if not settings.measurements or event not in PRIVILEGED_EVENTS:
        return ()
    path = Path(settings.measurements)
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 4 << 20:
            raise OSError("not a regular file of at most 4 MiB")
        return relayed_measurements(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as e:
        command("warning", f"input `pull-request-measurements`: cannot read it ({e}): values "
                "of measured tokens are shown as claimed")  # fmt: skip
        return ()


# -- changed-only: the models a pull request changes ------------------------------------------
def _repository_path(manifest: Any) -> str:
    """A manifest's path from the repository root (the workspace, the current directory)."""
    path = Path(manifest.path)
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            path = path.relative_to(Path.cwd())
    return path.as_posix()


def _changed_only(
    mode: str, settings: Settings, runner: Runner, manifests: list[Any], result: RunResult
) -> list[Any]:
    """The manifests to judge: on a pull request with `changed-only`, those it touches (the
    others get a line in the step summary); every one on a push, or when the pull request's
    files cannot all be listed."""
    from hokusai_action.github.changed import split_touched
    from hokusai_action.github.comment import untouched_section

    if not settings.changed_only or mode == "validate" or runner.event_name == "push":
        return manifests
    target = result.pull_request  # the pull request of this event, checked where it must be
    if target is None:
        return manifests
    if target.check_head is not None:  # under workflow_run, a number GitHub did not confirm
        command(
            "notice",
            f"changed-only: every model is compared, because pull request #{target.number} "
            "was not confirmed to be this run's, so its files cannot say which models it changes",
        )
        return manifests
    number = target.number
    changed = _changed_files(settings, runner, number)
    if changed is None:
        return manifests
    touched, untouched = split_touched(manifests, changed, _repository_path)
    result.selected, result.touched, result.untouched = True, touched, untouched
    log(
        f"changed-only: pull request #{number} changes {len(touched)} of "
        f"{len(manifests)} model(s); the others are not compared"
    )
    if untouched:
        entries = [(_repository_path(m), model_name(m)) for m in untouched]
        append_summary(runner.summary_file, "\n".join(untouched_section(entries)))
    if not touched:
        append_summary(runner.summary_file, "### Hokusai\n\nThis pull request changes no model.")
    return touched


def _changed_files(settings: Settings, runner: Runner, number: int) -> frozenset[str] | None:
    """The paths the pull request changes, or None (with a notice) when they cannot all be
    known: then every manifest is judged, as without `changed-only`."""
    from hokusai_action.github.client import GitHubClient, GitHubError

    fallback = "changed-only: every model is compared, because "
    if not settings.github_token or not runner.repository:
        command("notice", f"{fallback}there is no github-token to list the pull request's files")
        return None
    try:
        client = GitHubClient(settings.github_token, runner.api_url)
        files = client.pull_request_files(runner.repository, number)
    except GitHubError as e:
        command("notice", f"{fallback}the pull request's files could not be listed: {e}")
        return None
    if not files.complete:
        command("notice", f"{fallback}{files.reason}")
        return None
    return files.paths


def _write_results(result: RunResult) -> str:
    from hokusai_action.registry import reporting
    from hokusai_action.registry.output import reports_json
    from hokusai_action.validation.output import to_json

    data = {
        **reports_json(result.reports),
        "deltaone_models": reporting.deltaone_models(result.reports),
        "validation": to_json(result.validation) if result.validation is not None else None,
        "errors": result.errors,
    }
    path = Path(RESULTS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(clean(json.dumps(data, indent=2, ensure_ascii=False)) + "\n", encoding="utf-8")
    return RESULTS_FILE


def _outputs(result: RunResult, results_file: str) -> dict[str, str]:
    """Outputs describe the first model; results-json has them all. `deltaone-recorded` and
    `deltaone-models` are what a payment step keys on (see registry/reporting.py)."""
    from hokusai_action.registry import reporting
    from hokusai_action.registry.results import Status

    first = result.reports[0] if result.reports else None
    verdict = first.verdict if first else None
    baseline = verdict.baseline if verdict else None
    # A payment step may key on this: true only for a DeltaOne this run found (compare) or
    # recorded (register), never for a what-if or a version an earlier run registered.
    new = first is not None and not first.what_if and first.status is not Status.ALREADY_REGISTERED
    return {
        "model-version": str(first.version) if first and first.version else "",
        "run-id": (first.run_id or "") if first else "",
        "deltaone": "true" if new and verdict and verdict.achieved else "false",
        "deltaone-recorded": "true" if reporting.to_report(result.reports) else "false",
        "deltaone-models": json.dumps(reporting.deltaone_models(result.reports)),
        "status": str(first.status) if first else "",
        "delta": "" if not verdict or verdict.delta is None else repr(verdict.delta),
        "baseline-version": str(baseline.version) if baseline and baseline.version else "",
        "comment-url": result.comment_url,
        "comment-id": result.comment_id,
        "models": str(len(result.reports)),
        "results-json": results_file,
    }


def main() -> None:
    with container.entrypoint(os.environ):  # stop signals; files handed to the workspace's owner
        try:
            code = run(dict(os.environ))
        except HokusaiError as e:
            command("error", str(e))
            code = e.exit_code
        except Exception as e:  # a bug: say so (and, through log, never with a secret in it)
            command("error", f"internal error in hokusai-action: {type(e).__name__}: {e}")
            code = 3
    sys.exit(code)


if __name__ == "__main__":
    main()
