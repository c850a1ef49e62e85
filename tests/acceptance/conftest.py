"""Fixtures for running the real pre-commit tool against our hook, offline.

pre-commit installs the hook with pip into a fresh virtualenv. The fixtures here make
that hermetic: pip sees only a wheelhouse repacked from the test virtualenv (see
wheelhouse.py) and no configuration of this machine or user, virtualenv does not
update its bundled wheels in the background, and git reads no global configuration.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from .wheelhouse import build_wheelhouse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Creating the hook's virtualenv and installing into it takes seconds; a hung pip should
# still end the test.
PRE_COMMIT_TIMEOUT = 600

# Not part of the project: never copied into the repository pre-commit installs from.
# (.hypothesis is written by the tests running beside this one under pytest-xdist: a file
# there may vanish while it is copied.)
_NOT_PROJECT_TOP = {".git", ".venv", "venv", ".tox", ".nox", "build", "dist", ".coverage",
                    ".hokusai", ".pytest_cache", ".ruff_cache", ".mypy_cache",
                    ".hypothesis"}  # fmt: skip
_NOT_PROJECT_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.egg-info")


def _not_project_files(directory: str, names: list[str]) -> set[str]:
    ignored = _NOT_PROJECT_ANYWHERE(directory, names)
    if Path(directory) == PROJECT_ROOT:
        ignored |= _NOT_PROJECT_TOP.intersection(names)
    return ignored


_GIT_IDENTITY = {"user.name": "Hokusai Test", "user.email": "hokusai-test@example.invalid"}


def _git(*args: str, cwd: Path, env: Mapping[str, str]) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def _make_git_repo(path: Path, env: Mapping[str, str]) -> Path:
    """`git init` at `path` with a local identity, and `git add` everything in it."""
    _git("-c", "init.defaultBranch=main", "init", "-q", cwd=path, env=env)
    for key, value in _GIT_IDENTITY.items():
        _git("config", "--local", key, value, cwd=path, env=env)
    _git("add", "--all", cwd=path, env=env)
    return path


def _run_pre_commit(
    *args: str, cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run the real pre-commit (the one installed with the test extra), output merged."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=PRE_COMMIT_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels for everything `pip install .` of the project needs: the build backend and
    the base dependencies, as declared in pyproject.toml, with their dependencies."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [
        *pyproject["build-system"]["requires"],
        *pyproject["project"]["dependencies"],
    ]
    dest = tmp_path_factory.mktemp("wheelhouse")
    build_wheelhouse(requirements, dest)
    return dest


@pytest.fixture(scope="session")
def offline_env(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> dict[str, str]:
    """The environment for pre-commit, git and everything they start."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Settings of this machine or of an enclosing git hook must not leak in.
        if not key.startswith(("PIP_", "VIRTUALENV_", "PRE_COMMIT", "GIT_", "PYTHON"))
    }
    cache = tmp_path_factory.mktemp("pre-commit-cache")
    env.update(
        # pip: only our wheelhouse, no index, no config file (this machine's pip.conf adds
        # find-links, extra index URLs and constraints), no user cache.
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheelhouse),
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # virtualenv: its bundled pip and setuptools only; the periodic update would
        # download newer ones in the background.
        VIRTUALENV_CONFIG_FILE=os.devnull,
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        VIRTUALENV_OVERRIDE_APP_DATA=str(cache / "virtualenv"),
        # pre-commit: never a user's store. (try-repo makes a store of its own in a
        # temporary directory; this covers everything else.)
        PRE_COMMIT_HOME=str(cache / "pre-commit"),
        # git: no global or system configuration (signing, hooks, templates).
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, offline_env: dict[str, str]) -> Path:
    """A throwaway git repository whose HEAD is the current working tree of the project.

    `pre-commit try-repo` clones the hook repository at HEAD, so pointing it at the
    project itself would test the last commit (plus tracked changes only).
    """
    repo = tmp_path_factory.mktemp("hook-repo") / "hokusai-action"
    shutil.copytree(PROJECT_ROOT, repo, ignore=_not_project_files, symlinks=True)
    _make_git_repo(repo, offline_env)
    _git("commit", "-q", "--no-verify", "-m", "working tree under test", cwd=repo, env=offline_env)
    return repo


@pytest.fixture(scope="session")
def make_git_repo(offline_env: dict[str, str]) -> Callable[[Path], Path]:
    """`make_git_repo(path)`: `git init` at `path` with a local identity, everything added."""
    return functools.partial(_make_git_repo, env=offline_env)


@pytest.fixture(scope="session")
def run_pre_commit(
    offline_env: dict[str, str],
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_pre_commit(*args, cwd=...)`: the real pre-commit, offline, output merged."""
    return functools.partial(_run_pre_commit, env=offline_env)
