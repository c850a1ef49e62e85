"""What a model is: a directory or file of the model's own, never the repository root, `.git` or
the registry, and only regular files and directories (a FIFO is never opened)."""

from __future__ import annotations

import os
import socket

import pytest

from hokusai_action.problems import Severity
from hokusai_action.registry.settings import EMBEDDED_DIR
from hokusai_action.validation.rules import REGISTRY_DIR
from tests.conftest import VALID, rules_of
from tests.support.fifo import without_hanging


def test_the_registry_folder_the_validator_protects_is_the_embedded_registrys():
    assert REGISTRY_DIR == EMBEDDED_DIR


# -- the repository root, .git and the registry ------------------------------------------


def test_repository_root_as_model_path_is_rejected_with_the_fix(repo):
    problems = repo.check(VALID.replace("models/churn", "."))
    assert rules_of(problems) == ["path-root"]
    assert (problems[0].line, problems[0].column) == (5, 9)
    assert "repository root" in problems[0].message
    assert "point `model.path` at the model's own directory" in problems[0].message


def test_parent_directory_that_is_the_root_is_rejected(repo):
    problems = repo.check(VALID.replace("models/churn", "../.."), "models/churn/hokusai.yaml")
    assert rules_of(problems) == ["path-root"]


def test_root_is_rejected_in_hook_mode_too(repo):
    problems = repo.check(VALID.replace("models/churn", "./"), missing_paths=Severity.WARNING)
    assert rules_of(problems) == ["path-root"]


@pytest.mark.parametrize("path", [".git", ".git/config", "./.git/", "models/../.git/hooks"])
def test_paths_into_git_are_rejected(repo, path):
    (repo.root / ".git" / "config").write_text("[http]\n\textraheader = AUTHORIZATION: x\n")
    problems = repo.check(VALID.replace("models/churn", path))
    assert rules_of(problems) == ["path-git"]
    assert "Git's folder `.git`" in problems[0].message


def test_a_model_directory_holding_git_is_rejected(repo):
    (repo.root / "models" / "churn" / ".git").write_text("gitdir: ../../.git/modules/churn\n")
    problems = repo.check(VALID)
    assert rules_of(problems) == ["path-git"]
    assert "holds `.git`" in problems[0].message


def test_a_directory_above_the_model_holding_the_registry_is_rejected(repo):
    (repo.root / "models" / ".hokusai" / "artifacts").mkdir(parents=True)
    problems = repo.check(VALID.replace("models/churn", "models"))
    assert rules_of(problems) == ["path-registry"]
    assert "holds `.hokusai`" in problems[0].message


@pytest.mark.parametrize("path", [".hokusai", ".hokusai/artifacts", ".hokusai/not-yet-made"])
def test_paths_into_the_embedded_registry_are_rejected(repo, path):
    (repo.root / ".hokusai" / "artifacts").mkdir(parents=True)
    problems = repo.check(VALID.replace("models/churn", path))
    assert rules_of(problems) == ["path-registry"]
    assert "embedded registry's folder `.hokusai`" in problems[0].message


@pytest.mark.parametrize(
    ("link_to", "rule"), [(".git", "path-git"), (".hokusai", "path-registry"), (".", "path-root")]
)
def test_symlinks_inside_the_model_to_reserved_places_are_rejected(repo, link_to, rule):
    (repo.root / ".hokusai").mkdir()
    (repo.root / "models" / "churn" / "extra").symlink_to(repo.root / link_to)
    problems = repo.check(VALID)
    assert rules_of(problems) == [rule]
    assert "holds `extra`, a symlink" in problems[0].message


def test_metrics_file_inside_git_is_rejected(repo):
    (repo.root / ".git" / "m.json").write_text('{"accuracy": 0.9}')
    text = VALID.replace("  value: 0.9312\n", "  value_from: {file: .git/m.json, key: accuracy}\n")
    problems = repo.check(text)
    assert rules_of(problems) == ["path-git"]
    assert "point `benchmark.value_from.file` at the metrics file itself" in problems[0].message


def test_a_model_directory_named_like_git_elsewhere_is_fine(repo):
    (repo.root / "models" / "churn" / "gitignored.txt").write_text("x")
    (repo.root / "models" / "churn" / "hokusai-notes").mkdir()
    assert repo.check(VALID) == []


# -- special files ----------------------------------------------------------------------


def test_fifo_as_model_path_is_rejected_without_opening_it(repo):
    fifo = repo.root / "models" / "pipe"
    os.mkfifo(fifo)
    problems = without_hanging(
        [fifo], lambda: repo.check(VALID.replace("models/churn", "models/pipe"))
    )
    assert rules_of(problems) == ["path-special"]
    assert "model path `models/pipe` is a FIFO (named pipe)" in problems[0].message
    assert (problems[0].line, problems[0].column) == (5, 9)


def test_fifo_inside_a_model_directory_is_rejected(repo):
    fifo = repo.root / "models" / "churn" / "sub" / "weights.bin"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    problems = without_hanging([fifo], lambda: repo.check(VALID))
    assert rules_of(problems) == ["path-special"]
    assert "holds `sub/weights.bin`, which is a FIFO" in problems[0].message


def test_symlink_to_a_fifo_inside_the_repository_is_rejected(repo):
    fifo = repo.root / "pipe"
    os.mkfifo(fifo)
    (repo.root / "models" / "churn" / "weights.bin").symlink_to(fifo)
    problems = without_hanging([fifo], lambda: repo.check(VALID))
    assert rules_of(problems) == ["path-special"]


def test_socket_inside_a_model_directory_is_rejected(repo, monkeypatch):
    monkeypatch.chdir(repo.root / "models" / "churn")  # socket paths are short: bind by name
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("serve.sock")
        problems = repo.check(VALID)
    assert rules_of(problems) == ["path-special"]
    assert "a socket" in problems[0].message


def test_fifo_as_the_metrics_file_is_rejected_without_opening_it(repo):
    fifo = repo.root / "metrics.json"
    os.mkfifo(fifo)
    text = VALID.replace("  value: 0.9312\n", "  value_from: {file: metrics.json, key: accuracy}\n")
    problems = without_hanging([fifo], lambda: repo.check(text))
    assert rules_of(problems) == ["path-special"]
    assert problems[0].path == ("benchmark", "value_from", "file")


def test_special_files_are_errors_in_hook_mode_too(repo):
    os.mkfifo(repo.root / "models" / "churn" / "pipe")
    problems = repo.check(VALID, missing_paths=Severity.WARNING)
    assert [(p.rule, p.severity) for p in problems] == [("path-special", Severity.ERROR)]
