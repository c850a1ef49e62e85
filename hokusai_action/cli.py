"""The `hokusai-action` command line: parse options, call the library, map the result to an
exit code. Heavy libraries are imported inside the commands that need them, so the
pre-commit hook (`validate`) starts fast."""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from hokusai_action import __version__
from hokusai_action.errors import HokusaiError

BUG_EXIT_CODE = 3
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
        return int(float(match.group(1)) * _UNITS[unit])


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
    default="100MB",
    show_default=True,
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
    max_model_size: int,
    root: Path | None,
    strict: bool,
    color: str,
) -> None:
    """Check hokusai.yaml manifests: files, or directories searched for hokusai.yaml and
    hokusai.yml (default: the current directory).

    Exit status: 0 all valid, 1 problems found, 2 usage error or unreadable input.
    """
    from hokusai_action.problems import Severity
    from hokusai_action.reporters import REPORTER_BY_NAME
    from hokusai_action.rules import Options
    from hokusai_action.validate import validate as run_validation

    severity = {"error": Severity.ERROR, "warn": Severity.WARNING, "ignore": None}[missing_paths]
    options = Options(missing_paths=severity, max_model_bytes=max_model_size, root=root)
    result = run_validation(paths or (Path(),), options, strict=strict)
    stream = sys.stdout
    reporter = REPORTER_BY_NAME[output_format](stream, color=_use_color(color, stream))
    reporter.report(result)
    sys.exit(result.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors end in a message, bugs in a message that says so."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="hokusai-action", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except HokusaiError as e:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except Exception as e:  # a bug: say so, and how to report it
        if debug:
            traceback.print_exc()
        click.echo(
            f"internal error: {type(e).__name__}: {e}\nThis is a bug in hokusai-action "
            f"{__version__}; rerun with --debug for details and report it.",
            err=True,
        )
        sys.exit(BUG_EXIT_CODE)
