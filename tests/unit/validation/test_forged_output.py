"""Manifest values cannot forge workflow commands or terminal escapes in `validate`'s output,
and a huge value is not echoed whole (issue 9, item 6)."""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hokusai_action.inert import is_hidden
from hokusai_action.validation.checker import validate
from hokusai_action.validation.output import GithubReporter, JsonReporter, TextReporter, to_json
from hokusai_action.validation.rules import Options
from tests.conftest import VALID
from tests.support.cli import run_cli

FORGED = "1.0\\n::error file=README.md,line=1::FORGED"  # as written in YAML: a real line break
# The only workflow commands `validate --format github` writes.
OUR_COMMAND = re.compile(
    r"::(error|warning) file=[^,:]*hokusai\.yaml,line=\d+,col=\d+,title=hokusai-action "
    r"\[[A-Za-z0-9-]+\]::"
)


def assert_inert(output: str, *, commands: re.Pattern[str] | None = None) -> None:
    """No line a runner would read as a command we did not write, no raw control, bidi or
    invisible character."""
    for line in output.split("\n"):
        if line.lstrip().startswith("::"):
            assert commands is not None, line
            assert commands.match(line), line
        assert "##[" not in line, line
        hidden = [c for c in line if is_hidden(c)]
        assert not hidden, (line, hidden)


def _manifest(repo_root: Path, text: str) -> Path:
    (repo_root / "hokusai.yaml").write_text(text, encoding="utf-8")
    return repo_root


def test_a_line_break_in_a_value_does_not_start_a_workflow_command(repo):
    root = _manifest(repo.root, with_model_version(f'"{FORGED}"'))
    for output_format in ("text", "github"):
        result = run_cli("validate", "--format", output_format, cwd=root)
        assert result.returncode == 1, result.stderr
        assert "FORGED" in result.stdout  # the value is shown...
        assert "\\n::error file=README.md" in result.stdout  # ...with its line break escaped
        for line in (result.stdout + result.stderr).splitlines():
            assert not line.lstrip().startswith("::error file=README.md"), line
        assert_inert(result.stdout, commands=OUR_COMMAND if output_format == "github" else None)


def test_terminal_escapes_and_bidi_controls_are_shown_not_sent(repo):
    hostile = VALID.replace("CHURN-001", '"\\e]0;pwned\\a\\u202eCHURN"')
    root = _manifest(repo.root, hostile)
    result = run_cli("validate", cwd=root)
    assert result.returncode == 1
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "\\x1b]0;pwned\\x07\\u202eCHURN" in result.stdout


def test_a_megabyte_value_is_cut_not_echoed_whole(repo):
    root = _manifest(repo.root, with_model_version('"1.0' + "x" * 1_000_000 + '"'))
    for output_format in ("text", "github"):
        result = run_cli("validate", "--format", output_format, cwd=root)
        assert result.returncode == 1
        assert "semver" in result.stdout
        assert len(result.stdout) < 2_000  # was 500 kB
        assert "`1.0" + "x" * 77 + "…`" in result.stdout  # 80 characters, then the cut


def test_a_key_with_a_line_break_is_escaped_in_the_json_path(repo):
    root = _manifest(repo.root, VALID + 'tags:\n  "mlflow.x\\n::error::KEY": v\n')
    result = run_cli("validate", cwd=root)
    assert result.returncode == 1
    assert "$.tags['mlflow.x\\n::error::KEY']" in result.stdout
    assert_inert(result.stdout)


def test_a_directory_named_like_a_command_does_not_start_a_line(repo):
    directory = repo.root / "::error file=README.md,line=1::FORGED"
    directory.mkdir()
    (directory / "hokusai.yaml").write_text(VALID.replace("CHURN-001", "churn"), "utf-8")
    result = run_cli("validate", cwd=repo.root)
    assert result.returncode == 1
    assert result.stdout.startswith("\\::error file=README.md,line=1::FORGED/hokusai.yaml:4:13:")
    assert_inert(result.stdout)
    github = run_cli("validate", "--format", "github", cwd=repo.root)
    assert "file=%3A%3Aerror file=README.md%2Cline=1%3A%3AFORGED/hokusai.yaml" in github.stdout


# -- the property: any string, anywhere a value or key is echoed ------------------------------
def yaml_quoted(value: str) -> str:
    """`value` as a YAML double-quoted scalar, every character outside printable ASCII
    written as an escape (the file itself stays clean; the loaded value is `value`)."""
    out = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


HOSTILE_PARTS = st.sampled_from(
    [
        "\n::error file=README.md,line=1::FORGED",
        "\r\n  ::add-mask::x",
        "::stop-commands::t",
        "##[warning]FORGED",
        "\x1b]0;pwned\x07",
        "\x1b[2J",
        "\u202e",
        "\u2066",
        "\u200b",
        "\ufeff",
        "\x85",
        "\u2028",
        "%0A::error::x",
        "`",
        "x" * 90,
    ]
)
HOSTILE_TEXT = st.lists(st.one_of(st.text(max_size=20), HOSTILE_PARTS), max_size=6).map("".join)


def with_model_version(version: str) -> str:
    return VALID.replace("  path: models/churn\n", f"  path: models/churn\n  version: {version}\n")


def _manifests(value: str) -> list[str]:
    """The string as each value and key that messages quote."""
    quoted = yaml_quoted(value)
    return [
        with_model_version(quoted),
        VALID.replace("CHURN-001", quoted),
        VALID.replace("customer-churn-predictor", quoted),
        VALID.replace("models/churn", quoted),
        VALID.replace("metric: accuracy", f"metric: {quoted}"),
        VALID + f"tags:\n  {quoted}: x\n",
        VALID + f"metrics:\n  {quoted}: 0.5\n",
        VALID + f"custom_metrics:\n  {quoted}: {{direction: sideways}}\n",
        VALID + f"{quoted}: 1\n",
        VALID.replace("version: 1", f"version: {quoted}"),
        VALID + f"contribution:\n  contributor_address: {quoted}\n",
    ]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(HOSTILE_TEXT)
def test_no_string_anywhere_forges_a_command_or_prints_a_control_character(value):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        (root / "models" / "churn").mkdir(parents=True)
        (root / "models" / "churn" / "model.pkl").write_bytes(b"model")
        for text in _manifests(value):
            path = root / "hokusai.yaml"
            path.write_text(text, encoding="utf-8")
            result = validate([path], Options(root=root))
            for reporter, commands in ((TextReporter, None), (GithubReporter, OUR_COMMAND)):
                out = io.StringIO()
                reporter(out).report(result)
                assert_inert(out.getvalue(), commands=commands)
                assert len(out.getvalue()) < 5_000
            out = io.StringIO()
            JsonReporter(out).report(result)
            assert_inert(out.getvalue())
            assert json.loads(out.getvalue()) == to_json(result)  # the same data
