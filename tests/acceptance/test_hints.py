"""Every hint is true: an option a message suggests exists on the command that printed it
(or on the command the message names), and neither a Git LFS pointer nor a flavored folder
with no `MLmodel` is taken for a model to register."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT, VALID, Repo
from tests.support.cli import run_cli

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
NAMED_COMMAND = re.compile(r"hokusai-action ([a-z]+)((?: [^`\n]*)?)")
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)
FLAVORED = VALID.replace("  path: models/churn\n", "  path: models/churn\n  flavor: sklearn\n")


@functools.cache
def options_of(command: str) -> frozenset[str]:
    """The options `hokusai-action COMMAND --help` lists, with the group's own (and, for a
    group of subcommands such as `benchmark`, its subcommands')."""
    shown = run_cli(command, "--help", cwd=PROJECT).stdout if command else ""
    if command and "Commands:" in shown:
        subcommands = shown.split("Commands:", 1)[1].splitlines()
        for sub in [line.split()[0] for line in subcommands if line.strip()]:
            shown += run_cli(command, sub, "--help", cwd=PROJECT).stdout
    group = run_cli("--help", cwd=PROJECT).stdout
    return frozenset(OPTION.findall(shown + group))


def commands() -> list[str]:
    text = run_cli("--help", cwd=PROJECT).stdout.split("Commands:", 1)[1]
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def suggested(command: str, output: str) -> list[tuple[str, str]]:
    """(command, option) for each option the output suggests: one inside a quoted
    `hokusai-action X ...` line belongs to X, any other to the command that printed it."""
    pairs = []
    for match in NAMED_COMMAND.finditer(output):
        pairs += [(match.group(1), o) for o in OPTION.findall(match.group(2))]
    rest = NAMED_COMMAND.sub("", output)
    return pairs + [(command, o) for o in OPTION.findall(rest)]


def _repo_with(repo: Repo, manifest: str) -> Path:
    repo.write("hokusai.yaml", manifest)
    return repo.root


CASES = {
    "validate, model missing": (["validate"], VALID.replace("models/churn", "models/gone")),
    "register, model missing": (["register"], VALID.replace("models/churn", "models/gone")),
    "compare, model missing": (["compare"], VALID.replace("models/churn", "models/gone")),
    "register, dry run, model missing": (
        ["register", "--dry-run"],
        VALID.replace("models/churn", "models/gone"),
    ),
    "register, file store": (["register", "--tracking-uri", "file:///tmp/mlruns"], VALID),
    "register, a bare path": (["register", "--tracking-uri", "/tmp/mlruns"], VALID),
    "show, no registry yet": (["show", "customer-churn-predictor"], VALID),
    "lineage, no token": (["lineage"], VALID),
    "list, no registry yet": (["list"], VALID),
    "promote, no registry yet": (["promote", "--token", "CHURN-001", "--version", "2"], VALID),
    "init, not on a terminal": (["init", "fresh"], VALID),
    "init, manifest exists": (["init", "."], VALID),
    "register, flavor without MLmodel": (["register"], FLAVORED),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_option_a_message_suggests_is_an_option_of_that_command(repo: Repo, case: str):
    args, manifest = CASES[case]
    result = run_cli(*args, cwd=_repo_with(repo, manifest))
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    for command, option in suggested(args[0], result.stdout + result.stderr):
        assert option in options_of(command), (case, command, option, result.stderr)


def test_register_with_a_missing_model_suggests_no_option_of_validate(repo: Repo):
    result = run_cli("register", cwd=_repo_with(repo, VALID.replace("churn", "gone")))
    assert result.returncode == 1
    assert "--missing-paths" not in result.stderr
    assert "does not exist" in result.stderr


def _message_strings() -> list[tuple[str, str]]:
    """(module, string) for the package's string constants that read as messages (with a
    space; not docstrings)."""
    found = []
    for module in sorted((PROJECT / "hokusai_action").rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            message = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if message and id(node) not in docstrings and " " in node.value:
                found.append((module.relative_to(PROJECT).as_posix(), node.value))
    return found


def test_every_option_named_in_the_source_exists_on_some_command():
    every = frozenset().union(*(options_of(c) for c in commands()))
    for module, string in _message_strings():
        for command, option in suggested("", string):
            known = options_of(command) if command else every
            assert option in known, f"{module}: {option} in {string!r}"


# -- Git LFS pointers ----------------------------------------------------------------------
def test_a_model_file_that_is_an_lfs_pointer_is_a_warning_for_validate(repo: Repo):
    (repo.root / "models" / "churn" / "model.pkl").write_text(LFS_POINTER)
    result = run_cli("validate", "--color", "never", cwd=_repo_with(repo, VALID))
    assert result.returncode == 0, result.stdout
    assert "warning:" in result.stdout
    assert "[model-lfs-pointer]" in result.stdout
    assert "Git LFS pointer" in result.stdout
    assert "git lfs pull" in result.stdout
    assert "lfs: true" in result.stdout
    strict = run_cli("validate", "--strict", cwd=repo.root)
    assert strict.returncode == 1


@pytest.mark.parametrize("command", ["register", "compare"])
def test_a_model_that_is_an_lfs_pointer_is_an_error_for_register_and_compare(
    repo: Repo, command: str
):
    (repo.root / "models" / "churn.bin").write_text(LFS_POINTER)
    result = run_cli(
        command, cwd=_repo_with(repo, VALID.replace("models/churn", "models/churn.bin"))
    )
    assert result.returncode == 1
    assert "error:" in result.stderr
    assert "[model-lfs-pointer]" in result.stderr
    assert "model path `models/churn.bin` is a Git LFS pointer" in result.stderr
    assert "nothing was registered or compared" in result.stderr
    assert not (repo.root / ".hokusai").exists()


def test_a_large_file_or_one_with_other_text_is_not_read_as_a_pointer(repo: Repo):
    churn = repo.root / "models" / "churn"
    (churn / "README.txt").write_text("version 2 of the model\n")
    (churn / "weights.bin").write_bytes(LFS_POINTER.encode() + b"\0" * 2048)  # 2 KiB: a model
    result = run_cli("validate", cwd=_repo_with(repo, VALID))
    assert result.returncode == 0
    assert "model-lfs-pointer" not in result.stdout


# -- a flavored model folder with no MLmodel -----------------------------------------------
def test_a_flavor_without_mlmodel_is_a_warning_for_validate(repo: Repo):
    result = run_cli("validate", "--color", "never", cwd=_repo_with(repo, FLAVORED))
    assert result.returncode == 0, result.stdout
    assert "warning:" in result.stdout
    assert "[model-not-mlflow]" in result.stdout
    assert "model path `models/churn` holds no `MLmodel` file" in result.stdout


@pytest.mark.parametrize("command", ["register", "compare"])
def test_a_flavor_without_mlmodel_is_an_error_for_register_and_compare(repo: Repo, command: str):
    result = run_cli(command, cwd=_repo_with(repo, FLAVORED))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr
    assert "[model-not-mlflow]" in result.stderr
    assert "could not be loaded back with `mlflow.pyfunc.load_model`" in result.stderr
    assert '`mlflow.sklearn.save_model(model, "models/churn")`' in result.stderr
    assert "or set `flavor: file`" in result.stderr
    assert "nothing was registered or compared" in result.stderr
    assert not (repo.root / ".hokusai").exists()
