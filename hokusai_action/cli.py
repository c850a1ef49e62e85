"""The `hokusai-action` command line: parse options, call the library, map the result to an
exit code. Heavy libraries are imported inside the commands that need them, so the
pre-commit hook (`validate`) starts fast."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from hokusai_action import __version__
from hokusai_action.commands.options import format_option, registry_options
from hokusai_action.errors import HokusaiError
from hokusai_action.inert import inert_json

BUG_EXIT_CODE = 3
REGRESSION_EXIT_CODE = 4
_SIZE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*")
_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
          "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}  # fmt: skip


class ByteSize(click.ParamType):
    """`100MB`, `1.5GB`, `512MiB` or a plain number of bytes."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.fullmatch(str(value))
        unit = (match.group(2) or "").lower().removesuffix("b") if match else ""
        if not match or unit not in _UNITS:
            self.fail(f"{value!r} is not a size; write e.g. 100MB, 1.5GB or 512MiB", param, ctx)
        size = float(match.group(1)) * _UNITS[unit]
        if size > 2**63:
            self.fail(f"{value!r} is larger than any disk; write e.g. 100MB or 2GB", param, ctx)
        return int(size)


def _use_color(choice: str, stream: Any) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="hokusai-action")
@click.option("--debug", is_flag=True, help="Show internal details and tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Validate Hokusai model manifests (hokusai.yaml), register models in MLflow and report
    DeltaOne improvements."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for machines (docs/json-output.md), github for workflow "
    "annotations.",
)
@click.option(
    "--missing-paths",
    type=click.Choice(["error", "warn", "ignore"]),
    default="error",
    show_default=True,
    help="What a model path or metrics file that does not exist is. The pre-commit hook uses "
    "`warn`: models are often built in CI and not committed.",
)
@click.option(
    "--max-model-size",
    type=ByteSize(),
    show_default="100MB",
    help="Warn when a model is larger than this.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository root that paths must stay inside [default: the enclosing Git work tree].",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text output (auto: on a terminal, unless NO_COLOR is set).",
)
def validate(
    paths: tuple[Path, ...],
    output_format: str,
    missing_paths: str,
    max_model_size: int | None,
    root: Path | None,
    strict: bool,
    color: str,
) -> None:
    """Check hokusai.yaml manifests: files, or directories searched for hokusai.yaml and
    hokusai.yml (default: the current directory).

    Exit status: 0 all valid, 1 problems found, 2 usage error or unreadable input.
    """
    from hokusai_action.problems import Severity
    from hokusai_action.validation.checker import validate as run_validation
    from hokusai_action.validation.output import REPORTER_BY_NAME
    from hokusai_action.validation.rules import Options

    severity = {"error": Severity.ERROR, "warn": Severity.WARNING, "ignore": None}[missing_paths]
    options = Options(missing_paths=severity, root=root)
    if max_model_size is not None:
        options = dataclasses.replace(options, max_model_bytes=max_model_size)
    result = run_validation(paths or (Path(),), options, strict=strict)
    stream = sys.stdout
    reporter = REPORTER_BY_NAME[output_format](stream, color=_use_color(color, stream))
    reporter.report(result)
    sys.exit(result.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors end in a message, bugs in a message that says so. When the
    environment or the arguments hold a secret, everything printed passes through redaction
    (MLflow's and urllib3's logs included)."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    for stream in (sys.stdout, sys.stderr):  # a terminal or file that cannot show a character
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")  # (an emoji in cp1252) shows it escaped
    secrets = _secrets(args)
    if not secrets:
        _main(argv, debug)
        return
    with _RedactedOutput(secrets):
        _main(argv, debug)


def _main(argv: list[str] | None, debug: bool) -> None:
    try:
        cli.main(args=argv, prog_name="hokusai-action", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        shown = io.StringIO()
        e.show(file=shown)  # click's own layout; the message may quote a name or an argument
        _echo(shown.getvalue().rstrip("\n"), err=True)
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except HokusaiError as e:
        if debug:
            _print_traceback()
        _echo(_redact(f"error: {e}"), err=True)
        sys.exit(e.exit_code)
    except Exception as e:  # a bug: say so, and how to report it
        if debug:
            _print_traceback()
        _echo(
            _redact(
                f"internal error: {type(e).__name__}: {e}\nThis is a bug in hokusai-action "
                f"{__version__}; rerun with --debug for details and report it."
            ),
            err=True,
        )
        sys.exit(BUG_EXIT_CODE)


def _secrets(args: list[str]) -> tuple[str, ...]:
    """Every form of the secrets in the environment and in a --tracking-uri's user part."""
    from hokusai_action.registry import SECRET_VARIABLES, URI_VARIABLES

    uris = [v for a, v in itertools.pairwise(args) if a == "--tracking-uri"]
    uris += [a.partition("=")[2] for a in args if a.startswith("--tracking-uri=")]
    has_user_part = any("@" in u for u in [*uris, *(os.environ.get(v, "") for v in URI_VARIABLES)])
    if not has_user_part and not any(os.environ.get(name) for name in SECRET_VARIABLES):
        return ()  # nothing to mask: the hook's usual case, without the settings module
    from hokusai_action.registry.settings import collect_secrets

    return collect_secrets(os.environ, uris=uris)


def _redact(text: str) -> str:
    """No secret from the environment leaves in a message, whatever raised it."""
    from hokusai_action.registry.settings import redact

    return redact(text, _secrets(sys.argv[1:]))


class _RedactedOutput:
    """sys.stdout and sys.stderr replaced, for the run, by streams that redact each line
    before writing it: a backstop behind the messages' own redaction."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout = _RedactingStream(sys.stdout, self.secrets)  # type: ignore[assignment]
        sys.stderr = _RedactingStream(sys.stderr, self.secrets)  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = self.saved


class _RedactingStream(io.TextIOBase):
    """A text stream that writes whole lines, redacted, to another (partial lines on flush)."""

    def __init__(self, target: Any, secrets: tuple[str, ...]) -> None:
        self.target, self.secrets, self.pending = target, secrets, ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def write(self, text: str) -> int:
        from hokusai_action.registry.settings import redact

        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        if lines:
            self.target.write("".join(redact(line, self.secrets) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        from hokusai_action.registry.settings import redact

        if self.pending:
            self.target.write(redact(self.pending, self.secrets))
            self.pending = ""
        self.target.flush()


def _print_traceback() -> None:
    import traceback

    _echo(_redact(traceback.format_exc()), err=True)


def _echo(text: str | list[str], *, err: bool = False, markdown: bool = False) -> None:
    """Print lines that hold user text (manifest values, registry answers, error messages):
    no control character, no line that a CI runner would read as a workflow command. A list
    is one line per item (a line break inside one is shown as `\\n`). `markdown`: lines of
    a comment we rendered, whose zero-width spaces (no mentions, no links) stay invisible."""
    from hokusai_action.inert import inert_line, inert_markdown_line

    inert = inert_markdown_line if markdown else inert_line
    lines = text.split("\n") if isinstance(text, str) else text
    click.echo("\n".join(inert(line) for line in lines), err=err)


# -- the registry commands ---------------------------------------------------------------
def decision_options(fn: Any) -> Any:
    options = [
        click.option(
            "--deltaone-threshold", type=click.FloatRange(0, 1, min_open=True), default=0.01,
            show_default=True,
            help="Improvement that counts as DeltaOne: 0.01 is 1 percentage point for metrics "
            "capped at 1 (r2 too), and 1% of the baseline for unbounded ones (rmse, mae).",
        ),
        click.option(
            "--rule", type=click.Choice(["auto", "points", "relative"]), default="auto",
            show_default=True,
            help="auto: percentage points for metrics capped at 1, relative otherwise. "
            "points is refused for other metrics.",
        ),
        click.option(
            "--require-significance", is_flag=True,
            help="A DeltaOne also needs the 95% interval of the improvement above zero (needs "
            "benchmark.dataset.samples on both sides; proportion metrics only).",
        ),
        click.option(
            "--floor", metavar="NUMBER",
            help="Relative rule: gains are measured from max(|baseline|, floor) [default: 1% "
            "of the first value]. These four options shape the token's benchmark of record "
            "when a first registration creates it; after that the record decides.",
        ),
        click.option(
            "--fail-on-regression", is_flag=True,
            help="Exit with status 4 when a new value is worse than its baseline.",
        ),
        click.option(
            "--tolerance", metavar="NUMBER", default="1e-6", show_default=True,
            help="Where the benchmark of record measures the value: how far a claimed value "
            "may be from hokusai-action's measurement (absolute) before it is refused.",
        ),
        click.option(
            "--env-manager", type=click.Choice(["local", "uv", "virtualenv"]), default="local",
            show_default=True,
            help="Where the model is loaded to be measured: this Python (local), or this "
            "Python with what the model's requirements.txt adds, installed from the package "
            "index by uv or pip (uv, virtualenv).",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(tracking_uri: str | None, retries: int, timeout: int) -> Any:
    from hokusai_action.registry.settings import resolve_settings

    return resolve_settings(tracking_uri, retries=retries, timeout=timeout)


def _open_registry(settings: Any, *, create: bool = False) -> Any:
    """The registry. Only `register` creates the embedded one (and says where); a command
    that only reads says there is none yet rather than leave an empty database behind."""
    from hokusai_action.errors import require
    from hokusai_action.registry.mlflow_store import MlflowRegistry

    # without MLflow's client, how to install it is the first thing to say
    require("mlflow", extra="registry", feature="Talking to the MLflow registry")
    if settings.embedded:
        database = Path(settings.tracking_uri.removeprefix("sqlite:///"))
        if create:
            _echo(f"embedded registry: {database}", err=True)
        elif not database.is_file():
            raise HokusaiError(
                f"no embedded registry at {database} yet: `hokusai-action register` creates "
                "it, or pass --tracking-uri to use another registry"
            )
    return MlflowRegistry(settings)


def _plans(paths: tuple[Path, ...]) -> list[Any]:
    """Validate (missing model files are errors here), then plan each manifest."""
    from hokusai_action.registry.plan import git_commit, plan
    from hokusai_action.validation.checker import check_paths
    from hokusai_action.validation.output import TextReporter
    from hokusai_action.validation.rules import Options

    result, manifests = check_paths(paths or (Path(),), Options(registering=True))
    if not result.files:
        raise click.UsageError("no hokusai.yaml or hokusai.yml found in the given paths")
    if not result.valid:
        TextReporter(sys.stderr, color=_use_color("auto", sys.stderr)).report(result)
        raise HokusaiError(
            "invalid manifest: nothing was registered or compared", exit_code=result.exit_code
        )
    plans = []
    for manifest in manifests:
        commit, note = git_commit(manifest)
        plans.append(plan(manifest, commit, (note,) if note else ()))
    return plans


def _decision(
    plans: list[Any], threshold: float, rule: str, significance: bool, promote: str = "challenger",
    floor: str | None = None, tolerance: str = "1e-6", env_manager: str = "local",
) -> Any:  # fmt: skip
    """How to judge, refused (exit 2) where the rule means nothing for a plan's metric."""
    from hokusai_action.registry.deltaone import Rule, rule_problem
    from hokusai_action.registry.register import Decision, Promote

    rules = {"auto": None, "points": Rule.POINTS, "relative": Rule.RELATIVE}
    ctx = click.get_current_context()
    names = {"deltaone_threshold": "--deltaone-threshold", "rule": "--rule",
             "require_significance": "--require-significance", "floor": "--floor"}  # fmt: skip
    explicit = frozenset(
        option for name, option in names.items()
        if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
    )  # fmt: skip
    from hokusai_action.commands.benchmark import decimal_option
    from hokusai_action.registry.measured import Measuring

    if floor is not None:
        floor = decimal_option("--floor", floor)

    measuring = Measuring(decimal_option("--tolerance", tolerance), env_manager)
    decision = Decision(
        threshold, rules[rule], Promote(promote), significance, floor=floor, explicit=explicit,
        measuring=measuring,
    )  # fmt: skip
    for p in plans:
        if problem := rule_problem(p.metric, decision.rule, threshold):
            raise click.UsageError(f"{p.manifest}: {problem}")
    return decision


def _emit(reports: list[Any], output_format: str, fail_on_regression: bool) -> None:
    from hokusai_action.registry.output import report_text, reports_json

    if output_format == "json":
        click.echo(inert_json(json.dumps(reports_json(reports), indent=2, ensure_ascii=False)))
    elif output_format == "markdown":
        from hokusai_action.github.comment import comment_body, truncate

        mode = "compare" if reports and reports[0].status == "compared" else "register"
        _echo("\n\n".join(truncate(comment_body(r, mode)) for r in reports), markdown=True)
    else:
        for i, report in enumerate(reports):
            if i:
                click.echo()
            _echo(report_text(report))
    if fail_on_regression and _regressed(reports):
        click.echo("failing: a benchmark regressed (--fail-on-regression)", err=True)
        sys.exit(REGRESSION_EXIT_CODE)


def _regressed(reports: list[Any]) -> bool:
    from hokusai_action.registry.register import regressed

    return bool(regressed(reports))


def _run_each(plans: list[Any], output_format: str, step: Any) -> list[Any]:
    """Run `step` per plan; on a registry error, show what was done before failing."""
    reports: list[Any] = []
    try:
        for p in plans:
            reports.append(step(p))
    except HokusaiError:
        if reports and output_format == "text":
            _emit(reports, output_format, False)
        raise
    return reports


@cli.command()
@click.argument("manifests", nargs=-1, type=click.Path(path_type=Path))
@registry_options
@format_option("text", "json", "markdown")
@decision_options
@click.option(
    "--promote", type=click.Choice(["challenger", "champion"]), default="challenger",
    show_default=True, help="Alias given to a version that achieves DeltaOne.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; contact nothing.")
def register(
    manifests: tuple[Path, ...], tracking_uri: str | None, retries: int, timeout: int,
    output_format: str, deltaone_threshold: float, rule: str, require_significance: bool,
    floor: str | None, fail_on_regression: bool, tolerance: str, env_manager: str, promote: str,
    dry_run: bool,
) -> None:  # fmt: skip
    """Register the models of MANIFESTS (files or directories, default .) in MLflow, with the
    DeltaOne verdict against the token's rewarded baseline: its best value that was a first
    registration or a DeltaOne, on the same metric and dataset.

    Running it again for the same manifest, value and model files, at any commit, registers
    nothing new.
    """
    settings = _settings(tracking_uri, retries, timeout)
    plans = _plans(manifests)
    decision = _decision(plans, deltaone_threshold, rule, require_significance, promote, floor,
                         tolerance, env_manager)  # fmt: skip
    if dry_run:
        from hokusai_action.registry.register import dry_run as dry

        reports = [dry(p, settings.display_uri, decision) for p in plans]
    else:
        from hokusai_action.registry.register import compare as compare_plan
        from hokusai_action.registry.register import register as register_plan
        from hokusai_action.registry.warm import warmed

        with warmed(plans, decision) as decision:  # models load while the registry opens
            registry = _open_registry(settings, create=True)
            if fail_on_regression:  # judge everything first: a regression registers nothing
                checks = _run_each(
                    plans, output_format, lambda p: compare_plan(p, registry, decision)
                )
                if _regressed(checks):
                    _emit(checks, output_format, fail_on_regression)  # exits with status 4
            reports = _run_each(
                plans, output_format, lambda p: register_plan(p, registry, decision)
            )
    _emit(reports, output_format, fail_on_regression)


@cli.command()
@click.argument("manifests", nargs=-1, type=click.Path(path_type=Path))
@registry_options
@format_option("text", "json", "markdown")
@decision_options
def compare(
    manifests: tuple[Path, ...], tracking_uri: str | None, retries: int, timeout: int,
    output_format: str, deltaone_threshold: float, rule: str, require_significance: bool,
    floor: str | None, fail_on_regression: bool, tolerance: str, env_manager: str,
) -> None:  # fmt: skip
    """Compare the models of MANIFESTS with their registered baselines and print the DeltaOne
    verdict. Writes nothing: what a pull request runs. A baseline pinned in a manifest
    (benchmark.baseline) is used here, as a what-if."""
    from hokusai_action.registry.register import compare as compare_plan
    from hokusai_action.registry.warm import warmed

    settings = _settings(tracking_uri, retries, timeout)
    plans = _plans(manifests)
    decision = _decision(plans, deltaone_threshold, rule, require_significance, floor=floor,
                         tolerance=tolerance, env_manager=env_manager)  # fmt: skip
    with warmed(plans, decision) as decision:  # models load while the registry opens
        registry = _open_registry(settings)
        reports = _run_each(plans, output_format, lambda p: compare_plan(p, registry, decision))
    _emit(reports, output_format, fail_on_regression)


def _print_versions(
    records: list[Any], output_format: str, empty: str, models: tuple[str, ...] | None = None
) -> None:
    """The versions; with `models` (the token's benchmark of record), the versions of other
    models apart: they carry the token's tag but count for nothing."""
    from hokusai_action.registry.output import VERSION_HEADER, table, version_json, version_row

    if not records:
        raise HokusaiError(empty)
    ours = [r for r in records if models is None or r.name in models]
    others = [r for r in records if models is not None and r.name not in models]
    if output_format == "json":
        data: dict[str, Any] = {"format_version": 1, "versions": [version_json(r) for r in ours]}
        if models is not None:
            data["not_in_record"] = [version_json(r) for r in others]
        click.echo(inert_json(json.dumps(data, indent=2)))
        return
    if ours:
        _echo(table([version_row(r) for r in ours], VERSION_HEADER))
    if others:
        _echo(
            "\nnot in the token's record (versions of models its benchmark of record does not "
            "list: they count for nothing):"
        )
        _echo(table([version_row(r) for r in others], VERSION_HEADER))


@cli.command()
@click.argument("name")
@click.option(
    "--version", "version", type=click.IntRange(1), help="Version number [default: newest]."
)
@registry_options
@format_option("text", "json")
def show(
    name: str,
    version: int | None,
    tracking_uri: str | None,
    retries: int,
    timeout: int,
    output_format: str,
) -> None:
    """Show a registered version of model NAME with its Hokusai tags."""
    from hokusai_action.registry.output import show_text, version_json

    registry = _open_registry(_settings(tracking_uri, retries, timeout))
    if version is None:
        versions = registry.versions_of_model(name)
        version = max(r.version for r in versions) if versions else None
    record = registry.get_version(name, version) if version is not None else None
    if record is None:
        from hokusai_action.inert import shown

        what = (
            f"version {version} of `{shown(name)}`"
            if version
            else f"registered model `{shown(name)}`"
        )
        raise HokusaiError(f"no {what} in {registry.settings.display_uri}")
    if output_format == "json":
        click.echo(inert_json(json.dumps({"format_version": 1, **version_json(record)}, indent=2)))
    else:
        _echo(show_text(record))


@cli.command("list")
@click.option(
    "--token", "token_id", help="Hokusai token ID, e.g. CHURN-001 [default: every token]."
)
@registry_options
@format_option("text", "json")
def list_versions(
    token_id: str | None, tracking_uri: str | None, retries: int, timeout: int, output_format: str
) -> None:
    """List the registry's tokens with their models, latest version and best rewarded value;
    with --token, that token's versions, newest first."""

    registry = _open_registry(_settings(tracking_uri, retries, timeout))
    if token_id is not None:
        records = registry.versions_for_token(token_id)
        _print_versions(list(reversed(records)), output_format, _unknown_token(token_id, registry))
        return
    from hokusai_action.registry.output import TOKEN_HEADER, table, token_row, token_summaries

    summaries = token_summaries(registry.hokusai_versions())
    if output_format == "json":
        click.echo(inert_json(json.dumps({"format_version": 1, "tokens": summaries}, indent=2)))
    elif not summaries:
        _echo(f"no version in {registry.settings.display_uri} carries a Hokusai token")
    else:
        _echo(table([token_row(s) for s in summaries], TOKEN_HEADER))


@cli.command()
@click.argument("token_argument", metavar="[TOKEN]", required=False)
@click.option("--token", "token_id", help="Hokusai token ID, e.g. CHURN-001.")
@registry_options
@format_option("text", "json")
def lineage(
    token_argument: str | None, token_id: str | None, tracking_uri: str | None, retries: int,
    timeout: int, output_format: str,
) -> None:  # fmt: skip
    """The history of a Hokusai token (--token), oldest to newest: benchmark value, delta,
    DeltaOne, contributor and time of every version."""
    if token_argument is not None:
        if token_id is not None:
            raise click.UsageError("give the token once: --token TOKEN")
        click.echo(
            "warning: `lineage TOKEN` is deprecated; write `lineage --token TOKEN`, as for `list`",
            err=True,
        )
        token_id = token_argument
    if token_id is None:
        raise click.UsageError("which token? give --token TOKEN (see `hokusai-action list`)")

    registry = _open_registry(_settings(tracking_uri, retries, timeout))
    records = registry.versions_for_token(token_id)
    rec = registry.benchmark_record(token_id)
    models = rec.models if rec is not None else None
    if output_format == "json" or rec is None:
        _print_versions(records, output_format, _unknown_token(token_id, registry), models)
        return
    from hokusai_action.commands import benchmark as commands

    _print_versions(records, output_format, _unknown_token(token_id, registry), models)
    _echo(["", *commands.show_text(commands.show(registry, token_id))])


@cli.group()
def benchmark() -> None:
    """A token's benchmark of record: what its values are measured as, and how they are
    judged. Pull requests are judged against it and cannot change it; its owner sets it."""


@benchmark.command("show")
@click.argument("token_id", metavar="TOKEN")
@registry_options
@format_option("text", "json")
def benchmark_show(
    token_id: str, tracking_uri: str | None, retries: int, timeout: int, output_format: str
) -> None:
    """The benchmark of record of TOKEN in force, and every revision."""
    from hokusai_action.commands import benchmark as commands

    registry = _open_registry(_settings(tracking_uri, retries, timeout))
    data = commands.show(registry, token_id)
    if output_format == "json":
        click.echo(inert_json(json.dumps(data, indent=2, ensure_ascii=False)))
    else:
        _echo(commands.show_text(data))


@benchmark.command("set")
@click.argument("token_id", metavar="TOKEN")
@click.option("--from", "source", type=click.Path(path_type=Path), metavar="FILE",
              help="A manifest of the token: its benchmark block, its metric's custom_metrics "
              "entry, and its model.name as a model of the token.")  # fmt: skip
@click.option("--rule", type=click.Choice(["auto", "points", "relative"]),
              help="auto: points for metrics capped at 1, relative otherwise.")  # fmt: skip
@click.option("--deltaone-threshold", "threshold", metavar="NUMBER",
              help="The DeltaOne threshold, e.g. 0.01 (one point, or 1%).")  # fmt: skip
@click.option("--floor", metavar="NUMBER",
              help="Relative rule: gains are measured from max(|baseline|, floor).")  # fmt: skip
@click.option("--require-significance/--no-require-significance", default=None,
              help="Whether a DeltaOne also needs its 95% interval above zero.")  # fmt: skip
@click.option(
    "--add-model",
    multiple=True,
    metavar="NAME",
    help="A registered model whose versions count as the token's history.",
)
@click.option("--remove-model", multiple=True, metavar="NAME", help="Stop counting a model.")
@click.option("--target", metavar="COLUMN", help="The label column of the dataset.")
@click.option("--measurement", type=click.Choice(["off", "required"]),
              help="required: values are measured by hokusai-action, not claimed.")  # fmt: skip
@click.option("--data-artifact", metavar="URI",
              help="Measure on a registry artifact (runs:/RUN/holdout.csv) that only the "
              "payer's account may read, not the repository's data; '' removes it.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the revision; write nothing.")
@registry_options
@format_option("text", "json")
def benchmark_set(
    token_id: str, source: Path | None, rule: str | None, threshold: str | None,
    floor: str | None, require_significance: bool | None, add_model: tuple[str, ...],
    remove_model: tuple[str, ...], target: str | None, measurement: str | None,
    data_artifact: str | None, dry_run: bool,
    tracking_uri: str | None, retries: int, timeout: int, output_format: str,
) -> None:  # fmt: skip
    """Set the benchmark of record of TOKEN: a new revision (numbered, the earlier ones kept).
    The owner's command, run with the owner's registry credentials; it also creates the
    token's lock model, so that only the owner holds both."""
    from hokusai_action.commands import benchmark as commands

    plan = _plans((source,))[0] if source is not None else None
    changes = commands.Changes(
        rule, threshold, floor, require_significance, add_model, remove_model, target,
        measurement, data_artifact,
    )  # fmt: skip
    registry = _open_registry(_settings(tracking_uri, retries, timeout), create=True)
    done = commands.set_record(registry, token_id, plan, changes, dry_run=dry_run)
    if output_format == "json":
        data = {"record": done.record.to_dict(), "changed": done.changed,
                "written": done.written, "notes": done.notes}  # fmt: skip
        click.echo(inert_json(json.dumps(data, indent=2, ensure_ascii=False)))
        return
    verb = "wrote revision" if done.written else "revision"
    lines = [f"{verb} {done.record.revision or '(new)'} of the benchmark of record of {token_id}"]
    if done.changed:
        lines.append(f"  changed: {', '.join(done.changed)}")
    lines += [f"  {done.record.summary()}", f"  {done.record.rule_summary()}"]
    lines += [f"  models: {', '.join(done.record.models)}"]
    lines += [f"note: {n}" for n in done.notes]
    _echo(lines)


def _unknown_token(token_id: str, registry: Any) -> str:
    from hokusai_action.inert import shown
    from hokusai_action.validation.rules import token_id_problem

    why = token_id_problem(token_id)
    hint = f" ({why})" if why else ""
    return (
        f"no registered version carries token `{shown(token_id)}` in "
        f"{registry.settings.display_uri}{hint}"
    )


@cli.command()
@registry_options
@format_option("text", "json")
def doctor(tracking_uri: str | None, retries: int, timeout: int, output_format: str) -> None:
    """Check the registry connection: URI, credentials and access, and say what was found."""
    settings = _settings(tracking_uri, retries, timeout)
    found: dict[str, Any] = {
        "tracking_uri": settings.display_uri,
        "embedded": settings.embedded,
        "auth": settings.auth,  # what MLflow's client really sends (registry/settings.py)
        **({"auth_warnings": list(settings.auth_warnings)} if settings.auth_warnings else {}),
        "retries": settings.retries,
        "timeout": settings.timeout,
    }
    ok = True
    try:
        registry = _open_registry(settings)
        found["registered_models_visible"] = registry.probe() > 0
        found["status"] = "ok: the registry answered and accepted the credentials"
    except HokusaiError as e:
        ok = False
        found["status"] = f"problem: {e}"
    if output_format == "json":
        click.echo(inert_json(json.dumps({"format_version": 1, "ok": ok, **found}, indent=2)))
    else:
        for key, value in found.items():
            if key == "auth_warnings":
                _echo([f"warning: {w}" for w in value])
                continue
            said = (
                {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
            )
            _echo([f"{key}: {said}"])
    if not ok:
        sys.exit(1)


@cli.command()
@format_option("text", "json", "markdown", default="markdown")
def demo(output_format: str) -> None:
    """Show the whole job on a short history of one model: four versions, each a real model
    scored on the same holdout (a first version, a contributor's data, a tuning step, a lost
    feature), registered in order with their DeltaOne verdicts into a throw-away embedded
    registry, each shown as the action's Markdown for it. It never uses your registry
    (MLFLOW_TRACKING_URI is ignored) and writes nothing outside a temporary folder, so every
    run starts afresh."""
    from hokusai_action.demo import output, story
    from hokusai_action.errors import require

    require("mlflow", extra="registry", feature="The demo, which registers into MLflow,")

    def where(home: Path) -> None:
        _echo(f"registry: a throw-away embedded registry in {home} (deleted afterwards)", err=True)

    steps, count = [], len(story.step_folders())
    if output_format == "markdown":
        _echo(output.intro_markdown(count), markdown=True)
    elif output_format == "text":
        _echo(output.intro_text(count))
    for step in story.run(on_registry=where):
        steps.append(step)
        if output_format == "markdown":
            _echo(output.step_markdown(step), markdown=True)
        elif output_format == "text":
            _echo(output.step_text(step))
    if output_format == "json":
        _emit([s.report for s in steps], "json", fail_on_regression=False)
    elif output_format == "markdown":
        _echo(output.summary_markdown(steps), markdown=True)
    else:
        _echo(output.summary_text(steps))


# -- starting a manifest -----------------------------------------------------------------
@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Registered model name [default: from the folder's name].")
@click.option("--token", "token_id", help="Hokusai token ID [default: from the name].")
@click.option("--path", "model_path", help="Model file or MLflow model directory, relative to "
              "DIRECTORY [default: the MLmodel directory found below it].")  # fmt: skip
@click.option("--metric", help="Benchmark metric [default: one found in a metrics JSON file].")
@click.option("--value", type=float, help="Benchmark value [default: read from the metrics "
              "file found, at registration time].")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing manifest.")
def init(
    directory: Path, name: str | None, token_id: str | None, model_path: str | None,
    metric: str | None, value: float | None, force: bool,
) -> None:  # fmt: skip
    """Write a starter hokusai.yaml in DIRECTORY (default .), then validate it.

    Detects an MLflow model directory (MLmodel) and a metrics JSON file beside it; asks for
    what it cannot detect on a terminal, and takes flags elsewhere. Never overwrites a
    manifest without --force.
    """
    from hokusai_action.problems import Severity
    from hokusai_action.validation import starter
    from hokusai_action.validation.checker import validate as run_validation
    from hokusai_action.validation.output import TextReporter
    from hokusai_action.validation.rules import Options

    existing = [directory / n for n in ("hokusai.yaml", "hokusai.yml") if (directory / n).exists()]
    if existing and not force:
        raise HokusaiError(f"{existing[0]} already exists: edit it, or pass --force to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    found = starter.detect(directory)
    for line in found.describe():
        _echo(f"init: {line}", err=True)
    ask = sys.stdin.isatty()
    missing: list[str] = []

    def answer(given: Any, detected: Any, option: str, prompt: str, default: Any = None) -> Any:
        if given is not None:
            return given
        if detected is not None:
            return detected
        if ask:
            return click.prompt(prompt, default=default)
        if default is not None:
            return default
        missing.append(option)
        return None

    name = answer(name, None, "--name", "Model name", starter.default_name(directory))
    token_id = answer(token_id, None, "--token", "Hokusai token ID", starter.default_token(name))
    model_path = answer(model_path, found.path, "--path", "Model path (file or MLflow model dir)")
    metric = answer(
        metric, found.metric, "--metric", "Benchmark metric", "accuracy" if ask else None
    )
    metric = starter.canonical_metric(metric) if metric is not None else None
    value_from = found.value_from if value is None and metric == found.metric else None
    if value is None and value_from is None:
        value = answer(None, None, "--value", "Benchmark value")
        value = float(value) if value is not None else None
    if missing:
        raise click.UsageError(
            f"not on a terminal, so nothing can be asked: give {', '.join(missing)} "
            f"(nothing was detected for them in {directory})"
        )
    text = starter.render(starter.Starter(
        name, token_id, model_path, metric, value, value_from,
        found.flavor if model_path == found.path else None,
    ))  # fmt: skip
    target = directory / "hokusai.yaml"
    target.write_text(text, encoding="utf-8")
    _echo(f"wrote {target}", err=True)
    # A model built later (in CI) is a warning here, as in the pre-commit hook.
    result = run_validation((target,), Options(missing_paths=Severity.WARNING), strict=False)
    TextReporter(sys.stdout, color=_use_color("auto", sys.stdout)).report(result)
    sys.exit(result.exit_code)


# -- commands in modules of their own (hokusai_action/commands/) ---------------------------
from hokusai_action.commands.promote import promote_command  # noqa: E402
from hokusai_action.commands.verify import verify_command  # noqa: E402

cli.add_command(promote_command)
cli.add_command(verify_command)
