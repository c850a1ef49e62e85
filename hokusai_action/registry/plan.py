"""A manifest becomes a plan: everything `register` will write, computed from the manifest and
its files alone, so `register --dry-run` contacts nothing.

The plan's registration key (a hash of the manifest, the benchmark value and the model files,
not of the commit) is what makes registration idempotent: see `register.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import attestation
from hokusai_action.registry.baseline import CONTENT_TAG, MODEL_TAG, Benchmark
from hokusai_action.registry.deltaone import exact
from hokusai_action.validation import metrics
from hokusai_action.validation.manifest import (
    Manifest,
    ValueFromError,
    is_finite_number,
    read_value_from,
)
from hokusai_action.validation.rules import (
    SEMVER,
    find_root,
    not_mlflow_model,
    special_file,
    special_file_message,
)


@dataclass(frozen=True, slots=True)
class ModelFiles:
    path: Path
    is_mlflow_model: bool  # a directory holding `MLmodel`: loadable with models:/ URIs
    files: int
    size: int
    sha256: str
    # The files' contents without their names: a renamed file is the same model (same_model)
    content_sha256: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything `register` will write, computed from the manifest alone."""

    manifest: str
    model_name: str
    token_id: str
    metric: metrics.Metric
    benchmark: Benchmark  # what the value was measured as: only comparable values are judged
    value: float
    value_source: str
    model: ModelFiles
    params: dict[str, str]
    metrics: dict[str, float]
    version_tags: dict[str, str]
    run_tags: dict[str, str]
    description: str | None
    semver: str | None
    commit: str | None
    samples: int | None
    pinned_version: int | None
    pinned_value: float | None
    manifest_data: dict[str, Any] = field(repr=False)
    registration_key: str = ""
    notes: tuple[str, ...] = ()  # said with every report of this plan
    value_text: str = ""  # the value as written: recorded and compared exactly
    # how the value was obtained: None (claimed), or the measurement that replaced the claim
    measured: Any = None  # measured.Measured; Any keeps plan free of the measuring code
    dataset: dict[str, Any] = field(default_factory=dict, repr=False)  # benchmark.dataset


def _git(directory: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit(
    manifest: Manifest, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The commit that holds what is registered, and a note when there is none.

    On a runner that is GITHUB_SHA (git may refuse the workspace there as of "dubious
    ownership"). Elsewhere it is HEAD, but only when the manifest, the model and the metrics
    file are as committed: a commit that does not contain the registered value must not be
    recorded as its source.
    """
    env = os.environ if env is None else env
    if re.fullmatch(r"[0-9a-f]{40}", env.get("GITHUB_SHA", "")):
        return env["GITHUB_SHA"], None
    head = (_git(manifest.directory, "rev-parse", "HEAD") or "").strip()
    if not re.fullmatch(r"[0-9a-f]{40}", head):
        return None, "not in a Git repository with commits: no commit recorded"
    paths = [
        manifest.path.name,
        manifest.get("model", "path"),
        manifest.get("benchmark", "value_from", "file"),
        manifest.get("benchmark", "dataset", "path"),
    ]
    changed = _git(
        manifest.directory, "status", "--porcelain", "--", *[p for p in paths if isinstance(p, str)]
    )
    if changed:
        return None, (
            "uncommitted changes to the manifest, the model, the metrics or the dataset: no commit "
            "recorded (commit them to record where this version comes from)"
        )
    return head, None


def refuse_special_files(path: Path, shown: str | None = None) -> None:
    """Raise HokusaiError when `path` is or holds a FIFO, socket or device: validation refused
    them, but one may have been swapped in since, and reading it would hang `register`."""
    if found := special_file(path):
        what = special_file_message("model", shown or path.as_posix(), found, path)
        raise HokusaiError(f"{what} (found just before reading the model files)")


def _read_regular(file: Path, digest: Any) -> int:
    """Hash a regular file; bytes read. Opened without blocking and checked on the open file
    itself, so a FIFO swapped in after the check above fails instead of hanging."""
    fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HokusaiError(f"model file {file} is not a regular file any more: remove it")
        size = 0
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size


def file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    _read_regular(file, digest)
    return digest.hexdigest()


def hash_model_files(path: Path, shown: str | None = None) -> ModelFiles:
    refuse_special_files(path, shown)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    total = hashlib.sha256()
    size = 0
    contents = []
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        digest = hashlib.sha256()
        size += _read_regular(file, digest)
        total.update(f"{rel}\0{digest.hexdigest()}\n".encode())
        contents.append(digest.hexdigest())
    content = hashlib.sha256("".join(f"{d}\n" for d in sorted(contents)).encode()).hexdigest()
    return ModelFiles(path, (path / "MLmodel").is_file(), len(files), size, total.hexdigest(),
                      content)  # fmt: skip


def dataset_sha256(path: Path) -> str:
    """The evaluation data's hash: `sha256sum FILE` for a file; for a directory, the SHA-256
    of its sorted `relative/path\0sha256\n` lines (as for model directories)."""
    return file_sha256(path) if path.is_file() else hash_model_files(path).sha256


def _dataset_hash(manifest: Manifest, dataset: Mapping[str, Any]) -> str | None:
    """`benchmark.dataset.sha256`, computed from `dataset.path` when there is one; a stated
    hash that the data does not have is refused, since it names another benchmark."""
    stated = dataset.get("sha256")
    if "path" not in dataset:
        return stated.lower() if isinstance(stated, str) else None
    path = manifest.directory / dataset["path"]
    if not path.exists():
        raise HokusaiError(f"{manifest.file}: dataset path `{dataset['path']}` does not exist")
    actual = dataset_sha256(path)
    if isinstance(stated, str) and stated.lower() != actual:
        raise HokusaiError(
            f"{manifest.file}: benchmark.dataset.sha256 is {stated.lower()}, but the data at "
            f"`{dataset['path']}` hashes to {actual}: update the hash, or point dataset.path "
            "at the data the benchmark was measured on"
        )
    return actual


def _repository_path(path: Path) -> str:
    """The manifest's path inside its repository: the same on every clone and runner."""
    resolved = path.resolve()
    return resolved.relative_to(find_root(resolved.parent)).as_posix()


def tag_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def plan(manifest: Manifest, commit: str | None, notes: tuple[str, ...] = ()) -> Plan:
    """The registration a valid manifest asks for. Raises HokusaiError for what validation
    cannot know in advance (an unreadable metrics file, a model that vanished)."""
    data = manifest.data
    model, bench = data["model"], data["benchmark"]
    custom = metrics.custom_metrics(data.get("custom_metrics"))
    found = metrics.lookup(bench["metric"], custom)
    if found.metric is None:  # validation rejects this; keep the type checker honest
        raise HokusaiError(f"{manifest.file}: unknown metric `{bench['metric']}`")
    metric = found.metric

    if "value_from" in bench:
        source = bench["value_from"]
        try:
            value = read_value_from(manifest.directory / source["file"], source["key"])
        except ValueFromError as e:
            raise HokusaiError(f"{manifest.file}: benchmark.value_from: {e}") from e
        if not is_finite_number(value):
            raise HokusaiError(
                f"{manifest.file}: `{source['key']}` in {source['file']} is {value!r}, not a "
                "finite number"
            )
        value_source = f"{source['file']}:{source['key']}"
    elif "value" in bench:
        value, value_source = bench["value"], "manifest"
    else:  # measured by hokusai-action (measured.py) before anything is judged or written
        value, value_source = math.nan, TO_BE_MEASURED

    model_path = manifest.directory / model["path"]
    if not model_path.exists():
        raise HokusaiError(f"{manifest.file}: model path `{model['path']}` does not exist")
    try:
        files = hash_model_files(model_path, model["path"])
    except HokusaiError as e:
        raise HokusaiError(f"{manifest.file}: {e}") from e

    if found := not_mlflow_model(model.get("flavor"), model["path"], model_path):
        # Validation with `registering` refuses this first (rule model-not-mlflow); kept for a
        # caller that plans without it: a flavored version that cannot be loaded is no version.
        raise HokusaiError(f"{manifest.file}: {found[0]}, so a version registered from it could "
                           f"not be loaded with mlflow.pyfunc; save the model with `{found[1]}`, "
                           "or set `flavor: file` to register the files as they are")  # fmt: skip
    extra = {
        metrics.lookup(k, custom).alias_of or k: float(v)
        for k, v in data.get("metrics", {}).items()
    }
    written = None if "value" not in bench else manifest.positions.source(("benchmark", "value"))
    value_text = "" if value_source == TO_BE_MEASURED else as_written(value, written)
    value = float(value)
    logged_metrics = {**extra, metric.name: value}
    dataset = bench.get("dataset", {})
    dataset_hash = _dataset_hash(manifest, dataset)
    benchmark = Benchmark.of(metric, dataset, dataset_hash)
    contribution = data.get("contribution", {})
    ab_test = data.get("ab_test", {})
    hokusai_tags = {
        "hokusai_token_id": model["token_id"],
        "benchmark_metric": metric.name,
        "benchmark_value": value_text,
    }
    optional = {
        "hokusai_flavor": model.get("flavor"),
        "hokusai_semver": model.get("version"),
        "hokusai_git_commit": commit,
        "hokusai_manifest": _repository_path(manifest.path),
        "hokusai_value_source": value_source,
        "hokusai_dataset_name": dataset.get("name"),
        "hokusai_dataset_version": dataset.get("version"),
        "hokusai_dataset_samples": dataset.get("samples"),
        "hokusai_dataset_sha256": dataset_hash,
        "hokusai_metric_direction": str(metric.direction),
        "hokusai_metric_range": metric.range_text(),
        "hokusai_contributor_address": contribution.get("contributor_address"),
        "hokusai_contributor": contribution.get("contributor"),
        "hokusai_additional_samples": contribution.get("additional_samples"),
        "hokusai_improvement_method": contribution.get("improvement_method"),
        "hokusai_ab_test_id": ab_test.get("test_id"),
        "hokusai_ab_traffic_baseline": ab_test.get("traffic_split", {}).get("baseline"),
        "hokusai_ab_traffic_candidate": ab_test.get("traffic_split", {}).get("candidate"),
        "hokusai_ab_duration_hours": ab_test.get("duration_hours"),
    }
    version_tags = {
        **{k: tag_text(v) for k, v in data.get("tags", {}).items()},
        **{k: tag_text(v) for k, v in optional.items() if v is not None},
        **hokusai_tags,
    }
    run_tags = dict(hokusai_tags)
    if commit:
        run_tags["mlflow.source.git.commit"] = commit
    pinned = bench.get("baseline", {})
    result = Plan(
        manifest=manifest.file,
        model_name=model["name"],
        token_id=model["token_id"],
        metric=metric,
        benchmark=benchmark,
        value=value,
        value_source=value_source,
        model=files,
        params={k: tag_text(v) for k, v in data.get("params", {}).items()},
        metrics=logged_metrics,
        version_tags=version_tags,
        run_tags=run_tags,
        description=model.get("description"),
        semver=model.get("version"),
        commit=commit,
        samples=dataset.get("samples"),
        pinned_version=pinned.get("version"),
        pinned_value=pinned.get("value"),
        manifest_data=data,
        notes=notes,
        value_text=value_text,
        dataset=dict(dataset),
    )
    version_tags[MODEL_TAG] = files.sha256  # a new benchmark must start from a rewarded model
    version_tags[CONTENT_TAG] = files.content_sha256  # renamed files are still the same model
    if value_source == TO_BE_MEASURED:
        return result  # keyed when measured (measured.py)
    return with_key(result, value, dataset_hash if "path" in dataset else None)


TO_BE_MEASURED = "to be measured"


def with_key(p: Plan, value: float, dataset_hash: str | None) -> Plan:
    """The plan with its registration key: a hash of what is registered, not of where it was
    committed, so an unchanged model at a later commit is the same registration and a push
    that touches other files registers nothing twice. `value` is the claim, or the measured
    value rounded to 12 significant digits when there is none (a library upgrade that moves
    the 15th digit is not a new registration)."""
    what: dict[str, Any] = {"manifest": p.manifest_data, "value": value, "model": p.model.sha256}
    if dataset_hash is not None:  # the data behind the value, when the manifest points at it
        what["dataset"] = dataset_hash
    key = hashlib.sha256(attestation.canonical_json(what)).hexdigest()
    version_tags = {**p.version_tags, "hokusai_registration_key": key}
    run_tags = {**p.run_tags, "hokusai_registration_key": key}
    return dataclasses.replace(p, registration_key=key, version_tags=version_tags,
                               run_tags=run_tags)  # fmt: skip


def as_written(value: float | int, written: str | None) -> str:
    """The value as the manifest writes it (`0.809999999999999999`, which a float reads as
    0.81), when that text is a decimal number the float was read from; else the shortest text
    that reads back as the same float."""
    if written is not None:
        try:
            number = Decimal(written.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and float(number) == float(value):
            return str(number)
    return str(exact(value)) if isinstance(value, float) else str(value)


def _numeric(digits: str) -> tuple[int, str]:
    """A numeric identifier ordered as a number without reading it as one: semver allows
    any number of digits, more than Python turns into an int."""
    return (len(digits), digits)


def semver_key(text: str) -> tuple[Any, ...] | None:
    """Order semantic versions (semver.org, section 11): a pre-release sorts before its
    release, numeric identifiers numerically and before alphanumeric ones."""
    if not SEMVER.search(text):
        return None
    core, _, pre = text.partition("+")[0].partition("-")
    major, minor, patch = (_numeric(part) for part in core.split("."))
    if not pre:
        return (major, minor, patch, 1, ())
    parts = tuple(
        (0, _numeric(p), "") if re.fullmatch(r"[0-9]+", p) else (1, (0, ""), p)
        for p in pre.split(".")
    )
    return (major, minor, patch, 0, parts)
