from __future__ import annotations

import io
import json

from hokusai_action.problems import FileResult, Problem, Result, Severity
from hokusai_action.validation.output import (
    GithubReporter,
    JsonReporter,
    TextReporter,
    to_json,
    workflow_command,
)

PROBLEM = Problem(
    "m/hokusai.yaml", 4, 13, Severity.ERROR, "token-id", "bad token", ("model", "token_id")
)
WARNING = Problem(
    "m/hokusai.yaml", 9, 3, Severity.WARNING, "metric-alias", "alias", ("metrics", "f1")
)


def _result(*problems: Problem, strict: bool = False) -> Result:
    return Result([FileResult("m/hokusai.yaml", list(problems))], strict=strict)


def _render(reporter_cls, result: Result, *, color: bool = False) -> str:
    out = io.StringIO()
    reporter_cls(out, color=color).report(result)
    return out.getvalue()


def test_text_lines_have_the_file_line_col_severity_message_rule_shape():
    lines = _render(TextReporter, _result(PROBLEM, WARNING)).splitlines()
    assert lines[0] == "m/hokusai.yaml:4:13: error: bad token [token-id] $.model.token_id"
    assert lines[1] == "m/hokusai.yaml:9:3: warning: alias [metric-alias] $.metrics.f1"
    assert lines[2] == "1 manifest checked: 1 error, 1 warning"


def test_text_is_plain_without_colour_and_styled_with_it():
    plain = _render(TextReporter, _result(PROBLEM))
    styled = _render(TextReporter, _result(PROBLEM), color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31m" in styled  # red "error:"


def test_text_summary_for_valid_and_for_nothing_found():
    assert TextReporter.summary(Result([FileResult("a"), FileResult("b")])) == "2 manifests valid"
    assert "no hokusai.yaml" in TextReporter.summary(Result())


def test_json_output_has_the_documented_stable_shape():
    data = json.loads(_render(JsonReporter, _result(PROBLEM, WARNING)))
    assert data == {
        "format_version": 1,
        "valid": False,
        "summary": {"files": 1, "invalid_files": 1, "errors": 1, "warnings": 1},
        "files": [
            {
                "file": "m/hokusai.yaml",
                "notes": [],
                "valid": False,
                "problems": [
                    {
                        "line": 4,
                        "column": 13,
                        "severity": "error",
                        "rule": "token-id",
                        "message": "bad token",
                        "json_path": "$.model.token_id",
                    },
                    {
                        "line": 9,
                        "column": 3,
                        "severity": "warning",
                        "rule": "metric-alias",
                        "message": "alias",
                        "json_path": "$.metrics.f1",
                    },
                ],
            }
        ],
    }


def test_warnings_alone_are_valid_unless_strict():
    assert to_json(_result(WARNING))["valid"] is True
    assert to_json(_result(WARNING, strict=True))["valid"] is False
    assert _result(WARNING).exit_code == 0
    assert _result(WARNING, strict=True).exit_code == 1


def test_io_errors_exit_2_and_manifest_errors_exit_1():
    io_error = Problem("x", 1, 1, Severity.ERROR, "io-error", "no such file")
    assert _result(io_error, PROBLEM).exit_code == 2
    assert _result(PROBLEM).exit_code == 1
    assert _result().exit_code == 0


def test_github_workflow_commands_escape_data_and_properties():
    # A line break in a message (a value quoted in it) is shown as `\n`, not sent on.
    tricky = Problem("dir,a:b/hokusai.yaml", 2, 5, Severity.WARNING, "r", "50% done\nnext line")
    assert workflow_command(tricky) == (
        "::warning file=dir%2Ca%3Ab/hokusai.yaml,line=2,col=5,title=hokusai-action [r]"
        "::50%25 done\\nnext line"
    )


def test_github_format_prints_one_command_per_problem_then_the_summary():
    lines = _render(GithubReporter, _result(PROBLEM, WARNING)).splitlines()
    assert lines[0].startswith("::error file=m/hokusai.yaml,line=4,col=13,")
    assert lines[1].startswith("::warning ")
    assert lines[2] == "1 manifest checked: 1 error, 1 warning"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_is_automatic_on_a_terminal_unless_no_color_is_set(monkeypatch):
    from hokusai_action.cli import _use_color

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _use_color("auto", _Terminal())
    assert not _use_color("auto", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _use_color("auto", _Terminal())
    assert _use_color("always", io.StringIO())


def test_a_manifest_with_no_claimed_value_is_valid_and_says_it_will_be_measured(tmp_path):
    from hokusai_action.validation.checker import validate
    from hokusai_action.validation.rules import Options

    (tmp_path / ".git").mkdir()
    (tmp_path / "model.pkl").write_bytes(b"weights")
    (tmp_path / "holdout.csv").write_text("x,churned\n1,0\n", encoding="utf-8")
    (tmp_path / "hokusai.yaml").write_text(
        "version: 1\nmodel: {name: m, token_id: M-001, path: model.pkl}\nbenchmark:\n"
        "  metric: accuracy\n  dataset: {name: h, path: holdout.csv, target: churned}\n",
        encoding="utf-8",
    )
    result = validate([tmp_path / "hokusai.yaml"], Options())
    assert result.valid
    text = _render(TextReporter, result)
    assert "will measure `accuracy` at registration on `holdout.csv`" in text
    assert "label column `churned`" in text
    assert json.loads(_render(JsonReporter, result))["files"][0]["notes"]
