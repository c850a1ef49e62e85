"""The action's log: only the workflow commands we write reach the runner (issue 9, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

from hokusai_action.github import action
from hokusai_action.problems import Problem, Severity
from tests.conftest import VALID
from tests.unit.validation.test_forged_output import assert_inert, with_model_version

FORGED = "1.0\n::error file=README.md,line=1::FORGED\x1b]0;t\x07##[warning]x"
ANNOTATION = re.compile(
    r"::(error|warning) file=[^,:]*hokusai\.yaml,line=\d+,col=\d+,title=hokusai-action "
    r"\[[A-Za-z0-9-]+\]::"
)
# Everything the action writes: the masks first, annotations, then messages of its own.
OURS = re.compile(rf"{ANNOTATION.pattern}|::add-mask::t$|::(error|warning|notice)::")


def test_a_log_line_cannot_start_a_command(capsys):
    action.log(f"model `{FORGED}`")
    out = capsys.readouterr().out
    assert_inert(out)
    assert "\\::error file=README.md" in out


def test_a_command_message_stays_one_command_without_escapes(capsys):
    action.command("error", f"could not register `{FORGED}`")
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("::error::could not register `1.0\\n::error file=README.md")
    assert_inert(line, commands=re.compile(r"::error::could not register"))


def test_a_long_command_message_is_cut(capsys):
    action.command("warning", "x" * 100_000)
    assert len(capsys.readouterr().out) < 2_100


def test_annotations_carry_only_escaped_messages(capsys):
    action.annotate([Problem("hokusai.yaml", 1, 1, Severity.ERROR, "semver", FORGED)])
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert_inert(out, commands=ANNOTATION)


def test_the_action_on_a_forged_manifest_writes_only_its_own_commands(
    tmp_path: Path, monkeypatch, capsys
):
    (tmp_path / ".git").mkdir()
    (tmp_path / "models" / "churn").mkdir(parents=True)
    (tmp_path / "models" / "churn" / "m.pkl").write_bytes(b"m")
    forged = '"1.0\\n::error file=README.md,line=1::FORGED\\e]0;t\\a"'
    (tmp_path / "hokusai.yaml").write_text(with_model_version(forged), encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "hokusai.yaml").write_text(
        VALID.replace("CHURN-001", '"##[error]FORGED\\u202e"'), encoding="utf-8"
    )
    summary = tmp_path / "summary.md"
    env = {
        "INPUT_MODE": "validate",
        "INPUT_GITHUB-TOKEN": "t",
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    monkeypatch.chdir(tmp_path)
    assert action.run(env) == 1
    out = capsys.readouterr().out
    assert "FORGED" in out
    assert_inert(out, commands=OURS)
    assert "\u202e" not in summary.read_text(encoding="utf-8")
