"""Register and compare: a manifest becomes a plan (pure), the plan meets the registry.

`plan()` reads only the manifest and its files, so `register --dry-run` contacts nothing.
`compare()` and `register()` share the baseline lookup and the DeltaOne decision; only
`register()` writes. Registration is idempotent: the plan's registration key (a hash of the
manifest, the benchmark value and the model files, not of the commit) is stored on the run
and the version, so a second run finds the first instead of registering twice, and what a
crashed run left unfinished is picked up and finished.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hokusai_action import attestation, metrics
from hokusai_action.deltaone import DEFAULT_THRESHOLD, Baseline, Outcome, Rule, Verdict, decide
from hokusai_action.errors import HokusaiError
from hokusai_action.manifest import Manifest, ValueFromError, is_finite_number, read_value_from
from hokusai_action.rules import SEMVER, find_root

if TYPE_CHECKING:  # the registry imports MLflow: only callers that register load it
    from hokusai_action.registry import MlflowRegistry, VersionRecord

MODEL_ARTIFACT_PATH = "model"
ATTESTATION_ARTIFACT = "hokusai/attestation.json"


class Status(enum.StrEnum):
    REGISTERED = "registered"
    ALREADY_REGISTERED = "already_registered"
    COMPARED = "compared"
    DRY_RUN = "dry_run"


class Promote(enum.StrEnum):
    CHALLENGER = "challenger"  # a DeltaOne version becomes `challenger`; people promote it
    CHAMPION = "champion"  # a DeltaOne version becomes `champion` at once


@dataclass(frozen=True, slots=True)
class Decision:
    """How to judge improvements; the same for compare and register."""

    threshold: float = DEFAULT_THRESHOLD
    rule: Rule | None = None  # None: by metric (points for metrics capped at 1)
    promote: Promote = Promote.CHALLENGER


@dataclass(frozen=True, slots=True)
class ModelFiles:
    path: Path
    is_mlflow_model: bool  # a directory holding `MLmodel`: loadable with models:/ URIs
    files: int
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything `register` will write, computed from the manifest alone."""

    manifest: str
    model_name: str
    token_id: str
    metric: metrics.Metric
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


@dataclass(slots=True)
class Report:
    """What happened to one manifest; the CLI and the action render it."""

    status: Status
    plan: Plan
    tracking_uri: str
    verdict: Verdict | None = None
    version: int | None = None
    run_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    attestation_sha256: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)  # (version, value)
    notes: list[str] = field(default_factory=list)


# -- planning (no registry) ---------------------------------------------------------------
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
    ]
    changed = _git(
        manifest.directory, "status", "--porcelain", "--", *[p for p in paths if isinstance(p, str)]
    )
    if changed:
        return None, (
            "uncommitted changes to the manifest, the model or the metrics file: no commit "
            "recorded (commit them to record where this version comes from)"
        )
    return head, None


def hash_model_files(path: Path) -> ModelFiles:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    total = hashlib.sha256()
    size = 0
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        digest = hashlib.sha256()
        with file.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        size += file.stat().st_size
        total.update(f"{rel}\0{digest.hexdigest()}\n".encode())
    return ModelFiles(path, (path / "MLmodel").is_file(), len(files), size, total.hexdigest())


def _repository_path(path: Path) -> str:
    """The manifest's path inside its repository: the same on every clone and runner."""
    resolved = path.resolve()
    return resolved.relative_to(find_root(resolved.parent)).as_posix()


def _str(value: Any) -> str:
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
    else:
        value, value_source = bench["value"], "manifest"

    model_path = manifest.directory / model["path"]
    if not model_path.exists():
        raise HokusaiError(f"{manifest.file}: model path `{model['path']}` does not exist")
    files = hash_model_files(model_path)

    extra = {
        metrics.lookup(k, custom).alias_of or k: float(v)
        for k, v in data.get("metrics", {}).items()
    }
    logged_metrics = {**extra, metric.name: float(value)}
    dataset = bench.get("dataset", {})
    contribution = data.get("contribution", {})
    ab_test = data.get("ab_test", {})
    hokusai_tags = {
        "hokusai_token_id": model["token_id"],
        "benchmark_metric": metric.name,
        "benchmark_value": _str(float(value)),
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
        **{k: _str(v) for k, v in data.get("tags", {}).items()},
        **{k: _str(v) for k, v in optional.items() if v is not None},
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
        value=float(value),
        value_source=value_source,
        model=files,
        params={k: _str(v) for k, v in data.get("params", {}).items()},
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
    )
    # What is registered, not where it was committed: an unchanged model at a later commit is
    # the same registration, so a push that touches other files registers nothing twice.
    key = hashlib.sha256(
        attestation.canonical_json({"manifest": data, "value": float(value), "model": files.sha256})
    ).hexdigest()
    version_tags["hokusai_registration_key"] = run_tags["hokusai_registration_key"] = key
    return dataclasses.replace(result, registration_key=key)


# -- the baseline and the verdict ------------------------------------------------------------
def semver_key(text: str) -> tuple[int, int, int, int, tuple[Any, ...]] | None:
    """Order semantic versions (semver.org, section 11): a pre-release sorts before its
    release, numeric identifiers numerically and before alphanumeric ones."""
    if not SEMVER.search(text):
        return None
    core, _, pre = text.partition("+")[0].partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    if not pre:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)


def choose_baseline(
    versions: list[VersionRecord], metric: str, exclude_key: str | None
) -> tuple[VersionRecord | None, list[str]]:
    """The newest version with a readable benchmark on the same metric, and notes on what
    was passed over (malformed tags, another metric)."""
    notes: list[str] = []
    usable = []
    for record in versions:
        if exclude_key and record.tags.get("hokusai_registration_key") == exclude_key:
            continue
        if record.benchmark_value is None:
            notes.append(
                f"{record.name} v{record.version} skipped: {'; '.join(record.tag_problems())}"
            )
        elif record.metric != metric:
            notes.append(
                f"{record.name} v{record.version} skipped: its benchmark is "
                f"`{record.metric}`, not `{metric}`"
            )
        else:
            usable.append(record)
    return (usable[-1] if usable else None), notes


class RegistryWork:
    """The steps shared by compare and register, against one registry."""

    def __init__(self, registry: MlflowRegistry, decision: Decision) -> None:
        self.registry = registry
        self.decision = decision

    def judge(
        self, p: Plan, existing: VersionRecord | None = None
    ) -> tuple[Verdict, list[str], list[tuple[int, float]]]:
        """The verdict for the plan, the notes on how the baseline was chosen, and the
        token's history. An existing registration is judged against the baseline it had."""
        records = self.registry.versions_for_token(p.token_id)
        history = [
            (r.version, value)
            for r in records
            if (value := r.benchmark_value) is not None and r.metric == p.metric.name
        ]
        notes: list[str] = []
        if p.pinned_value is not None:
            baseline: Baseline | None = Baseline(p.pinned_value)
            notes.append(f"baseline pinned in the manifest: value {p.pinned_value:g}")
        elif p.pinned_version is not None:
            baseline = self._version_baseline(p, p.model_name, p.pinned_version)
            notes.append(f"baseline pinned in the manifest: version {p.pinned_version}")
        elif existing is not None:  # judged again against the baseline it was judged against
            recorded = existing.tags.get("baseline_version", "none")
            model = existing.tags.get("hokusai_baseline_model", p.model_name)
            baseline = (
                self._version_baseline(p, model, int(recorded)) if recorded.isdigit() else None
            )
        else:
            record, notes = choose_baseline(records, p.metric.name, p.registration_key)
            baseline = _baseline_of(record) if record else None
        verdict = decide(
            p.metric, p.value, baseline, threshold=self.decision.threshold,
            rule=self.decision.rule, samples=p.samples,
        )  # fmt: skip
        return verdict, notes, history

    def _version_baseline(self, p: Plan, model: str, version: int) -> Baseline:
        record = self.registry.get_version(model, version)
        if record is None:
            problem = "does not exist"
        elif record.benchmark_value is None:
            problem = "has no readable benchmark_value"
        elif record.metric != p.metric.name:
            problem = f"is benchmarked on `{record.metric}`, not `{p.metric.name}`"
        else:
            return _baseline_of(record)
        raise HokusaiError(f"{p.manifest}: baseline version {version} of `{model}` {problem}")

    def check_semver(self, p: Plan) -> None:
        if not p.semver:
            return
        ours = semver_key(p.semver)
        newest: tuple[Any, str, int] | None = None
        for record in self.registry.versions_of_model(p.model_name):
            text = record.tags.get("hokusai_semver", "")
            key = semver_key(text)
            if key and (newest is None or key > newest[0]):
                newest = (key, text, record.version)
        if ours is not None and newest is not None and ours < newest[0]:
            raise HokusaiError(
                f"{p.manifest}: model.version {p.semver} goes backwards: version "
                f"{newest[2]} of `{p.model_name}` is already {newest[1]}; raise model.version"
            )


def _baseline_of(record: VersionRecord) -> Baseline:
    samples = record.tags.get("hokusai_dataset_samples", "")
    assert record.benchmark_value is not None
    return Baseline(
        record.benchmark_value,
        record.version,
        int(samples) if samples.isdigit() else None,
        record.name,
    )


def verdict_tags(verdict: Verdict) -> dict[str, str]:
    baseline = verdict.baseline
    return {
        "deltaone_achieved": _str(verdict.achieved),
        "delta": "none" if verdict.delta is None else repr(round(verdict.delta, 12)),
        "baseline_version": str(baseline.version) if baseline and baseline.version else "none",
        "hokusai_baseline_model": baseline.model if baseline and baseline.model else "none",
        "hokusai_verdict": str(verdict.outcome),
        "hokusai_rule": str(verdict.rule),
        "hokusai_threshold": repr(verdict.threshold),
    }


def build_attestation(p: Plan, verdict: Verdict, version: int | None) -> dict[str, Any]:
    """The facts of one decision; hashed as canonical JSON (see attestation.py)."""
    baseline = verdict.baseline
    data = p.manifest_data
    return {
        "format": attestation.FORMAT,
        "model_name": p.model_name,
        "token_id": p.token_id,
        "metric": p.metric.name,
        "direction": str(p.metric.direction),
        "rule": str(verdict.rule),
        "threshold": verdict.threshold,
        "new": {"value": p.value, "version": version},
        "baseline": None
        if baseline is None
        else {"value": baseline.value, "version": baseline.version},
        "delta": verdict.delta,
        "improvement": attestation.finite_or_none(verdict.improvement),
        "outcome": str(verdict.outcome),
        "deltaone": verdict.achieved,
        "contributor": data.get("contribution"),
        "dataset": data["benchmark"].get("dataset"),
        "commit": p.commit,
        "model_sha256": p.model.sha256,
        "registration_key": p.registration_key,
    }


# -- the two operations ------------------------------------------------------------------
def _judged(
    status: Status, p: Plan, registry: MlflowRegistry, decision: Decision
) -> tuple[RegistryWork, Report, VersionRecord | None]:
    """The first steps of compare and register: an earlier registration of this very plan,
    and the verdict against the baseline."""
    work = RegistryWork(registry, decision)
    report = Report(status, p, registry.settings.display_uri)
    existing = registry.find_version_by_key(p.model_name, p.registration_key)
    report.verdict, notes, report.history = work.judge(p, existing)
    report.notes = [*p.notes, *notes]
    return work, report, existing


def compare(p: Plan, registry: MlflowRegistry, decision: Decision) -> Report:
    _, report, existing = _judged(Status.COMPARED, p, registry, decision)
    if existing is not None:
        report.version, report.run_id = existing.version, existing.run_id
        report.notes.append(
            f"this manifest, value and model are already version {existing.version}"
        )
    return report


def register(p: Plan, registry: MlflowRegistry, decision: Decision) -> Report:
    work, report, existing = _judged(Status.REGISTERED, p, registry, decision)
    if existing is not None:
        return _finish_existing(report, existing, registry, decision)

    work.check_semver(p)
    experiment_id = registry.ensure_experiment(p.model_name)
    run_id = registry.find_run_by_key(experiment_id, p.registration_key)
    if run_id is not None:
        report.notes.append(f"resumed run {run_id}, left unfinished by an earlier attempt")
    else:
        run_name = f"{p.model_name}-{(p.commit or p.registration_key)[:8]}"
        run_id = registry.create_run(experiment_id, run_name, p.run_tags)
    registry.log_run(run_id, p.params, p.metrics, p.run_tags)
    source = registry.log_model_files(run_id, p.model.path, MODEL_ARTIFACT_PATH)

    first_of_model = not registry.versions_of_model(p.model_name)
    tags = {**p.version_tags, **verdict_tags(report.verdict)}
    record = registry.create_version(p.model_name, source, run_id, tags, p.description)
    report.version, report.run_id = record.version, run_id

    report.aliases = aliases_for(first_of_model, report.verdict, decision)
    for alias in report.aliases:
        registry.set_alias(p.model_name, alias, record.version)

    report.attestation_sha256 = _attest(p, report.verdict, record.version, run_id, registry)
    registry.finish_run(run_id)
    report.links = registry.links(experiment_id, run_id, p.model_name, record.version)
    report.history.append((record.version, p.value))
    return report


def _attest(p: Plan, verdict: Verdict, version: int, run_id: str, registry: MlflowRegistry) -> str:
    facts = build_attestation(p, verdict, version)
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    doc = attestation.document(facts, created)
    registry.log_text(
        run_id, json.dumps(doc, indent=2, sort_keys=True) + "\n", ATTESTATION_ARTIFACT
    )
    registry.set_version_tags(p.model_name, version, {"hokusai_attestation_sha256": doc["sha256"]})
    return str(doc["sha256"])


def aliases_for(first_of_model: bool, verdict: Verdict, decision: Decision) -> list[str]:
    """Aliases, not the deprecated stages: the first version is the champion; a DeltaOne
    version is the challenger, or the champion when the policy says so."""
    if first_of_model:
        return ["champion"]
    return [str(decision.promote)] if verdict.achieved else []


def _finish_existing(
    report: Report, existing: VersionRecord, registry: MlflowRegistry, decision: Decision
) -> Report:
    """A second run of the same registration: report the version, and finish what a crashed
    first run left undone (its aliases, its attestation)."""
    report.status = Status.ALREADY_REGISTERED
    report.version, report.run_id = existing.version, existing.run_id
    current = registry.get_version(existing.name, existing.version)  # searches omit aliases
    report.aliases = list(current.aliases if current else existing.aliases)
    if not report.aliases and report.verdict is not None:
        first = (
            min(r.version for r in registry.versions_of_model(existing.name)) == existing.version
        )
        report.aliases = aliases_for(first, report.verdict, decision)
        for alias in report.aliases:
            registry.set_alias(existing.name, alias, existing.version)
        if report.aliases:
            report.notes.append("set the aliases an earlier attempt left out")
    sha = existing.tags.get("hokusai_attestation_sha256")
    if sha is None and existing.run_id and report.verdict is not None:
        sha = _attest(report.plan, report.verdict, existing.version, existing.run_id, registry)
        registry.finish_run(existing.run_id)
        report.notes.append("completed the attestation an earlier attempt left out")
    report.attestation_sha256 = sha
    report.links = registry.links(None, None, report.plan.model_name, existing.version)
    return report


def regressed(reports: list[Report]) -> list[Report]:
    """The reports whose new value is worse than its baseline (for --fail-on-regression)."""
    return [r for r in reports if r.verdict and r.verdict.outcome is Outcome.REGRESSION]


def dry_run(p: Plan, tracking_uri: str) -> Report:
    return Report(Status.DRY_RUN, p, tracking_uri, notes=list(p.notes))
