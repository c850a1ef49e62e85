"""The workflow-command channel: everything the action says to the runner goes through here.

The log (plain lines, and `::` commands such as `::error::`), annotations, the step outputs
($GITHUB_OUTPUT) and the step summary ($GITHUB_STEP_SUMMARY). One place, so that every write
is redacted of this run's secrets (`SECRETS`, filled by the run) and no user text can start a
command, and so that tests capture one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_ANNOTATIONS = 10  # GitHub keeps at most 10 annotations of each type per step

# Secret values of this run. Every write below passes through clean: a backstop behind the
# redaction each message already had, so no path can put a key in the log or a file.
SECRETS: list[str] = []


def clean(text: str) -> str:
    from hokusai_action.registry.settings import redact

    return redact(text, SECRETS)


def _write(line: str) -> None:
    print(clean(line), flush=True)


def log(message: str = "") -> None:
    """A plain log line: user text in it can neither start a workflow command nor send a
    terminal escape (only `command` and `annotate` write commands)."""
    from hokusai_action.inert import inert_lines

    _write(inert_lines(clean(message)))


def command(kind: str, message: str) -> None:
    """A workflow command (`::error::…`), escaped so no message can end it early, redacted
    before it is cut."""
    from hokusai_action.inert import MAX_MESSAGE, inert_text
    from hokusai_action.validation.output import escape_data

    _write(f"::{kind}::{escape_data(inert_text(clean(message), MAX_MESSAGE))}")


def write_outputs(path: Path | None, outputs: Mapping[str, str]) -> None:
    """`name<<DELIMITER` blocks in $GITHUB_OUTPUT: safe for any value, multi-line included."""
    if path is None:
        return
    with path.open("a", encoding="utf-8") as f:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            f.write(f"{name}<<{delimiter}\n{clean(value)}\n{delimiter}\n")


def append_summary(path: Path | None, markdown: str) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(clean(markdown).rstrip("\n") + "\n\n")


def annotate(problems: list[Any]) -> None:
    """Annotations on the manifests' lines: at most 10 of each type, as GitHub keeps, the
    tenth saying how many more the step summary lists."""
    from hokusai_action.validation.output import workflow_command

    for severity in ("error", "warning"):
        of_type = [p for p in problems if str(p.severity) == severity]
        shown = of_type if len(of_type) <= MAX_ANNOTATIONS else of_type[: MAX_ANNOTATIONS - 1]
        for problem in shown:
            _write(workflow_command(problem))
        if len(of_type) > len(shown):
            command(severity, f"{len(of_type) - len(shown)} more {severity}s: see the step summary")
