"""Output formats, one class each, looked up by name (the same table feeds `--format`)."""

from __future__ import annotations

import json
from typing import Any, ClassVar, TextIO

import click

from hokusai_action.inert import inert_json, inert_line, inert_text
from hokusai_action.problems import Problem, Result, Severity

JSON_FORMAT_VERSION = 1


class Reporter:
    name: ClassVar[str]

    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        self.stream = stream
        self.color = color

    def report(self, result: Result) -> None:
        raise NotImplementedError

    def write(self, text: str) -> None:
        click.echo(text, file=self.stream, color=self.color)


class TextReporter(Reporter):
    """`file:line:col: severity: message [rule]`, the shape editors and terminals link."""

    name = "text"
    _COLORS: ClassVar[dict[Severity, str]] = {Severity.ERROR: "red", Severity.WARNING: "yellow"}

    def report(self, result: Result) -> None:
        for problem in result.problems:
            self.write(self.format(problem))
        for f in result.files:
            for note in f.notes:
                self.write(inert_text(f"{f.file}: note: {note}"))
        self.write(self._style(self.summary(result), bold=True))

    def format(self, p: Problem) -> str:
        # File names and messages hold user text: made inert before our own styling is added.
        where = self._style(inert_line(f"{p.file}:{p.line}:{p.column}:"), bold=True)
        severity = self._style(f"{p.severity}:", fg=self._COLORS[p.severity], bold=True)
        tail = f"[{p.rule}] {p.json_path}" if p.path else f"[{p.rule}]"
        tail = self._style(inert_text(tail), dim=True)
        return f"{where} {severity} {inert_text(p.message)} {tail}"

    @staticmethod
    def summary(result: Result) -> str:
        files = len(result.files)
        if not files:
            return "no hokusai.yaml or hokusai.yml found"
        noun = "manifest" if files == 1 else "manifests"
        errors, warnings = result.count(Severity.ERROR), result.count(Severity.WARNING)
        if not errors and not warnings:
            return f"{files} {noun} valid"
        counts = [f"{errors} error{'s' * (errors != 1)}"]
        if warnings:
            counts.append(f"{warnings} warning{'s' * (warnings != 1)}")
        return f"{files} {noun} checked: {', '.join(counts)}"

    def _style(self, text: str, **styles: Any) -> str:
        return click.style(text, **styles) if self.color else text


class JsonReporter(Reporter):
    """A stable structure for machines; docs/json-output.md describes it."""

    name = "json"

    def report(self, result: Result) -> None:
        self.write(inert_json(json.dumps(to_json(result), indent=2, ensure_ascii=False)))


def to_json(result: Result) -> dict[str, Any]:
    return {
        "format_version": JSON_FORMAT_VERSION,
        "valid": result.valid,
        "summary": {
            "files": len(result.files),
            "invalid_files": sum(not f.is_valid(strict=result.strict) for f in result.files),
            "errors": result.count(Severity.ERROR),
            "warnings": result.count(Severity.WARNING),
        },
        "files": [
            {
                "file": f.file,
                "valid": f.is_valid(strict=result.strict),
                "notes": f.notes,
                "problems": [
                    {
                        "line": p.line,
                        "column": p.column,
                        "severity": str(p.severity),
                        "rule": p.rule,
                        "message": p.message,
                        "json_path": p.json_path,
                    }
                    for p in f.problems
                ],
            }
            for f in result.files
        ],
    }


def escape_data(text: str) -> str:
    """A workflow command's message: one line, and no control character reaches the log."""
    return inert_text(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(p: Problem) -> str:
    """A GitHub Actions `::error` / `::warning` command that annotates the line in the PR."""
    props = ",".join(
        f"{k}={escape_property(str(v))}"
        for k, v in (
            ("file", p.file),
            ("line", p.line),
            ("col", p.column),
            ("title", f"hokusai-action [{p.rule}]"),
        )
    )
    return f"::{p.severity} {props}::{escape_data(p.message)}"


class GithubReporter(Reporter):
    name = "github"

    def report(self, result: Result) -> None:
        for problem in result.problems:
            self.write(workflow_command(problem))
        self.write(TextReporter.summary(result))


REPORTER_BY_NAME: dict[str, type[Reporter]] = {
    r.name: r for r in (TextReporter, JsonReporter, GithubReporter)
}
