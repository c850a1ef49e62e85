"""Semantic checks that a JSON Schema cannot express, each yielding Problem values.

A rule that finds something wrong at a JSON path also speaks for that path: the validator
drops schema problems at the same path, since the rule's message is the more helpful one.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hokusai_action.inert import shown
from hokusai_action.problems import JsonPath, Problem, Severity
from hokusai_action.validation import metrics
from hokusai_action.validation.eip55 import ADDRESS, has_valid_checksum
from hokusai_action.validation.lfs import lfs_message, lfs_pointers
from hokusai_action.validation.manifest import (
    Manifest,
    ValueFromError,
    is_finite_number,
    read_value_from,
)
from hokusai_action.validation.schema import load_schema

# The schema's own patterns, so the rules and check-jsonschema users agree on what is valid.
TOKEN_ID = re.compile(load_schema()["$defs"]["tokenId"]["pattern"])
TOKEN_ID_MAX = load_schema()["$defs"]["tokenId"]["maxLength"]
SEMVER = re.compile(load_schema()["$defs"]["semver"]["pattern"])
# Flavors MLflow saves with `mlflow.<flavor>.save_model`; `file` registers files as they are.
FLAVORS = frozenset(load_schema()["properties"]["model"]["properties"]["flavor"]["enum"]) - {"file"}
# Tags hokusai-action writes itself on registered versions and runs.
RESERVED_TAGS = frozenset(
    {
        "hokusai_token_id",
        "benchmark_metric",
        "benchmark_value",
        "deltaone_achieved",
        "delta",
        "baseline_version",
    }
)
RESERVED_TAG_PREFIXES = ("mlflow.", "hokusai.", "hokusai_")
# The embedded registry's folder at the repository root (registry.settings.EMBEDDED_DIR, which
# cannot be imported here: settings imports this module).
REGISTRY_DIR = ".hokusai"


@dataclass(frozen=True, slots=True)
class Options:
    """What the caller decides: the CLI and the hook differ only here."""

    missing_paths: Severity | None = Severity.ERROR  # None: ignore missing model files
    max_model_bytes: int = 100 * 1000 * 1000  # the Hokusai seed's upload limit: 100 MB
    root: Path | None = None  # the repository; found from .git when not given
    registering: bool = False  # register/compare: the model files themselves are needed
    missing_paths_fix: str = "pass --missing-paths=warn"  # the action says its input instead


class _Finder:
    """Builds problems located in one manifest."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def __call__(
        self,
        path: JsonPath,
        rule: str,
        message: str,
        severity: Severity = Severity.ERROR,
        *,
        at_key: bool = False,
    ) -> Problem:
        positions = self.manifest.positions
        at = positions.key(path) if at_key else positions.value(path)
        return Problem(self.manifest.file, at.line, at.column, severity, rule, message, path)


Rule = Callable[[Manifest, Options], Iterator[Problem]]


# -- token ------------------------------------------------------------------------------
def suggest_token_id(value: str) -> str | None:
    """`model_001` -> `MODEL-001`, `img detect` -> `IMG-DETECT`; None when nothing fits."""
    if re.search(r"[^A-Za-z0-9_\-.\s/]", value):
        return None  # dropping other characters could change the token's meaning
    candidate = re.sub(r"[^A-Z0-9]+", "-", value.strip().upper()).strip("-")
    if candidate and not candidate[0].isalpha():
        return None
    if TOKEN_ID.search(candidate) and len(candidate) <= TOKEN_ID_MAX:
        return candidate
    return None


def token_id_problem(value: str) -> str | None:
    """Why `value` is not a token ID, with the fix when one is obvious; None when valid."""
    if TOKEN_ID.search(value) and len(value) <= TOKEN_ID_MAX:
        return None
    if len(value) > TOKEN_ID_MAX:
        return f"token ID is {len(value)} characters long; the limit is {TOKEN_ID_MAX}"
    if value != value.rstrip("\r\n"):
        why = "ends with a line break (a `|` block scalar adds one; use a plain value)"
    elif value != value.strip():
        why = "has leading or trailing spaces"
    elif value and not value[0].isalpha():
        why = "must start with a letter"
    elif "--" in value or value.startswith("-") or value.endswith("-"):
        why = "hyphens may only join groups: no leading, trailing or double hyphens"
    elif value != value.upper():
        why = "must be uppercase"
    else:
        why = "may hold only uppercase letters, digits and single hyphens between groups"
    message = f"invalid token ID '{shown(value)}': {why}"
    suggestion = suggest_token_id(value)
    return f"{message}; did you mean `{suggestion}`?" if suggestion else message


def check_token_id(m: Manifest, options: Options) -> Iterator[Problem]:
    value = m.get("model", "token_id")
    if isinstance(value, str) and (why := token_id_problem(value)):
        yield _Finder(m)(("model", "token_id"), "token-id", why)


# -- model name -------------------------------------------------------------------------
# Registered models named so are registration locks (registry/lock.py), never models.
RESERVED_MODEL_PREFIX = "hokusai-lock."


def model_name_problem(name: str) -> str | None:
    """Why MLflow's registry would refuse `name`, which the schema's pattern lets through; None
    when it takes it. MLflow also stores names as file names: `.`, `..` and `..x` it refuses
    (its own path test), and so a name of only (Unicode) spaces. Quotes and backslashes are
    fine: the registry searches them without a filter literal (see registry/mlflow_store.py)."""
    if not name.strip():
        return "model name is blank: MLflow's registry refuses it; write a name such as `churn`"
    if _path_not_unique(name):
        return (
            f"model name `{name}` reads as a path to MLflow, which refuses `.`, `..` and names "
            f"starting with `..`; write a name such as `{name.lstrip('.') or 'model'}`"
        )
    return None


def check_model_name(m: Manifest, options: Options) -> Iterator[Problem]:
    name = m.get("model", "name")
    if not isinstance(name, str) or not name:
        return
    if why := model_name_problem(name):
        yield _Finder(m)(("model", "name"), "model-name", why)
    if name.lower().startswith(RESERVED_MODEL_PREFIX):
        yield _Finder(m)(
            ("model", "name"),
            "model-name-reserved",
            f"model names starting with `{RESERVED_MODEL_PREFIX}` are reserved for "
            "hokusai-action's registration locks; pick another name",
        )


# -- metrics ----------------------------------------------------------------------------
def _metric_value_problem(name: str, metric: metrics.Metric, value: Any) -> str | None:
    if not is_finite_number(value):
        return None  # the schema reports wrong types, check_finite_numbers the rest
    if metric.minimum <= value <= metric.maximum:
        return None
    message = f"`{shown(name)}` must be within {metric.range_text()}, not {value:g}"
    if metric.is_proportion and 5 <= value <= 100:
        message += f"; if this is a percentage, write it as a fraction: {value / 100:g}"
    elif value < metric.minimum and metric.minimum == 0:
        message += f" ({shown(name)} is never negative)"
    return message


def check_metrics(m: Manifest, options: Options) -> Iterator[Problem]:
    at = _Finder(m)
    declared = m.get("custom_metrics") or {}
    custom = metrics.custom_metrics(declared)
    for name, metric in custom.items():
        if metrics.lookup(name).metric is not None:
            yield at(
                ("custom_metrics", name),
                "metric-custom",
                f"`{shown(name)}` is already in the "
                "metric catalogue; remove it from `custom_metrics` or pick another name",
                at_key=True,
            )
        if metric.minimum > metric.maximum:
            yield at(
                ("custom_metrics", name, "min"),
                "metric-custom",
                f"`min` ({metric.minimum:g}) is greater than `max` ({metric.maximum:g})",
            )

    # (where the name is, the name, [(where a value is, the value)])
    entries: list[tuple[JsonPath, str, list[tuple[JsonPath, Any]]]] = []
    benchmark_name = m.get("benchmark", "metric")
    if isinstance(benchmark_name, str):
        values = [
            (p, m.get(*p)) for p in (("benchmark", "value"), ("benchmark", "baseline", "value"))
        ]
        entries.append((("benchmark", "metric"), benchmark_name, values))
    extra = m.get("metrics")
    if isinstance(extra, dict):
        entries += [(("metrics", k), k, [(("metrics", k), v)]) for k, v in extra.items()]

    for name_path, name, values in entries:
        at_key = name_path[0] == "metrics"
        found = metrics.lookup(name, custom)
        if found.metric is None and name in declared:
            continue  # declared, but wrongly: the schema says how
        if found.metric is None:
            then = f"{found.suggestion} Or declare" if found.suggestion else "; declare"
            yield at(name_path, "metric-unknown",
                     f"unknown metric `{shown(name)}`{then} a metric of your own under "
                     "`custom_metrics` with its direction", at_key=at_key)  # fmt: skip
            continue
        if found.alias_of:
            yield at(name_path, "metric-alias",
                     f"`{shown(name)}` is an alias: write `{found.alias_of}`, the name the "
                     "registry records", Severity.WARNING, at_key=at_key)  # fmt: skip
        for value_path, value in values:
            if value is not None and (why := _metric_value_problem(name, found.metric, value)):
                yield at(value_path, "metric-value", why)

    value = m.get("benchmark", "value")
    if isinstance(benchmark_name, str) and isinstance(extra, dict) and is_finite_number(value):
        canonical = _canonical(benchmark_name, custom)
        for name, other in extra.items():
            if _canonical(name, custom) == canonical and other != value:
                yield at(("metrics", name), "metric-conflict",
                         f"`metrics.{shown(name)}` ({shown(other)}) differs from the benchmark "
                         f"value ({value}); keep one of them", Severity.WARNING)  # fmt: skip


def _canonical(name: str, custom: dict[str, metrics.Metric]) -> str:
    found = metrics.lookup(name, custom)
    return found.alias_of or name


def check_finite_numbers(m: Manifest, options: Options) -> Iterator[Problem]:
    """NaN and infinity pass a JSON Schema (YAML has them, JSON does not); MLflow and the
    DeltaOne arithmetic cannot use them."""

    def walk(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, Any]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, (*path, i))
        elif type(node) in (int, float) and not is_finite_number(node):
            yield path, node

    at = _Finder(m)
    for path, value in walk(m.data, ()):
        text = str(value) if isinstance(value, float) else f"{str(value)[:12]}... (too large)"
        yield at(
            path, "number-not-finite", f"`{shown(path[-1])}` must be a finite number, not {text}"
        )


def check_benchmark_value(m: Manifest, options: Options) -> Iterator[Problem]:
    benchmark = m.get("benchmark")
    if not isinstance(benchmark, dict):
        return
    has_value, has_from = "value" in benchmark, "value_from" in benchmark
    if has_value and has_from:
        message = "set either `value` or `value_from` in `benchmark`, not both"
    elif not has_value and not has_from and not measurable(benchmark):
        message = (
            "missing the benchmark value: add `value: <number>`, or `value_from: "
            "{file: ..., key: ...}` to read it from your evaluation output, or give "
            "`dataset: {path: ..., target: <label column>}` to have hokusai-action measure it"
        )
    else:
        return
    yield _Finder(m)(("benchmark",), "benchmark-value", message, at_key=True)


def measurable(benchmark: Mapping[str, Any]) -> bool:
    """Whether a benchmark asks to be measured: it names the label column (`target`); the
    data is its `path`, or the benchmark of record's (which may be kept where pull requests
    cannot read it)."""
    dataset = benchmark.get("dataset")
    return isinstance(dataset, dict) and "target" in dataset


# -- tags and params ----------------------------------------------------------------------
def check_tags(m: Manifest, options: Options) -> Iterator[Problem]:
    at = _Finder(m)
    for section in ("tags", "params"):
        entries = m.get(section)
        if not isinstance(entries, dict):
            continue
        for key in entries:
            path = (section, key)
            if section == "tags" and (
                key in RESERVED_TAGS or key.startswith(RESERVED_TAG_PREFIXES)
            ):
                yield at(
                    path,
                    "tag-reserved",
                    f"tag `{shown(key)}` is reserved: hokusai-action writes "
                    "it from the manifest itself; remove it or rename it",
                    at_key=True,
                )
            elif _path_not_unique(key):
                yield at(path, "tag-key", f"key `{shown(key)}` looks like a path MLflow refuses: "
                         "no leading `/`, no `.` or `..` segments, no empty or trailing segments",
                         at_key=True)  # fmt: skip


def _path_not_unique(key: str) -> bool:
    """MLflow's own test for keys that would not name one file in its stores."""
    norm = posixpath.normpath(key)
    return norm != key or norm == "." or norm.startswith(("..", "/"))


# -- paths ------------------------------------------------------------------------------
def find_root(start: Path) -> Path:
    """The enclosing Git work tree, or `start` itself outside one."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def _outside(path: Path, root: Path) -> Path | None:
    """The first file or directory at or below `path` that resolves outside `root`."""
    if not path.resolve().is_relative_to(root):
        return path
    if path.is_dir():
        for directory, subdirs, files in os.walk(path):
            for name in [*subdirs, *files]:
                entry = Path(directory) / name
                if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                    return entry
    return None


_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def special_kind(path: Path) -> str | None:
    """What `path` is when it is neither a regular file nor a directory (following symlinks);
    None otherwise, and for a dangling symlink. Only stat is used: opening a FIFO blocks until
    a writer comes, which may be never."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file or directory")


def special_file(path: Path) -> tuple[Path, str] | None:
    """The first entry at or below `path` that is a FIFO, socket or device, and what it is."""
    if kind := special_kind(path):
        return path, kind
    if path.is_dir():
        for directory, subdirs, files in sorted(os.walk(path)):
            for name in sorted([*subdirs, *files]):
                entry = Path(directory) / name
                if kind := special_kind(entry):
                    return entry, kind
    return None


def special_file_message(what: str, value: str, found: tuple[Path, str], top: Path) -> str:
    """Why a special file cannot be used, and the fix: shared by validation and `register`."""
    entry, kind = found
    where = "is" if entry == top else f"holds `{entry.relative_to(top).as_posix()}`, which is"
    return (
        f"{what} path `{value}` {where} {kind}, not a regular file or directory: reading it "
        "could block for good; remove it, or point the path at regular files only"
    )


def _reserved_place(resolved: Path, root: Path) -> tuple[str, str] | None:
    """(rule, where) when a resolved path is the root, or is or lies in `.git` or the registry:
    `where` reads after "is" or "a symlink to"."""
    if resolved == root:
        return "path-root", "the repository root, where `.git` and the registry's folder live"
    for name, rule, place in (
        (".git", "path-git", "Git's folder `.git`"),
        (REGISTRY_DIR, "path-registry", f"the embedded registry's folder `{REGISTRY_DIR}`"),
    ):
        if resolved == root / name:
            return rule, place
        if resolved.is_relative_to(root / name):
            return rule, f"a place inside {place}"
        # a nested clone's `.git` (actions/checkout with `path:` keeps its token there too)
        parts = resolved.relative_to(root).parts if resolved.is_relative_to(root) else ()
        if name in parts:
            nested = Path(*parts[: parts.index(name) + 1]).as_posix()
            kind = "a nested clone's Git folder" if name == ".git" else "a registry's folder"
            return rule, f"a place inside `{nested}`, {kind}"
    return None


def reserved_problem(target: Path, root: Path) -> tuple[str, str] | None:
    """(rule, why) when `target` is the repository root, lies inside `.git` or the embedded
    registry's folder, or holds either (also through a symlink). Uploading those would publish
    Git's config (where actions/checkout keeps its token) or copy the registry into itself.
    `target` must already be known to stay inside `root` (see `_outside`)."""
    if found := _reserved_place(target.resolve(), root):
        return found[0], f"is {found[1]}"
    if not target.is_dir():
        return None
    for directory, subdirs, files in sorted(os.walk(target)):
        for name in sorted([*subdirs, *files]):
            entry = Path(directory) / name
            rel = entry.relative_to(target).as_posix()
            if name == ".git":
                return "path-git", f"holds `{rel}`, Git's data (its config may hold a token)"
            if name == REGISTRY_DIR:
                return "path-registry", f"holds `{rel}`, a registry's folder"
            if entry.is_symlink() and (found := _reserved_place(entry.resolve(), root)):
                return found[0], f"holds `{rel}`, a symlink to {found[1]}"
    return None


def _size(path: Path) -> int:
    """Bytes in a file or directory tree (symlinks are not followed: they stay inside)."""
    if path.is_file():
        return path.stat().st_size
    return sum((Path(d) / f).lstat().st_size for d, _, files in os.walk(path) for f in files)


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_paths(m: Manifest, options: Options) -> Iterator[Problem]:
    at = _Finder(m)
    root = options.root.resolve() if options.root else find_root(m.directory)  # resolved
    for path, what in (
        (("model", "path"), "model"),
        (("benchmark", "value_from", "file"), "metrics file"),
        (("benchmark", "dataset", "path"), "dataset"),
    ):
        value = m.get(*path)
        if not isinstance(value, str) or not value:
            continue
        try:
            yield from _check_path(at, path, what, value, m, root, options)
        except (OSError, ValueError) as e:  # NUL bytes, names too long, permissions
            why = e.strerror if isinstance(e, OSError) and e.strerror else shown(e)
            yield at(path, "path-invalid", f"{what} path `{shown(value)}` cannot be used: {why}")


def _check_path(
    at: _Finder, path: JsonPath, what: str, value: str, m: Manifest, root: Path, options: Options
) -> Iterator[Problem]:
    v = shown(value)  # as the messages quote it
    if Path(value).is_absolute() or re.match(r"[A-Za-z]:|\\\\", value):
        yield at(path, "path-absolute", f"{what} path `{v}` is absolute; write it relative "
                 "to this manifest, so it works in every clone")  # fmt: skip
        return
    if "\\" in value:
        fixed = value.replace("\\", "/")
        yield at(path, "path-separator", f"{what} path `{v}` uses `\\`; write `/` "
                 f"(`{shown(fixed)}`), which works on every runner")  # fmt: skip
        return
    target = m.directory / value
    try:
        escaped = _outside(target, root)
    except RuntimeError as e:  # a symlink loop
        yield at(path, "path-outside", f"{what} path `{v}` cannot be resolved: {shown(e)}")
        return
    if escaped is not None:
        how = (
            "leads"
            if escaped == target
            else f"holds `{shown(escaped.relative_to(target))}`, which leads"
        )
        via = " through a symlink" if ".." not in Path(value).parts else ""
        yield at(path, "path-outside", f"{what} path `{v}` {how} outside the repository"
                 f"{via} ({root}); keep model files inside it")  # fmt: skip
        return
    if reserved := check_reserved(at, path, what, value, target, root):
        yield reserved
        return
    if not target.exists():
        if options.missing_paths is not None:
            if options.missing_paths is not Severity.ERROR:
                fix = ""
            elif options.registering:  # no --missing-paths here: the files must be there
                fix = "; build it (or check it out) before registering or comparing"
            else:
                fix = f"; build it first, or {options.missing_paths_fix} when it is built in CI"

            yield at(path, "path-missing", f"{what} path `{v}` does not exist (looked for "
                     f"{shown(target, 200)}){fix}", options.missing_paths)  # fmt: skip
        return
    if special := check_special(at, path, what, value, target):
        yield special
        return
    if what == "model" and (pointers := lfs_pointers(target)):
        yield at(path, "model-lfs-pointer", lfs_message(value, target, pointers),
                 Severity.ERROR if options.registering else Severity.WARNING)  # fmt: skip
    if what == "model" and (size := _size(target)) > options.max_model_bytes:
        yield at(path, "model-size", f"model at `{v}` is {_human(size)}, over the "
                 f"{_human(options.max_model_bytes)} limit; shrink it (quantise, prune, "
                 "compress) or keep files not needed to load it out of this path",
                 Severity.WARNING)  # fmt: skip
    if what == "model" and (found := not_mlflow_model(m.get("model", "flavor"), value, target)):
        # Registering it would succeed and record its value, yet loading it back would fail:
        # refused where it would be registered or compared, a warning for validate.
        flavor = shown(m.get("model", "flavor"))
        why = (f"a `flavor: {flavor}` version registered from it could not be loaded back with "
               "`mlflow.pyfunc.load_model`" if options.registering else "MLflow registers it "
               "as plain files, which `mlflow.pyfunc.load_model` cannot load")  # fmt: skip
        yield at(path, "model-not-mlflow", f"{found[0]}: {why}; save the model with "
                 f"`{found[1]}` and point `model.path` at that directory, or set `flavor: file` "
                 "to register the files as they are",
                 Severity.ERROR if options.registering else Severity.WARNING)  # fmt: skip
    if what == "metrics file":
        yield from _check_value_from(m, target.resolve())


def save_model_call(flavor: str, value: str, is_file: bool) -> str:
    """The call that saves a model as an MLflow model directory for `flavor`, e.g.
    `mlflow.sklearn.save_model(model, "models/churn")` for `models/churn.pkl`."""
    directory = value.rstrip("/")
    if is_file:
        stem = posixpath.splitext(directory)[0]
        directory = stem if stem and stem != directory else f"{directory}-mlflow"
    target = shown(json.dumps(directory, ensure_ascii=False))  # a string literal, quotes escaped
    if flavor == "pyfunc":
        return f"mlflow.pyfunc.save_model({target}, python_model=model)"
    return f"mlflow.{flavor}.save_model(model, {target})"


def not_mlflow_model(flavor: Any, value: str, target: Path) -> tuple[str, str] | None:
    """(what is wrong, the `save_model` call that fixes it) when a model with a flavor has no
    `MLmodel` file: MLflow registers it as plain files, which will not load after registration.
    None for `flavor: file` and for MLflow models."""
    if not isinstance(flavor, str) or flavor not in FLAVORS or (target / "MLmodel").is_file():
        return None
    is_file = target.is_file()
    what = "is a bare file with no `MLmodel`" if is_file else "holds no `MLmodel` file"
    return f"model path `{shown(value)}` {what}", save_model_call(flavor, value, is_file)


def check_reserved(
    at: _Finder, path: JsonPath, what: str, value: str, target: Path, root: Path
) -> Problem | None:
    """`path-root`, `path-git`, `path-registry`: the value at `path` (already known to stay
    inside `root`) names the repository root, `.git` or the registry, or holds them."""
    if (found := reserved_problem(target, root)) is None:
        return None
    rule, why = found
    key = ".".join(str(part) for part in path)
    own = "the model's own directory or file" if what == "model" else f"the {what} itself"
    return at(path, rule, f"{what} path `{value}` {why}; point `{key}` at {own}, which "
              f"holds neither `.git` nor `{REGISTRY_DIR}`")  # fmt: skip


def check_special(
    at: _Finder, path: JsonPath, what: str, value: str, target: Path
) -> Problem | None:
    """`path-special`: the value at `path` is, or holds, a FIFO, socket or device. Found with
    stat alone, so a FIFO is never opened (opening one blocks until a writer comes)."""
    if (found := special_file(target)) is None:
        return None
    return at(path, "path-special", special_file_message(what, value, found, target))


def _check_value_from(m: Manifest, file: Path) -> Iterator[Problem]:
    key = m.get("benchmark", "value_from", "key")
    name = m.get("benchmark", "metric")
    if not isinstance(key, str):
        return
    at = _Finder(m)
    key_path = ("benchmark", "value_from", "key")
    try:
        value = read_value_from(file, key)
    except ValueFromError as e:
        yield at(key_path, "value-from", str(e))
        return
    if type(value) in (int, float) and not is_finite_number(value):
        said = str(value) if isinstance(value, float) else f"{str(value)[:12]}... (too large)"
        where = f"`{shown(key)}` in `{shown(file.name)}`"
        yield at(key_path, "number-not-finite", f"{where} must be a finite number, not {said}")
        return
    if not is_finite_number(value):
        yield at(key_path, "value-from", f"`{shown(key)}` in `{shown(file.name)}` is "
                 f"{shown(repr(value))}, not a finite number")  # fmt: skip
        return
    found = (
        metrics.lookup(name, metrics.custom_metrics(m.get("custom_metrics")))
        if isinstance(name, str)
        else None
    )
    if found and found.metric and (why := _metric_value_problem(name, found.metric, value)):
        yield at(key_path, "metric-value", f"{why} (read from `{shown(file.name)}`)")


# -- contribution, versions, A/B test ------------------------------------------------------
def check_contribution(m: Manifest, options: Options) -> Iterator[Problem]:
    address = m.get("contribution", "contributor_address")
    if isinstance(address, str) and ADDRESS.fullmatch(address) and not has_valid_checksum(address):
        yield _Finder(m)(
            ("contribution", "contributor_address"),
            "address-checksum",
            f"address {shown(address)} has mixed case but fails its EIP-55 checksum: it "
            "is probably mistyped; copy it again from the wallet",
        )


def check_version(m: Manifest, options: Options) -> Iterator[Problem]:
    value = m.get("model", "version")
    if isinstance(value, str) and not SEMVER.search(value):
        parts = value.lstrip("vV").split(".")
        hint = ""
        if all(re.fullmatch("[0-9]+", p) for p in parts) and 1 <= len(parts) <= 3:
            padded = [str(int(p)) for p in parts] + ["0"] * (3 - len(parts))
            hint = f"; did you mean `{'.'.join(padded)}`?"
        yield _Finder(m)(
            ("model", "version"),
            "semver",
            f"model version `{shown(value)}` is not semantic versioning "
            f"(MAJOR.MINOR.PATCH, e.g. `1.1.0`){hint}",
        )


def check_traffic_split(m: Manifest, options: Options) -> Iterator[Problem]:
    split = m.get("ab_test", "traffic_split")
    if not isinstance(split, dict):
        return
    shares = [split.get("baseline"), split.get("candidate")]
    if all(is_finite_number(s) and 0 <= s <= 1 for s in shares):
        total = sum(shares)  # type: ignore[arg-type]
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            yield _Finder(m)(
                ("ab_test", "traffic_split"),
                "traffic-split",
                f"traffic shares add up to {total:g}; they must sum to 1 "
                f"(e.g. baseline {1 - shares[1]:g}, candidate {shares[1]:g})",
            )


RULES: tuple[Rule, ...] = (
    check_token_id,
    check_model_name,
    check_finite_numbers,
    check_benchmark_value,
    check_metrics,
    check_tags,
    check_paths,
    check_contribution,
    check_version,
    check_traffic_split,
)


def check_rules(m: Manifest, options: Options) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(m, options)]
