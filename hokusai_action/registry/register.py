"""Register and compare: a plan meets the registry.

`compare()` and `register()` share the baseline lookup and the DeltaOne decision; only
`register()` writes. Registration is idempotent: the plan's registration key is stored on the
run and the version, so a second run finds the first instead of registering twice, and what a
crashed run left unfinished is picked up and finished.
"""

from __future__ import annotations

import datetime
import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import attestation
from hokusai_action.registry.deltaone import (
    DEFAULT_THRESHOLD,
    Baseline,
    Outcome,
    Rule,
    Verdict,
    decide,
)
from hokusai_action.registry.plan import Plan, semver_key, tag_text
from hokusai_action.registry.results import Report, Status

if TYPE_CHECKING:  # the registry imports MLflow: only callers that register load it
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord

MODEL_ARTIFACT_PATH = "model"
ATTESTATION_ARTIFACT = "hokusai/attestation.json"


class Promote(enum.StrEnum):
    CHALLENGER = "challenger"  # a DeltaOne version becomes `challenger`; people promote it
    CHAMPION = "champion"  # a DeltaOne version becomes `champion` at once


@dataclass(frozen=True, slots=True)
class Decision:
    """How to judge improvements; the same for compare and register."""

    threshold: float = DEFAULT_THRESHOLD
    rule: Rule | None = None  # None: by metric (points for metrics capped at 1)
    promote: Promote = Promote.CHALLENGER


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
        "deltaone_achieved": tag_text(verdict.achieved),
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
    """Judge and write while holding the token's lock (see lock.py): overlapping runs of one
    registration leave one version, and two registrations of one token are judged one after
    the other, so no two verdicts share a baseline."""
    with registry.token_lock(p.token_id, f"{p.model_name} {p.registration_key[:16]}"):
        return _register(p, registry, decision)


def _register(p: Plan, registry: MlflowRegistry, decision: Decision) -> Report:
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
    first run left undone (its aliases, its attestation, the run's status)."""
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
        report.notes.append("completed the attestation an earlier attempt left out")
    if existing.run_id and not registry.run_finished(existing.run_id):
        registry.finish_run(existing.run_id)  # a crash after the attestation left it running
        report.notes.append("finished the run an earlier attempt left running")
    report.attestation_sha256 = sha
    report.links = registry.links(None, None, report.plan.model_name, existing.version)
    return report


def regressed(reports: list[Report]) -> list[Report]:
    """The reports whose new value is worse than its baseline (for --fail-on-regression)."""
    return [r for r in reports if r.verdict and r.verdict.outcome is Outcome.REGRESSION]


def dry_run(p: Plan, tracking_uri: str) -> Report:
    return Report(Status.DRY_RUN, p, tracking_uri, notes=list(p.notes))
