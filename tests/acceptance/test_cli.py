"""The real `hokusai-action` command, run as users and pre-commit run it."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, VALID, Repo
from tests.support.cli import run_cli
from tests.support.measuring import copy_claimed

run = run_cli


def test_valid_examples_exit_0(tmp_path):
    result = run("validate", str(PROJECT / "examples"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 manifests valid" in result.stdout


def test_invalid_manifest_exits_1_with_located_errors(repo: Repo):
    repo.write("hokusai.yaml", VALID.replace("CHURN-001", "churn_001"))
    result = run("validate", cwd=repo.root)
    assert result.returncode == 1
    assert "hokusai.yaml:4:13: error: invalid token ID 'churn_001'" in result.stdout
    assert "did you mean `CHURN-001`?" in result.stdout


def test_all_problems_of_a_file_are_reported_not_just_the_first(repo: Repo):
    repo.write(
        "hokusai.yaml",
        VALID.replace("CHURN-001", "x")
        .replace("accuracy", "acuracy")
        .replace("models/churn", "/abs"),
    )
    result = run("validate", "hokusai.yaml", cwd=repo.root)
    assert {"[token-id]", "[metric-unknown]", "[path-absolute]"} <= set(result.stdout.split())


def test_directories_are_searched_for_both_file_names(repo: Repo):
    repo.write("a/hokusai.yaml", VALID.replace("models/churn", "../models/churn"))
    repo.write(
        "b/hokusai.yml",
        VALID.replace("models/churn", "../models/churn").replace("CHURN-001", "bad"),
    )
    result = run("validate", cwd=repo.root)
    assert result.returncode == 1
    assert "b/hokusai.yml:4:13:" in result.stdout
    assert "2 manifests checked" in result.stdout


def test_missing_input_path_exits_2(tmp_path):
    result = run("validate", "no/such/hokusai.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "no/such/hokusai.yaml:1:1: error: no such file or directory [io-error]" in result.stdout


def test_bad_option_is_a_usage_error_exit_2(tmp_path):
    result = run("validate", "--format", "xml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--format'" in result.stderr


def test_bad_size_option_says_how_to_write_one(tmp_path):
    result = run("validate", "--max-model-size", "lots", cwd=tmp_path)
    assert result.returncode == 2
    assert "100MB" in result.stderr


@pytest.mark.parametrize(
    ("size", "warns"), [("1kB", True), ("1KiB", True), ("10MB", False), ("4000", True)]
)
def test_max_model_size_accepts_units(repo: Repo, size, warns):
    (repo.root / "models" / "churn" / "w.bin").write_bytes(b"0" * 5000)
    repo.write("hokusai.yaml", VALID)
    result = run("validate", "--max-model-size", size, cwd=repo.root)
    assert result.returncode == 0
    assert ("[model-size]" in result.stdout) is warns


def test_missing_paths_warn_mode_passes_with_a_warning(repo: Repo):
    repo.write("hokusai.yaml", VALID.replace("models/churn", "models/built-in-ci.pkl"))
    assert run("validate", cwd=repo.root).returncode == 1
    warned = run("validate", "--missing-paths=warn", cwd=repo.root)
    assert warned.returncode == 0
    assert "warning: model path `models/built-in-ci.pkl` does not exist" in warned.stdout


def test_strict_turns_warnings_into_failure(repo: Repo):
    repo.write("hokusai.yaml", VALID.replace("accuracy", "acc"))
    assert run("validate", cwd=repo.root).returncode == 0
    assert run("validate", "--strict", cwd=repo.root).returncode == 1


def test_json_format_is_machine_readable(repo: Repo):
    repo.write("hokusai.yaml", VALID.replace("CHURN-001", "bad"))
    result = run("validate", "--format", "json", cwd=repo.root)
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["files"][0]["problems"][0]["rule"] == "token-id"


def test_github_format_prints_error_commands(repo: Repo):
    repo.write("hokusai.yaml", VALID.replace("CHURN-001", "bad"))
    result = run("validate", "--format", "github", cwd=repo.root)
    assert result.stdout.startswith(
        "::error file=hokusai.yaml,line=4,col=13,title=hokusai-action [token-id]::"
    )


def test_colour_only_when_forced_and_never_with_no_color(repo: Repo):
    repo.write("hokusai.yaml", VALID.replace("CHURN-001", "bad"))
    assert "\x1b[" not in run("validate", cwd=repo.root).stdout  # a pipe is not a terminal
    assert "\x1b[" in run("validate", "--color", "always", cwd=repo.root).stdout
    no_color = run("validate", cwd=repo.root, env={"NO_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout


def test_no_manifests_found_is_said_and_not_a_failure(tmp_path):
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 0
    assert "no hokusai.yaml or hokusai.yml found" in result.stdout


def test_garbage_input_never_produces_a_traceback(tmp_path):
    rng = random.Random(1234)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) for _ in range(25)]
    hostile = [  # parse fine, then push each rule to its edge
        ("0.9312", "1" + "0" * 400),
        ("0.9312", "9" * 5000),
        ("0.9312", ".nan"),
        ("0.9312", "1:30"),
        ("0.9312", "[1]"),
        ("models/churn", '"a\\0b"'),
        ("models/churn", "p" * 300),
        ("models/churn", "'\\\\server\\share'"),
        ("CHURN-001", '"a\u0085b"'),
        ("accuracy", "{a: 1}"),
        ("model:", "model: ~\nx:"),
        ("benchmark:", "benchmark: []\ny:"),
    ]
    samples += [VALID.replace(old, new).encode() for old, new in hostile]
    samples += [
        b"\x00\x01",
        b"a: [",
        b"{{{{",
        b": :",
        b"? [a]\n: b\n",
        b"a: *undefined\n",
        b"%YAML 9.9\n---\na: 1\n",
        b"a: !!binary not-base64\n",
    ]
    for i, sample in enumerate(samples):
        (tmp_path / f"c{i}").mkdir()
        (tmp_path / f"c{i}" / "hokusai.yaml").write_bytes(sample)
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count(": error: ") >= len(samples)


def test_internal_bug_is_reported_as_a_bug_with_exit_3(tmp_path):
    code = (
        "import sys, hokusai_action.validation.checker as v\n"
        "def boom(*a, **k): raise RuntimeError('kaput')\n"
        "v.validate = boom\n"
        "from hokusai_action.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    plain = subprocess.run(
        [sys.executable, "-c", code, "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 3
    assert "This is a bug in hokusai-action" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = subprocess.run(
        [sys.executable, "-c", code, "--debug", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" in debug.stderr


def test_validate_imports_neither_mlflow_nor_requests_nor_jsonschema(repo: Repo):
    repo.write("hokusai.yaml", VALID)
    code = (
        "import sys\n"
        "from hokusai_action.cli import main\n"
        "try:\n"
        "    main(['validate', '.'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = ('mlflow', 'requests', 'jsonschema', 'urllib3',\n"
        "         'hokusai_action.registry.settings')  # secrets are only masked when set\n"
        "print('heavy:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOKUSAI_", "MLFLOW_", "GITHUB_", "INPUT_"))}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=False,
        env=env,
    )  # fmt: skip
    assert result.stdout.strip().endswith("heavy: []"), result.stdout + result.stderr


@pytest.mark.parametrize("command", [[], ["validate"], ["init"]])
def test_help_works_for_every_command(tmp_path, command):
    result = run(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "Usage: " in result.stdout


def test_version_option(tmp_path):
    from hokusai_action import __version__

    assert run("--version", cwd=tmp_path).stdout.strip() == f"hokusai-action, version {__version__}"


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "hokusai-action"
    result = subprocess.run(
        [str(script), "validate", str(PROJECT / "examples")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_integer_too_large_for_a_float_exits_1_with_a_located_error_not_a_crash(repo: Repo):
    huge = "1" + "0" * 400
    repo.write(
        "hokusai.yaml",
        VALID + f"custom_metrics:\n  x: {{direction: higher, min: 0, max: {huge}}}\n",
    )
    result = run("validate", cwd=repo.root)
    assert result.returncode == 1, result.stderr
    assert "hokusai.yaml:10:39: error: `max` must be a finite number" in result.stdout
    assert "[number-not-finite]" in result.stdout
    assert "internal error" not in result.stderr
    assert huge not in result.stdout


def test_manifest_symlinked_outside_the_repository_is_refused_and_none_of_it_shown(
    repo: Repo, tmp_path_factory
):
    outside = tmp_path_factory.mktemp("elsewhere") / "hokusai.yaml"
    outside.write_text(VALID.replace("customer-churn-predictor", "name-from-outside"))
    (repo.root / "hokusai.yaml").symlink_to(outside)
    db = f"sqlite:///{repo.root / 'registry.db'}"
    for args in (
        ("validate",),
        ("validate", "--format", "json"),
        ("register", "--tracking-uri", db),
    ):
        result = run(*args, cwd=repo.root)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        output = result.stdout + result.stderr
        assert "manifest-outside" in output
        assert "replace the symlink with the file" in output
        assert "name-from-outside" not in output
        assert "CHURN-001" not in output
    assert not (repo.root / "registry.db").exists()


def test_markdown_printed_keeps_zero_width_spaces_invisible_and_out_of_code_spans(tmp_path):
    """Text outside code spans gets a zero-width space after `:` (so GitHub makes no link of
    it); printed, it must stay invisible, not show as `\\u200b`. A value meant to be copied,
    `reports/metrics.json:test.rmse`, is a code span, which GitHub never links: none there."""
    copy_claimed(PROJECT / "examples" / "house-prices", tmp_path / "house-prices")
    (tmp_path / ".git").mkdir()
    result = run_cli("register", "--dry-run", "--format", "markdown", "house-prices", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from `reports/metrics.json:test.rmse`)" in result.stdout
    assert "\\u200b" not in result.stdout


def test_a_secret_with_a_byte_that_is_not_utf8_is_no_traceback(tmp_path):
    key = "hk_live_SECRET\udcffKEY0123"  # os.environ's form of the byte 0xff
    result = run_cli("--version", cwd=tmp_path, env={"HOKUSAI_API_KEY": key})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
