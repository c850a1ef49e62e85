"""Options shared by the registry commands, in cli.py and in the modules of `commands/`:
kept apart from cli.py so a command module needs no import of the command line."""

from __future__ import annotations

from typing import Any

import click


def registry_options(fn: Any) -> Any:
    """Where the registry is and how long to wait for it, shared by every registry command."""
    from hokusai_action.registry import DEFAULT_RETRIES, DEFAULT_TIMEOUT

    options = [
        click.option(
            "--tracking-uri", metavar="URI",
            help="MLflow tracking URI [default: $MLFLOW_TRACKING_URI, else the embedded "
            "SQLite registry .hokusai/mlflow.db at the repository root]. Hokusai's registry: "
            "https://registry.hokus.ai/api/mlflow with HOKUSAI_API_KEY set.",
        ),
        click.option(
            "--retries", type=click.IntRange(0, 10), default=DEFAULT_RETRIES, show_default=True,
            help="Retries of a failed registry request, with backoff.",
        ),
        click.option(
            "--timeout", type=click.IntRange(1, 600), default=DEFAULT_TIMEOUT, show_default=True,
            help="Seconds to wait for each registry request.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def format_option(*choices: str, default: str = "text") -> Any:
    """`--format`, with the choices a command offers."""
    return click.option(
        "--format", "output_format", type=click.Choice(choices), default=default, show_default=True,
        help="json: a stable structure for machines (docs/json-output.md)"
        + ("; markdown: the pull-request comment the GitHub Action posts" * ("markdown" in choices))
        + ".",
    )  # fmt: skip
