"""The README's promises: its commands are the ones CI runs, its example manifest is valid."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from hokusai_action.validation.checker import validate
from hokusai_action.validation.rules import Options
from tests.conftest import PROJECT

README = (PROJECT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = next(b.strip() for b in _blocks("sh") if "pytest" in b)
    assert test_command in (PROJECT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_main_command_installs_and_runs_the_demo():
    """The first command: a fresh install, then the demo (tests/integration/test_demo.py runs
    it and keeps the README's copy of its output equal to it)."""
    main_command = next(b.strip() for b in _blocks("sh") if "'.[registry]'" in b)
    assert main_command.startswith("python3 -m venv .venv")
    assert main_command.endswith("&& .venv/bin/hokusai-action demo")


def test_readme_register_command_prints_comments_instead_of_posting():
    command = next(b.strip() for b in _blocks("sh") if "hokusai-action register examples" in b)
    assert command.endswith("--format markdown")  # the comment, printed instead of posted


def test_readme_manifest_example_is_valid(tmp_path):
    (example,) = [b for b in _blocks("yaml") if b.startswith("# yaml-language-server")]
    (tmp_path / "hokusai.yaml").write_text(example, encoding="utf-8")
    result = validate([tmp_path / "hokusai.yaml"], Options(missing_paths=None, root=tmp_path))
    assert result.problems == []


def test_readme_names_every_example_directory():
    for example in sorted(p for p in (PROJECT / "examples").iterdir() if p.is_dir()):
        assert f"`{example.name}`" in README
    assert "python examples/build_models.py" in README  # how the example models are rebuilt


def test_readme_main_job_runs_on_a_copy_of_the_examples(tmp_path):
    main_command = next(b.strip() for b in _blocks("sh") if "hokusai-action register examples" in b)
    job = main_command.split("&&")[-1].split()  # what runs after the install steps
    assert job[0] == ".venv/bin/hokusai-action"
    shutil.copytree(PROJECT / "examples", tmp_path / "examples")
    (tmp_path / ".git").mkdir()
    command = [str(Path(sys.executable).parent / "hokusai-action"), *job[1:]]
    first = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("<!-- hokusai-action:deltaone model=") == 3  # the comments, printed
    assert first.stdout.count("| Registry | version 1 |") == 3
    second = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert second.stdout.count("version 1 (already registered by an earlier run)") == 3


def test_readme_syntax_error_example_is_the_real_output(tmp_path):
    (example,) = [b for b in _blocks("text") if "[yaml-syntax]" in b]
    manifest = tmp_path / "models" / "churn" / "hokusai.yaml"
    manifest.parent.mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    shutil.copy(PROJECT / "tests/fixtures/invalid/yaml-missing-colon/hokusai.yaml", manifest)
    command = [str(Path(sys.executable).parent / "hokusai-action"), "validate", "--color", "never"]
    result = subprocess.run(
        [*command, "models/churn/hokusai.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == example


def test_readme_module_map_names_every_module():
    (tree,) = [b for b in _blocks("text") if b.startswith("hokusai_action/\n")]
    listed = {line.split()[0] for line in tree.splitlines()[1:] if line.strip()}
    package = PROJECT / "hokusai_action"
    for module in package.rglob("*.py"):
        if module.name != "__init__.py" and "history" not in module.parts:
            assert module.name in listed, module.relative_to(PROJECT)
    for folder in (p for p in package.iterdir() if (p / "__init__.py").is_file()):
        assert f"{folder.name}/" in listed, folder.name
