"""`register`, `compare`, `show`, `list` and `lineage` print registry and manifest values
escaped and cut: no forged workflow command, no terminal escape (issue 9, item 6)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re

import pytest
from hypothesis import given, settings

from hokusai_action import cli
from hokusai_action.errors import HokusaiError
from hokusai_action.registry.deltaone import Baseline, decide
from hokusai_action.registry.mlflow_store import VersionRecord
from hokusai_action.registry.output import (
    VERSION_HEADER,
    show_text,
    table,
    version_row,
)
from hokusai_action.registry.results import Status
from tests.support.reports import sample_report
from tests.unit.validation.test_forged_output import HOSTILE_TEXT, assert_inert

FORGED = "x\n::error file=README.md,line=1::FORGED\x1b]0;t\x07##[warning]w\u202e"


def hostile_report(value: str, status: Status = Status.REGISTERED):
    report = sample_report(value, status=status)
    metric = dataclasses.replace(report.plan.metric, name=value)
    report.plan = dataclasses.replace(
        report.plan, token_id=value, metric=metric, value_source=value, manifest=value
    )
    report.verdict = decide(metric, 0.95, Baseline(0.93, 3, 5000, model=value), samples=5000)
    report.notes = [f"about {value}"]
    report.aliases = [value]
    return report


def hostile_record(value: str) -> VersionRecord:
    tags = {
        value: value,
        "hokusai_token_id": value,
        "benchmark_metric": value,
        "benchmark_value": value,
        "hokusai_contributor": value,
    }
    return VersionRecord(value, 3, value, value, 0, tags, (value,), value)


@pytest.mark.parametrize("status", [Status.REGISTERED, Status.COMPARED, Status.DRY_RUN])
def test_register_and_compare_text_output_is_inert(capsys, status):
    cli._emit([hostile_report(FORGED, status)], "text", False)
    out = capsys.readouterr().out
    assert "FORGED" in out
    assert "x\\n::error file=README.md" in out
    assert_inert(out)


def test_markdown_output_printed_to_a_log_is_inert(capsys):
    cli._emit([hostile_report(FORGED)], "markdown", False)
    out = capsys.readouterr().out
    # The one invisible character allowed: the comment's own zero-width space, after what
    # GitHub would turn into a mention, reference, link or emoji (`@`, `#`, `:`, `www`, `GH-`).
    assert re.findall(r"(?i)[^@#:wh]\u200b", out) == []
    assert_inert(out.replace("\u200b", ""))


def test_show_and_list_output_is_inert_and_cut(capsys):
    record = hostile_record(FORGED + "y" * 1_000_000)
    cli._echo(show_text(record))
    cli._echo(table([version_row(record)], VERSION_HEADER))
    out = capsys.readouterr().out
    assert_inert(out)
    assert len(out) < 10_000


@pytest.mark.parametrize("error", [HokusaiError, RuntimeError])
def test_an_error_message_cannot_start_a_command(capsys, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error(f"no registered model `{FORGED}`")

    monkeypatch.setattr(cli.cli, "main", fail)
    with pytest.raises(SystemExit):
        cli.main(["--debug", "show", "x"])  # with the traceback too
    err = capsys.readouterr().err
    assert "FORGED" in err
    assert_inert(err)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(HOSTILE_TEXT)
def test_any_value_in_a_report_or_a_record_prints_inert(value):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli._emit(
            [hostile_report(value, s) for s in (Status.REGISTERED, Status.DRY_RUN)], "text", False
        )
        cli._echo(show_text(hostile_record(value)))
        cli._echo(table([version_row(hostile_record(value))], VERSION_HEADER))
    assert_inert(out.getvalue())
