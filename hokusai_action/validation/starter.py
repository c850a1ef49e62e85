"""A starter `hokusai.yaml` for `hokusai-action init`: what can be detected, and the text.

Detection only reads: an `MLmodel` directory gives the model path and flavor, and a metrics
JSON file beside it gives the benchmark (as `value_from`, so the value is read at
registration time instead of being copied by hand). Writing, prompting and validating what
was written are the command's job.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hokusai_action.validation import metrics
from hokusai_action.validation.rules import suggest_token_id

SCHEMA_URL = (
    "https://raw.githubusercontent.com/hokusai-protocol/hokusai-action/main/schemas/"
    "hokusai.schema.json"
)
FLAVORS = ("sklearn", "pytorch", "tensorflow", "keras", "xgboost", "lightgbm", "onnx",
           "transformers", "pyfunc", "file")  # fmt: skip
MAX_DEPTH = 3  # how deep below DIR detection looks
METRICS_FILE = re.compile(r"(?i).*metrics.*\.json$")


@dataclass(frozen=True, slots=True)
class Starter:
    """The answers a manifest is written from; paths relative to the manifest's directory."""

    name: str
    token_id: str
    path: str
    metric: str
    value: float | None = None
    value_from: tuple[str, str] | None = None  # (file, key)
    flavor: str | None = None


@dataclass(frozen=True, slots=True)
class Detected:
    path: str | None = None
    flavor: str | None = None
    metric: str | None = None
    value_from: tuple[str, str] | None = None

    def describe(self) -> list[str]:
        out = []
        if self.path:
            out.append(f"found an MLflow model at {self.path}" + (
                f" (flavor {self.flavor})" if self.flavor else ""))  # fmt: skip
        if self.value_from:
            out.append(f"found `{self.value_from[1]}` in {self.value_from[0]}")
        return out


def _walk(directory: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    base = len(directory.parts)
    for here, dirs, files in os.walk(directory):
        depth = len(Path(here).parts) - base
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH
                         and d not in {"node_modules", "__pycache__"})  # fmt: skip
        yield Path(here), dirs, sorted(files)


def detect(directory: Path) -> Detected:
    """The first MLflow model directory below `directory`, its flavor, and a catalogue metric
    in a metrics JSON file beside it or in `directory`."""
    model: Path | None = None
    flavor = None
    for here, _, files in _walk(directory):
        if "MLmodel" in files and here != directory:
            model, flavor = here, _flavor(here / "MLmodel")
            break
    found = _metric_in_files(directory, [model.parent] if model else []) or (None, None)
    return Detected(
        model.relative_to(directory).as_posix() if model else None,
        flavor,
        found[0],
        found[1],
    )


def _flavor(mlmodel: Path) -> str | None:
    """The hokusai flavor an MLmodel file names (`flavors:` keys, in MLflow's own order)."""
    try:
        text = mlmodel.read_text(encoding="utf-8")[:65536]
    except (OSError, UnicodeDecodeError):
        return None
    block = re.search(r"^flavors:\n((?:[ \t]+.*\n?)*)", text, re.M)
    names = re.findall(r"^  (\w+):", block.group(1), re.M) if block else []
    preferred = [n for n in names if n in FLAVORS and n != "python_function"]
    if preferred:
        return preferred[0]
    return "pyfunc" if "python_function" in names else None


def _metric_in_files(directory: Path, near: list[Path]) -> tuple[str, tuple[str, str]] | None:
    for where in [*near, directory]:
        for here, _, files in _walk(where):
            for name in files:
                if METRICS_FILE.fullmatch(name) and (hit := _metric_in(here / name)):
                    key, metric = hit
                    rel = (here / name).relative_to(directory).as_posix()
                    return metric, (rel, key)
    return None


def _metric_in(file: Path) -> tuple[str, str] | None:
    """(key, catalogue metric) of the first catalogue metric in a metrics JSON file."""
    try:
        if file.stat().st_size > 1 << 20:
            return None
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None

    def walk(node: object, prefix: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                path = f"{prefix}{key}"
                found = metrics.lookup(str(key))
                if found.metric and isinstance(value, int | float) and not isinstance(value, bool):
                    yield path, found.metric.name
                yield from walk(value, f"{path}.")

    return next(walk(data, ""), None)


def canonical_metric(name: str) -> str:
    """The catalogue's name for an alias (`f1` -> `f1_score`); other names as given."""
    found = metrics.lookup(name).metric
    return found.name if found else name


def default_name(directory: Path) -> str:
    """A registered-model name from the folder's name: lowercase words joined by hyphens."""
    words = re.findall(r"[A-Za-z0-9]+", directory.resolve().name)
    return "-".join(w.lower() for w in words) or "my-model"


def default_token(name: str) -> str:
    return suggest_token_id(name) or "MODEL-001"


def _scalar(value: str) -> str:
    """A YAML scalar that reads back as the same text (quoted when YAML would retype it)."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_./-]*", value) and value.lower() not in {
        "yes", "no", "on", "off", "true", "false", "null", "y", "n",
    }:  # fmt: skip
        return value
    return json.dumps(value)


def render(s: Starter) -> str:
    """The manifest's text, with the schema line that lets editors complete and explain it."""
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_URL}",
        "# Written by `hokusai-action init`. Check it with `hokusai-action validate`.",
        "version: 1",
        "model:",
        f"  name: {_scalar(s.name)}",
        f"  token_id: {_scalar(s.token_id)}",
        f"  path: {_scalar(s.path)}",
    ]
    if s.flavor:
        lines.append(f"  flavor: {s.flavor}")
    lines += ["benchmark:", f"  metric: {_scalar(s.metric)}"]
    if s.value_from:
        file, key = s.value_from
        lines.append(f"  value_from: {{file: {_scalar(file)}, key: {_scalar(key)}}}")
    else:
        lines.append(f"  value: {s.value!r}")
    lines.append(
        "  # the test set; with its path and label column, hokusai-action measures the value:"
    )
    lines.append("  # dataset: {name: holdout, version: v1, path: holdout.csv, target: label}")
    return "\n".join(lines) + "\n"
