"""The README's promises, and those of the docs pages the reference moved to: the commands are
the ones CI runs, the example manifest is valid, the example output is real."""

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
DOCS = PROJECT / "docs"


def _blocks(language: str, page: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page, flags=re.S)


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_readme_is_read_in_ten_minutes():
    assert len(README.splitlines()) <= 300


def test_readme_activates_the_venv_before_bare_commands():
    blocks = [m.start() for m in re.finditer(r"```sh\n(?:hokusai-action|python) ", README)]
    assert blocks, "the README shows bare commands"
    assert README.index("```sh\nsource .venv/bin/activate\n```") < min(blocks)


def test_no_page_shows_the_deprecated_lineage_form():
    for text in [README, *(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))]:
        assert not re.search(r"lineage [A-Z]", text)


def test_no_page_lists_the_file_scheme_mlflow_3_refuses():
    for text in [README, *(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))]:
        assert "`databricks`, `file`" not in text
        assert "file:///PATH" not in text


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = next(b.strip() for b in _blocks("sh") if "pytest" in b)
    assert test_command in (PROJECT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_main_command_installs_and_runs_the_demo():
    """The first command: a fresh install, then the demo (tests/integration/test_demo.py runs
    it and keeps the README's copy of its output equal to it)."""
    main_command = next(b.strip() for b in _blocks("sh") if "'.[registry,measure]'" in b)
    assert main_command.startswith("python3 -m venv .venv")
    assert main_command.endswith("&& .venv/bin/hokusai-action demo")


def _examples_command() -> str:
    block = next(b for b in _blocks("sh", _page("commands.md")) if "register examples" in b)
    return next(line for line in block.splitlines() if "register examples" in line).strip()


def test_docs_register_command_prints_comments_instead_of_posting():
    assert _examples_command().endswith(
        "--format markdown"
    )  # the comment, printed instead of posted


def test_docs_manifest_example_is_valid(tmp_path):
    blocks = _blocks("yaml", _page("manifest.md"))
    (example,) = [b for b in blocks if b.startswith("# yaml-language-server")]
    (tmp_path / "hokusai.yaml").write_text(example, encoding="utf-8")
    result = validate([tmp_path / "hokusai.yaml"], Options(missing_paths=None, root=tmp_path))
    assert result.problems == []


def test_docs_name_every_example_directory():
    manifest = _page("manifest.md")
    for example in sorted(p for p in (PROJECT / "examples").iterdir() if p.is_dir()):
        assert f"`{example.name}`" in manifest
    assert "python examples/build_models.py" in manifest  # how the example models are rebuilt


def test_docs_examples_job_runs_on_a_copy_of_the_examples(tmp_path):
    job = _examples_command().split()
    assert job[0] == "hokusai-action"
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


def test_docs_syntax_error_example_is_the_real_output(tmp_path):
    (example,) = [b for b in _blocks("text", _page("commands.md")) if "[yaml-syntax]" in b]
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


def test_docs_module_map_names_every_module():
    (tree,) = [
        b for b in _blocks("text", _page("development.md")) if b.startswith("hokusai_action/\n")
    ]
    listed = {line.split()[0] for line in tree.splitlines()[1:] if line.strip()}
    package = PROJECT / "hokusai_action"
    for module in package.rglob("*.py"):
        if module.name != "__init__.py" and "history" not in module.parts:
            assert module.name in listed, module.relative_to(PROJECT)
    for folder in (p for p in package.iterdir() if (p / "__init__.py").is_file()):
        assert f"{folder.name}/" in listed, folder.name
