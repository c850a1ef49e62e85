"""Semantic checks that a JSON Schema cannot express, each yielding Problem values.

A rule that finds something wrong at a JSON path also speaks for that path: the validator
drops schema problems at the same path, since the rule's message is the more helpful one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hokusai_action import metrics
from hokusai_action.eip55 import ADDRESS, has_valid_checksum
from hokusai_action.manifest import (
    Manifest,
    ValueFromError,
    is_finite_number,
    read_value_from,
)
from hokusai_action.problems import JsonPath, Problem, Severity

TOKEN_ID = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
TOKEN_ID_MAX = 64
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
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
DEFAULT_MAX_MODEL_BYTES = 100 * 1000 * 1000  # the Hokusai seed's upload limit: 100 MB


@dataclass(frozen=True, slots=True)
class Options:
    """What the caller decides: the CLI and the hook differ only here."""

    missing_paths: Severity | None = Severity.ERROR  # None: ignore missing model files
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES
    root: Path | None = None  # the repository; found from .git when not given


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
    if TOKEN_ID.fullmatch(candidate) and len(candidate) <= TOKEN_ID_MAX:
        return candidate
    return None


def token_id_problem(value: str) -> str | None:
    """Why `value` is not a token ID, with the fix when one is obvious; None when valid."""
    if TOKEN_ID.fullmatch(value) and len(value) <= TOKEN_ID_MAX:
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
    message = f"invalid token ID {value!r}: {why}"
    suggestion = suggest_token_id(value)
    return f"{message}; did you mean `{suggestion}`?" if suggestion else message


def check_token_id(m: Manifest, options: Options) -> Iterator[Problem]:
    value = m.get("model", "token_id")
    if isinstance(value, str) and (why := token_id_problem(value)):
        yield _Finder(m)(("model", "token_id"), "token-id", why)


# -- metrics ----------------------------------------------------------------------------
def _metric_value_problem(name: str, metric: metrics.Metric, value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"`{name}` must be a finite number, not {value}"
    if not is_finite_number(value):
        return None  # the schema reports wrong types
    if metric.minimum <= value <= metric.maximum:
        return None
    message = f"`{name}` must be within {metric.range_text()}, not {value:g}"
    if metric.is_proportion and 5 <= value <= 100:
        message += f"; if this is a percentage, write it as a fraction: {value / 100:g}"
    elif value < metric.minimum and metric.minimum == 0:
        message += f" ({name} is never negative)"
    return message


def check_metrics(m: Manifest, options: Options) -> Iterator[Problem]:
    at = _Finder(m)
    custom = metrics.custom_metrics(m.get("custom_metrics"))
    for name, metric in custom.items():
        if metrics.lookup(name).metric is not None:
            yield at(
                ("custom_metrics", name),
                "metric-custom",
                f"`{name}` is already in the "
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
        if found.metric is None:
            then = f"{found.suggestion} Or declare" if found.suggestion else "; declare"
            yield at(name_path, "metric-unknown",
                     f"unknown metric `{name}`{then} a metric of your own under "
                     "`custom_metrics` with its direction", at_key=at_key)  # fmt: skip
            continue
        if found.alias_of:
            yield at(name_path, "metric-alias",
                     f"`{name}` is an alias: write `{found.alias_of}`, the name the registry "
                     "records", Severity.WARNING, at_key=at_key)  # fmt: skip
        for value_path, value in values:
            if value is not None and (why := _metric_value_problem(name, found.metric, value)):
                yield at(value_path, "metric-value", why)

    if isinstance(benchmark_name, str) and isinstance(extra, dict) and benchmark_name in extra:
        value = m.get("benchmark", "value")
        if is_finite_number(value) and extra[benchmark_name] != value:
            yield at(
                ("metrics", benchmark_name),
                "metric-conflict",
                f"`metrics.{benchmark_name}` ({extra[benchmark_name]}) differs from the "
                f"benchmark value ({value}); keep one of them",
                Severity.WARNING,
            )


def check_benchmark_value(m: Manifest, options: Options) -> Iterator[Problem]:
    benchmark = m.get("benchmark")
    if not isinstance(benchmark, dict):
        return
    has_value, has_from = "value" in benchmark, "value_from" in benchmark
    if has_value == has_from:
        message = (
            "set either `value` or `value_from` in `benchmark`, not both"
            if has_value
            else "missing the benchmark value: add `value: <number>`, or `value_from: "
            "{file: ..., key: ...}` to read it from your evaluation output"
        )
        yield _Finder(m)(("benchmark",), "benchmark-value", message, at_key=True)


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
                    f"tag `{key}` is reserved: hokusai-action writes "
                    "it from the manifest itself; remove it or rename it",
                    at_key=True,
                )
            elif key.startswith("/") or key in (".", "..") or ".." in key.split("/") or "/." in key:
                yield at(
                    path,
                    "tag-key",
                    f"key `{key}` looks like a path MLflow refuses: no "
                    "leading `/`, and no `.` or `..` segments",
                    at_key=True,
                )


# -- paths ------------------------------------------------------------------------------
def find_root(start: Path) -> Path:
    """The enclosing Git work tree, or `start` itself outside one."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            file = Path(directory) / name
            if file.is_file():
                total += file.stat().st_size
    return total


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_paths(m: Manifest, options: Options) -> Iterator[Problem]:
    at = _Finder(m)
    root = (options.root or find_root(m.directory)).resolve()
    for path, what in (
        (("model", "path"), "model"),
        (("benchmark", "value_from", "file"), "metrics file"),
    ):
        value = m.get(*path)
        if not isinstance(value, str) or not value:
            continue
        if Path(value).is_absolute() or re.match(r"[A-Za-z]:[\\/]", value):
            yield at(
                path,
                "path-absolute",
                f"{what} path `{value}` is absolute; write it "
                "relative to this manifest, so it works in every clone",
            )
            continue
        target = m.directory / value
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError) as e:  # a symlink loop
            yield at(path, "path-outside", f"{what} path `{value}` cannot be resolved: {e}")
            continue
        if not resolved.is_relative_to(root):
            via = " through a symlink" if ".." not in Path(value).parts else ""
            yield at(
                path,
                "path-outside",
                f"{what} path `{value}` leads outside the "
                f"repository{via} ({root}); keep model files inside it",
            )
            continue
        if not resolved.exists():
            if options.missing_paths is not None:
                fix = (
                    "; build it first, or pass --missing-paths=warn when it is built in CI"
                    if options.missing_paths is Severity.ERROR
                    else ""
                )
                yield at(
                    path,
                    "path-missing",
                    f"{what} path `{value}` does not exist (looked for {target}){fix}",
                    options.missing_paths,
                )
            continue
        if what == "model" and (size := _size(resolved)) > options.max_model_bytes:
            yield at(
                path,
                "model-size",
                f"model at `{value}` is {_human(size)}, over the "
                f"{_human(options.max_model_bytes)} limit; shrink it (quantise, prune, "
                "compress) or register a URI to it",
                Severity.WARNING,
            )
        if what == "metrics file":
            yield from _check_value_from(m, resolved)


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
    if not is_finite_number(value):
        yield at(
            key_path, "value-from", f"`{key}` in `{file.name}` is {value!r}, not a finite number"
        )
        return
    found = (
        metrics.lookup(name, metrics.custom_metrics(m.get("custom_metrics")))
        if isinstance(name, str)
        else None
    )
    if found and found.metric and (why := _metric_value_problem(name, found.metric, value)):
        yield at(key_path, "metric-value", f"{why} (read from `{file.name}`)")


# -- contribution, versions, A/B test ------------------------------------------------------
def check_contribution(m: Manifest, options: Options) -> Iterator[Problem]:
    address = m.get("contribution", "contributor_address")
    if isinstance(address, str) and ADDRESS.fullmatch(address) and not has_valid_checksum(address):
        yield _Finder(m)(
            ("contribution", "contributor_address"),
            "address-checksum",
            f"address {address} has mixed case but fails its EIP-55 checksum: it "
            "is probably mistyped; copy it again from the wallet",
        )


def check_version(m: Manifest, options: Options) -> Iterator[Problem]:
    value = m.get("model", "version")
    if isinstance(value, str) and not SEMVER.fullmatch(value):
        parts = value.lstrip("vV").split(".")
        hint = ""
        if all(p.isdigit() for p in parts) and 1 <= len(parts) <= 3:
            padded = [str(int(p)) for p in parts] + ["0"] * (3 - len(parts))
            hint = f"; did you mean `{'.'.join(padded)}`?"
        yield _Finder(m)(
            ("model", "version"),
            "semver",
            f"model version `{value}` is not semantic versioning "
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
