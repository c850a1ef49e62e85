"""Which manifests a pull request touches, from the paths GitHub lists as changed.

Pure functions: the listing comes from the client, the manifests from the validator. A
manifest is touched when the pull request changes the manifest itself, anything under its
`model.path`, its `benchmark.value_from.file` or its `benchmark.dataset.path` (a rename
counts under both its old and its new name). GitHub's paths are relative to the repository
root; a manifest's paths are relative to the manifest's directory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from typing import Any

# What a manifest points at, besides itself: the files whose change changes the model's result.
REFERENCES = (
    ("model", "path"),
    ("benchmark", "value_from", "file"),
    ("benchmark", "dataset", "path"),
)


def _normal(path: str) -> str | None:
    """A repository-relative POSIX path, or None when it leaves the repository."""
    normal = posixpath.normpath(path.replace("\\", "/")) if path else ""
    if not normal or normal.startswith("/") or normal == ".." or normal.startswith("../"):
        return None
    return normal


def watched_paths(manifest_path: str, references: Iterable[object]) -> list[str]:
    """The repository-relative paths a manifest depends on: itself and what it references
    (a reference that is not a string, or that leaves the repository, is skipped: validation
    has already refused it)."""
    directory = posixpath.dirname(manifest_path.replace("\\", "/"))
    watched = [p for p in (_normal(manifest_path),) if p]
    for ref in references:
        if isinstance(ref, str) and ref:
            joined = _normal(posixpath.join(directory, ref))
            if joined is not None:
                watched.append(joined)
    return watched


def is_touched(manifest_path: str, references: Iterable[object], changed: Iterable[str]) -> bool:
    """True when a changed path is the manifest, one of its referenced files, or lies under
    one of its referenced directories (`.` is the whole repository)."""
    watched = watched_paths(manifest_path, references)
    for path in changed:
        normal = _normal(path)
        if normal is None:
            continue
        for w in watched:
            if w == "." or normal == w or normal.startswith(w + "/"):
                return True
    return False


def references_of(manifest: Any) -> list[object]:
    """The manifest's referenced paths, as written (a validated Manifest's `get`)."""
    return [manifest.get(*path) for path in REFERENCES]


def split_touched(
    manifests: Sequence[Any], changed: Iterable[str], manifest_path: Any
) -> tuple[list[Any], list[Any]]:
    """(touched, untouched) manifests, in their order; `manifest_path(m)` gives a manifest's
    repository-relative path."""
    changed = frozenset(changed)
    touched: list[Any] = []
    untouched: list[Any] = []
    for m in manifests:
        hit = is_touched(manifest_path(m), references_of(m), changed)
        (touched if hit else untouched).append(m)
    return touched, untouched


def model_name(manifest: Any) -> str | None:
    """The manifest's model name, or None when it has none (or not a string)."""
    name = manifest.get("model", "name")
    return name if isinstance(name, str) else None
