"""Register and compare: a plan meets the registry.

`compare()` and `register()` share the baseline lookup and the DeltaOne decision; only
`register()` writes. Registration is idempotent: the plan's registration key is stored on the
run and the version, so a second run finds the first instead of registering twice, and what a
crashed run left unfinished is picked up and finished.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import attestation, baseline, record, reporting
from hokusai_action.registry.deltaone import (
    Baseline,
    Outcome,
    Rule,
    Verdict,
    decide,
    exact,
    rule_for,
)
from hokusai_action.registry.judge import Decision, RegistryWork
from hokusai_action.registry.judge import Promote as Promote  # the CLI's and action's name for it
from hokusai_action.registry.measured import (
    claimed,
    log_measurement,
    measure_plan,
)
from hokusai_action.registry.plan import Plan, tag_text
from hokusai_action.registry.results import Report, Status

if TYPE_CHECKING:  # the registry imports MLflow: only callers that register load it
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord
    from hokusai_action.registry.record import BenchmarkRecord

MODEL_ARTIFACT_PATH = "model"
ATTESTATION_ARTIFACT = "hokusai/attestation.json"


def verdict_tags(verdict: Verdict, decision: Decision | None = None) -> dict[str, str]:
    baseline = verdict.baseline
    return {
        "deltaone_achieved": tag_text(verdict.achieved),
        "delta": verdict.delta_text or ("none" if verdict.delta is None else repr(verdict.delta)),
        "baseline_version": str(baseline.version) if baseline and baseline.version else "none",
        "hokusai_baseline_model": baseline.model if baseline and baseline.model else "none",
        "hokusai_verdict": str(verdict.outcome),
        "hokusai_rule": str(verdict.rule),
        "hokusai_threshold": str(decision.threshold) if decision else repr(verdict.threshold),
        "hokusai_floor": str(verdict.floor) if verdict.floor else "none",
        "hokusai_require_significance": tag_text(bool(decision and decision.require_significance)),
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
        "ci95": None if verdict.ci is None else {"low": verdict.ci.low, "high": verdict.ci.high},
        "outcome": str(verdict.outcome),
        "deltaone": verdict.achieved,
        "reason": verdict.reason or None,
        "contributor": data.get("contribution"),
        "dataset": data["benchmark"].get("dataset"),
        "commit": p.commit,
        "model_sha256": p.model.sha256,
        "registration_key": p.registration_key,
    }


# -- the two operations ------------------------------------------------------------------
def _judged(
    status: Status, p: Plan, registry: MlflowRegistry, decision: Decision,
    rec: BenchmarkRecord | None,
) -> tuple[RegistryWork, Report, VersionRecord | None]:  # fmt: skip
    """The first steps of compare and register: an earlier registration of this very plan,
    and the verdict against the baseline."""
    work = RegistryWork(registry, decision, rec)
    report = Report(status, p, registry.settings.display_uri, record=rec)
    existing = registry.find_version_by_key(p.model_name, p.registration_key)
    of_record = status is Status.REGISTERED
    report.verdict, notes, report.history = work.judge(p, existing, of_record=of_record)
    report.notes = [*p.notes, *notes]
    return work, report, existing


def _record_or_none(p: Plan, registry: MlflowRegistry) -> BenchmarkRecord | None:
    """The token's benchmark of record; None only for a token with no versions either (its
    first registration creates the record). A token with versions and no record (registered
    before records existed, or by another tool) waits for its owner to set one."""
    rec = registry.benchmark_record(p.token_id)
    if rec is None and (versions := registry.versions_for_token(p.token_id)):
        names = sorted({v.name for v in versions})
        raise HokusaiError(
            f"{p.manifest}: token {p.token_id} has {len(versions)} registered version(s) "
            f"({', '.join(names[:5])}) but no benchmark of record, so nothing can say what "
            "its values are measured as: the token's owner sets it once, with "
            f"`hokusai-action benchmark set {p.token_id} --from {p.manifest}`"
        )
    return rec


def _measured(
    p: Plan, rec: BenchmarkRecord | None, decision: Decision, registry: MlflowRegistry
) -> Plan:
    """The plan with its value measured where the record requires it (measured.py). A
    claim the record would not judge (another model, another benchmark) is left as it is:
    its verdict says why, and nothing is loaded for it. Data kept as a registry artifact is
    read into a folder only this process's user can read."""
    if rec is not None and claimed(p):
        found = record.reconcile(rec, p.metric, p.dataset, p.benchmark.sha256)
        if p.model_name not in rec.models or found.mismatches:
            if decision.measuring.warm is not None:
                decision.measuring.warm.discard(p)
            return p
    artifact = rec.dataset.artifact if rec is not None else None
    if not (artifact and rec and rec.measurement == "required" and decision.measuring.may_load):
        return measure_plan(p, rec, decision.measuring)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hokusai-data-") as tmp:  # mode 0700
        data = registry.download_artifact(artifact, Path(tmp))
        return measure_plan(p, rec, decision.measuring, data)


def compare(p: Plan, registry: MlflowRegistry, decision: Decision) -> Report:
    rec = _record_or_none(p, registry)
    p = _measured(p, rec, decision, registry)
    _, report, existing = _judged(Status.COMPARED, p, registry, decision, rec)
    if rec is None:
        report.notes.append(
            f"token {p.token_id} has no benchmark of record yet: registering this manifest "
            "would create it from its benchmark (trust on first use); its owner can set it "
            f"first, with `hokusai-action benchmark set {p.token_id} --from {p.manifest}`"
        )
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


def first_record(p: Plan, decision: Decision, origin: str) -> BenchmarkRecord:
    """The record a manifest describes, shaped by the options (a first registration, or
    `benchmark set --from`). Raises HokusaiError for a rule that cannot be recorded."""
    rule = decision.rule or rule_for(p.metric)
    floor = decision.floor
    if rule is Rule.RELATIVE and floor is not None and Decimal(floor) == 0:
        raise HokusaiError(f"{p.manifest}: {record.ZERO_FLOOR}")
    if rule is Rule.RELATIVE and floor is None:
        floor = record.default_floor(exact(p.value, p.value_text))
        if floor is None:
            raise HokusaiError(
                f"{p.manifest}: the relative rule needs a floor (the smallest |baseline| a gain "
                f"is measured from), and the first value is 0: pass --floor"
            )
    from hokusai_action.registry import measured

    return record.from_manifest(
        p.token_id, p.model_name, p.metric, p.dataset, p.benchmark.sha256,
        measured.repository_path(p), measurement=measured.default_measurement(p),
        rule=str(rule), threshold=str(decision.threshold), floor=floor,
        require_significance=decision.require_significance, origin=origin,
        set_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )  # fmt: skip


def _register(p: Plan, registry: MlflowRegistry, decision: Decision) -> Report:
    rec = _record_or_none(p, registry)
    created = rec is None
    if rec is None:  # trust on first use: this manifest's benchmark becomes the record
        rec = first_record(p, decision, f"first registration of {p.model_name}")
        rec = dataclasses.replace(rec, set_by=record.who(os.environ))
        p = _measured(p, None, decision, registry)  # before the record: a failure leaves none
        rec = dataclasses.replace(rec, revision=registry.write_record(rec))
    else:
        p = _measured(p, rec, decision, registry)
    work, report, existing = _judged(Status.REGISTERED, p, registry, decision, rec)
    judged = report.verdict is not None and report.verdict.outcome not in baseline.UNJUDGED
    if rec.measurement == "required" and judged and (p.measured is None or p.measured.unverified):
        raise HokusaiError(  # a claim must never join a measured history
            f"{p.manifest}: token {p.token_id}'s values are measured, and this run did not "
            f"measure it (event `{decision.measuring.event}`): register on push, where the "
            "model is measured"
        )
    if created:
        report.record_created = True
        report.notes.insert(0, created_notice(rec))
    if existing is not None:
        return _finish_existing(report, existing, registry, decision, work.token_versions)

    work.check_semver(p)
    # Every number and tag is computed before the first write: a crash leaves nothing
    # half-judged, and a re-run completes the registration with the same verdict.
    tags = {**p.version_tags, **verdict_tags(report.verdict, work.decided)}
    tags.update(record_tags(rec, report.verdict))
    if report.verdict.outcome is Outcome.NEW_BENCHMARK:
        tags[baseline.ANCHORED_TAG] = tag_text(work.anchors)
    experiment_id = registry.ensure_experiment(p.model_name)
    run_id = registry.find_run_by_key(experiment_id, p.registration_key)
    if run_id is not None:
        report.notes.append(f"resumed run {run_id}, left unfinished by an earlier attempt")
    else:
        run_name = f"{p.model_name}-{(p.commit or p.registration_key)[:8]}"
        run_id = registry.create_run(experiment_id, run_name, p.run_tags)
    registry.log_run(run_id, p.params, p.metrics, p.run_tags)
    if p.measured is not None:
        log_measurement(registry, run_id, p)
    source = registry.log_model_files(run_id, p.model.path, MODEL_ARTIFACT_PATH)

    first_of_model = not registry.versions_of_model(p.model_name)
    version = registry.create_version(p.model_name, source, run_id, tags, p.description)
    report.version, report.run_id = version.version, run_id
    report.attestation_sha256 = _attest(p, report.verdict, version.version, run_id, registry)

    report.aliases = aliases_for(first_of_model, report.verdict, decision)
    for alias in report.aliases:
        registry.set_alias(p.model_name, alias, version.version)
    registry.finish_run(run_id)
    report.unreported_deltaone = report.verdict.achieved
    report.links = registry.links(experiment_id, run_id, p.model_name, version.version)
    report.history.append((version.version, p.value))
    report.pending = _pending(p, work.token_versions, rec, version.version)
    return report


def _pending(
    p: Plan, versions: list[VersionRecord], rec: BenchmarkRecord | None, version: int | None
) -> list[reporting.Entry]:
    """The token's other recorded DeltaOnes that no run reported (see reporting.py), among
    the versions the verdict was judged on (read under the token's lock)."""
    if rec is None:
        return []
    others = [v for v in versions if (v.name, v.version) != (p.model_name, version)]
    return reporting.pending(others, rec.models)


def created_notice(rec: BenchmarkRecord) -> str:
    return (
        f"⚠ TRUST ON FIRST USE: token {rec.token_id} had no benchmark of record, so this "
        f"registration created revision {rec.revision} from this manifest: {rec.summary()}; "
        f"{rec.rule_summary()}; models: {', '.join(rec.models)}. From now on pull requests "
        f"are judged against it and cannot change it. Check it with `hokusai-action benchmark "
        f"show {rec.token_id}`; only its owner changes it, with `benchmark set`"
    )


def record_tags(rec: BenchmarkRecord, verdict: Verdict) -> dict[str, str]:
    """The version as the record measured it: its benchmark's dataset, not the manifest's
    names for it, so that later versions compare with it."""
    tags = {reporting.REVISION_TAG: str(rec.revision)}
    if verdict.outcome in baseline.UNJUDGED:
        return tags
    d = rec.dataset
    for key, value in (
        ("hokusai_dataset_name", d.name), ("hokusai_dataset_version", d.version),
        ("hokusai_dataset_sha256", d.sha256), ("hokusai_dataset_samples", d.samples),
    ):  # fmt: skip
        tags[key] = "" if value is None else str(value)
    tags[baseline.DIRECTION_TAG] = rec.direction
    tags[baseline.RANGE_TAG] = rec.range_text()
    tags["benchmark_metric"] = rec.metric
    tags[baseline.MEASURED_TAG] = tag_text(rec.measurement == "required")
    return tags


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
    report: Report, existing: VersionRecord, registry: MlflowRegistry, decision: Decision,
    versions: list[VersionRecord],
) -> Report:  # fmt: skip
    """A second run of the same registration: report the version, and finish what a crashed
    first run left undone (its aliases, its attestation, the run's status)."""
    report.status = Status.ALREADY_REGISTERED
    report.version, report.run_id = existing.version, existing.run_id
    current = registry.get_version(existing.name, existing.version)  # searches omit aliases
    report.aliases = list(current.aliases if current else existing.aliases)
    sha = existing.tags.get("hokusai_attestation_sha256")
    if sha is None and existing.run_id and report.verdict is not None:
        sha = _attest(report.plan, report.verdict, existing.version, existing.run_id, registry)
        report.notes.append("completed the attestation an earlier attempt left out")
    if not report.aliases and report.verdict is not None:
        first = (
            min(r.version for r in registry.versions_of_model(existing.name)) == existing.version
        )
        held = registry.aliases_of(existing.name)
        wanted = aliases_for(first, report.verdict, decision)
        # an alias another version holds now was moved on purpose (or by a later version)
        report.aliases = [a for a in wanted if a not in held]
        for alias in report.aliases:
            registry.set_alias(existing.name, alias, existing.version)
        if report.aliases:
            report.notes.append("set the aliases an earlier attempt left out")
        for alias in sorted(set(wanted) - set(report.aliases)):
            report.notes.append(
                f"alias `{alias}` is left on version {held[alias]}, which holds it now"
            )
    if existing.run_id and not registry.run_finished(existing.run_id):
        registry.finish_run(existing.run_id)  # a crash after the attestation left it running
        report.notes.append("finished the run an earlier attempt left running")
    report.attestation_sha256 = sha
    recorded = baseline.recorded_outcome(existing) is Outcome.DELTAONE
    achieved = report.verdict is not None and report.verdict.achieved  # judged as the record
    report.unreported_deltaone = recorded and achieved and not reporting.reporting_done(existing)
    if report.unreported_deltaone:
        report.notes.append(
            f"version {existing.version}'s DeltaOne was recorded by an earlier run that did not "
            "report it: this run reports it (deltaone-recorded)"
        )
    report.links = registry.links(None, None, report.plan.model_name, existing.version)
    report.pending = _pending(report.plan, versions, report.record, existing.version)
    return report


def regressed(reports: list[Report]) -> list[Report]:
    """The reports whose new value is worse than its baseline (for --fail-on-regression)."""
    return [r for r in reports if r.verdict and r.verdict.outcome is Outcome.REGRESSION]


def dry_run(p: Plan, tracking_uri: str, decision: Decision | None = None) -> Report:
    """Contacts nothing. The value is measured as a first registration would measure it
    (the record is in the registry). A value pinned in the manifest gives a what-if verdict;
    a pinned version would need the registry, so it is only named."""
    decision = decision or Decision()
    p = measure_plan(p, None, decision.measuring)
    report = Report(Status.DRY_RUN, p, tracking_uri, notes=list(p.notes))
    if p.pinned_value is not None:
        pin = Baseline(p.pinned_value, why="value pinned in the manifest", what_if=True)
        report.verdict = decide(
            p.metric, p.value, pin, threshold=decision.threshold, rule=decision.rule,
            samples=p.samples, require_significance=decision.require_significance,
        )  # fmt: skip
        report.notes.append(f"what-if: {pin.why}; the verdict of record ignores it")
    elif p.pinned_version is not None:
        report.notes.append(
            f"benchmark.baseline pins version {p.pinned_version}: `compare` shows that what-if"
        )
    return report
