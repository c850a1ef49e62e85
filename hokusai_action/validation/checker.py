"""Validation of a set of manifests: load, schema, rules, cross-file checks, one Result."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from hokusai_action.inert import shown
from hokusai_action.problems import FileResult, Problem, Result, Severity, sort_problems
from hokusai_action.validation.manifest import Manifest, find_manifests, load_manifest
from hokusai_action.validation.rules import Options, check_rules, measurable
from hokusai_action.validation.schema import check_schema


def display_path(path: Path) -> str:
    """How the user wrote it, tidied: `./a/../b/hokusai.yaml` -> `b/hokusai.yaml`."""
    return os.path.normpath(path).replace(os.sep, "/")


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Files named directly are checked whatever their name; directories are searched."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(find_manifests(path))
        elif path.exists():
            files.append(path)
        else:
            problems.append(
                Problem(
                    display_path(path),
                    1,
                    1,
                    Severity.ERROR,
                    "io-error",
                    "no such file or directory",
                )
            )
    # One file named twice (relative and absolute, or through a directory too) counts once.
    unique = {os.path.realpath(f): f for f in reversed(files)}
    return list(reversed(unique.values())), problems


def _repository_of(path: Path) -> Path:
    """The Git work tree that `path` stands in as written, before symlinks are followed (a
    symlinked directory is not a repository of its own); else the directory it stands in."""
    start = Path(os.path.abspath(path)).parent  # noqa: PTH100 - lexical: no symlink followed
    for directory in (start, *start.parents):
        if (directory / ".git").exists() and not directory.is_symlink():
            return directory
    return start


def manifest_outside(path: Path, display: str, options: Options) -> Problem | None:
    """A manifest that resolves outside the repository (a symlink to a file elsewhere, or
    under a symlinked directory) is refused before anything is read from it: its values
    would come from a file the repository does not hold."""
    root = (options.root or _repository_of(path)).resolve()
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop: load_manifest says why
        return None
    if target.is_relative_to(root):
        return None
    via = " through a symlink" if target != Path(os.path.abspath(path)) else ""  # noqa: PTH100
    return Problem(
        display,
        1,
        1,
        Severity.ERROR,
        "manifest-outside",
        f"manifest leads outside the repository ({root}){via}, so it was not read; keep "
        "the manifest itself in the repository (replace the symlink with the file)",
    )


def check_manifest(
    manifest: Manifest, options: Options, loader_problems: Iterable[Problem] = ()
) -> list[Problem]:
    """Schema and rule problems for one parsed manifest. An error from a rule, or from the
    loader, replaces the schema's problem at the same place: it knows more about what the
    user meant. A warning replaces nothing."""
    rule_problems = check_rules(manifest, options)
    covered = {
        p.path
        for p in (*loader_problems, *rule_problems)
        if p.severity is Severity.ERROR and p.path
    }
    schema_problems = [p for p in check_schema(manifest) if p.path not in covered]
    return schema_problems + rule_problems


def check_across(manifests: list[Manifest]) -> list[Problem]:
    """Two manifests registering one model name must agree on its token."""
    problems = []
    first: dict[str, Manifest] = {}
    for m in manifests:
        name, token = m.get("model", "name"), m.get("model", "token_id")
        if not isinstance(name, str) or not isinstance(token, str):
            continue
        earlier = first.setdefault(name, m)
        other = earlier.get("model", "token_id")
        if earlier is not m and other != token:
            at = m.positions.value(("model", "token_id"))
            problems.append(
                Problem(
                    m.file,
                    at.line,
                    at.column,
                    Severity.ERROR,
                    "model-token-conflict",
                    f"model `{shown(name)}` is tied to token `{shown(other)}` in "
                    f"{shown(earlier.file, 200)}, but to `{shown(token)}` here; one registered "
                    "model has one token",
                    ("model", "token_id"),
                )
            )
    return problems


def validate(paths: Iterable[Path], options: Options, *, strict: bool = False) -> Result:
    return check_paths(paths, options, strict=strict)[0]


def check_paths(
    paths: Iterable[Path], options: Options, *, strict: bool = False
) -> tuple[Result, list[Manifest]]:
    """The result of validating `paths`, and the manifests that could be parsed (valid or
    not: callers that act on them look at the result first)."""
    files, missing = collect_files(paths)
    result = Result(strict=strict)
    loaded: list[Manifest] = []
    by_file: dict[str, FileResult] = {}
    for path in files:
        display = display_path(path)
        if outside := manifest_outside(path, display, options):
            by_file[display] = FileResult(display, [outside])
            continue
        manifest, problems = load_manifest(path, display)
        notes = []
        if manifest is not None:
            problems += check_manifest(manifest, options, problems)
            loaded.append(manifest)
            notes = manifest_notes(manifest)
        by_file[display] = FileResult(display, problems, notes)
    for problem in check_across(loaded):
        by_file[problem.file].problems.append(problem)
    for problem in missing:
        by_file.setdefault(problem.file, FileResult(problem.file)).problems.append(problem)
    for file_result in by_file.values():
        file_result.problems = sort_problems(file_result.problems)
        result.files.append(file_result)
    return result, loaded


def manifest_notes(manifest: Manifest) -> list[str]:
    """What registering this manifest will do that a reader may not expect."""
    bench = manifest.data.get("benchmark") if isinstance(manifest.data, dict) else None
    if not isinstance(bench, dict) or "value" in bench or "value_from" in bench:
        return []
    if not measurable(bench):
        return []
    dataset = bench["dataset"]
    on = f"`{shown(dataset['path'])}`" if "path" in dataset else "the benchmark of record's data"
    return [
        f"no claimed value: hokusai-action will measure `{shown(bench.get('metric'))}` at "
        f"registration on {on}, label column `{shown(dataset['target'])}` "
        "(docs/measured-values.md)"
    ]
