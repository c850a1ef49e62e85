"""Our pre-commit hook, run by the real pre-commit tool as a user's repository would run it.

`pre-commit try-repo` clones a throwaway copy of the current working tree, installs it with
pip into a fresh virtualenv (offline: see conftest.py and wheelhouse.py) and runs the hook
over a temporary git repository that holds the manifests of each case; `pre-commit run`
installs it from a local clone, as the README shows for a user who cannot reach GitHub.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "pre-commit"
HOOK_ID = "hokusai-validate"  # `id` in .pre-commit-hooks.yaml
HOOK_NAME = "validate Hokusai manifests"  # its `name`, which pre-commit reports under
GITHUB_REPO = "https://github.com/hokusai-protocol/hokusai-action"  # the README's `repo:`
LOCAL_CLONE = "/path/to/hokusai-action"  # the README's `repo:` for a local clone

RunPreCommit = Callable[..., subprocess.CompletedProcess[str]]


def _hook_status(output: str) -> str:
    """The status pre-commit printed for our hook: Passed, Failed or Skipped."""
    line = rf"^{re.escape(HOOK_NAME)}\.*(?:\(no files to check\))?(Passed|Failed|Skipped)$"
    match = re.search(line, output, re.MULTILINE)
    assert match, f"pre-commit did not report on the hook:\n{output}"
    return match.group(1)


def _location(manifest: Path, key: str, value: str) -> str:
    """`file:line:col` of `value` on the line of `key` in a manifest (1-based)."""
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(f"{key}:"):
            return f"{manifest.name}:{number}:{line.index(value) + 1}"
    raise AssertionError(f"no {key} in {manifest}")


@pytest.fixture
def try_hook(
    tmp_path: Path,
    hook_repo: Path,
    make_git_repo: Callable[[Path], Path],
    run_pre_commit: RunPreCommit,
) -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """`try_hook(sources)`: `pre-commit try-repo` of our hook, over all files of a new git
    repository holding a copy of `sources`."""

    def run(sources: Path) -> subprocess.CompletedProcess[str]:
        repo = make_git_repo(shutil.copytree(sources, tmp_path / "user-repo"))
        args = ("try-repo", str(hook_repo), HOOK_ID, "--all-files", "--verbose", "--color=never")
        return run_pre_commit(*args, cwd=repo)

    return run


def test_hook_manifest_is_accepted_by_pre_commit(run_pre_commit: RunPreCommit) -> None:
    result = run_pre_commit("validate-manifest", ".pre-commit-hooks.yaml", cwd=PROJECT_ROOT)

    assert result.returncode == 0, result.stdout


def test_hook_passes_on_valid_manifests(
    try_hook: Callable[[Path], subprocess.CompletedProcess[str]],
) -> None:
    # The real examples, each in its own folder: the hook's `files` pattern must match
    # nested manifests, and all of them must be checked.
    examples = PROJECT_ROOT / "examples"
    manifests = [p for p in examples.rglob("hokusai.y*ml") if p.parent != examples]
    assert len(manifests) > 1, "the examples no longer cover nested manifests"
    result = try_hook(examples)

    assert result.returncode == 0, result.stdout
    assert _hook_status(result.stdout) == "Passed", result.stdout
    assert f"{len(manifests)} manifests valid" in result.stdout, result.stdout


def test_hook_fails_on_invalid_token_id_with_location_and_suggestion(
    try_hook: Callable[[Path], subprocess.CompletedProcess[str]],
) -> None:
    sources = FIXTURES / "invalid-token-id"
    result = try_hook(sources)

    assert result.returncode == 1, result.stdout
    assert _hook_status(result.stdout) == "Failed", result.stdout
    where = _location(sources / "hokusai.yaml", "token_id", "model_001")
    assert f"{where}: error:" in result.stdout, result.stdout
    assert "MODEL-001" in result.stdout, result.stdout


def test_hook_passes_with_warning_when_model_path_is_missing(
    try_hook: Callable[[Path], subprocess.CompletedProcess[str]],
) -> None:
    # Models are often built in CI, not committed: the hook passes --missing-paths=warn.
    sources = FIXTURES / "missing-model-path"
    result = try_hook(sources)

    assert result.returncode == 0, result.stdout
    assert _hook_status(result.stdout) == "Passed", result.stdout
    where = _location(sources / "hokusai.yaml", "path", "model/fraud.pkl")
    assert f"{where}: warning:" in result.stdout, result.stdout
    assert "does not exist" in result.stdout, result.stdout


def test_the_readmes_local_clone_config_runs_the_hook_offline(
    tmp_path: Path,
    hook_repo: Path,
    make_git_repo: Callable[[Path], Path],
    run_pre_commit: RunPreCommit,
) -> None:
    # The README's second `.pre-commit-config.yaml`, for a user who cannot reach GitHub:
    # `repo:` a local clone's path, `rev:` a commit SHA, run by `pre-commit run` as shown.
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    github, local = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if HOOK_ID in b]
    assert local == github.replace(GITHUB_REPO, LOCAL_CLONE), "the same hook, from a clone"
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    sources = FIXTURES / "invalid-token-id"
    user = shutil.copytree(sources, tmp_path / "user-repo")
    config = local.replace(LOCAL_CLONE, str(hook_repo)).replace("<sha>", sha)
    (user / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    result = run_pre_commit("run", "--all-files", "--color=never", cwd=make_git_repo(user))

    assert result.returncode == 1, result.stdout
    assert _hook_status(result.stdout) == "Failed", result.stdout
    where = _location(sources / "hokusai.yaml", "token_id", "model_001")
    assert f"{where}: error:" in result.stdout, result.stdout
