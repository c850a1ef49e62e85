"""Register and compare: a plan meets the registry.

`compare()` and `register()` share the baseline lookup and the DeltaOne decision; only
`register()` writes. Registration is idempotent: the plan's registration key is stored on the
run and the version, so a second run finds the first instead of registering twice, and what a
crashed run left unfinished is picked up and finished.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import attestation, baseline
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
    rule: Rule | None = None  # None: by metric (points for metrics bounded by [0, 1])
    promote: Promote = Promote.CHALLENGER
    require_significance: bool = False  # a DeltaOne also needs its 95% interval above zero


PIN_IGNORED = (
    "benchmark.baseline in the manifest was ignored: the verdict of record is judged only "
    "against the registry's rewarded baseline (a pinned baseline is a what-if for `compare` "
    "and dry runs)"
)


class RegistryWork:
    """The steps shared by compare and register, against one registry."""

    def __init__(self, registry: MlflowRegistry, decision: Decision) -> None:
        self.registry = registry
        self.decision = decision
        self.anchors = True  # set by judge(): whether a new benchmark is opened by this plan

    def judge(
        self, p: Plan, existing: VersionRecord | None = None, *, of_record: bool = False
    ) -> tuple[Verdict, list[str], list[tuple[int, float]]]:
        """The verdict for the plan, the notes on how the baseline was chosen, and the
        token's history on this benchmark.

        `of_record` (register): the baseline comes from the registry alone; a baseline pinned
        in the manifest is ignored, and said to be. Otherwise (compare) a pin makes a what-if.
        An existing registration is judged again against the baseline it was judged against.
        """
        records = self.registry.versions_for_token(p.token_id)
        choice = baseline.choose(
            records, p.benchmark, p.metric.direction, p.registration_key, p.model.sha256
        )
        notes: list[str] = []
        pinned = p.pinned_value is not None or p.pinned_version is not None
        new_benchmark = False
        if pinned and not of_record:
            chosen = self._pinned_baseline(p)
            notes.append(f"what-if: {chosen.why}; the verdict of record ignores it")
        elif existing is not None:
            chosen, new_benchmark = self._recorded_baseline(p, existing)
        else:
            chosen, new_benchmark, notes = choice.baseline, choice.new_benchmark, choice.notes
            self.anchors = choice.anchors
        if pinned and of_record:
            notes.append(PIN_IGNORED)
        rerun = existing is not None and not (pinned and not of_record)
        decision = _recorded_decision(existing, self.decision) if rerun else self.decision
        verdict = decide(
            p.metric, p.value, chosen, threshold=decision.threshold,
            rule=decision.rule, samples=p.samples, new_benchmark=new_benchmark,
            require_significance=decision.require_significance,
        )  # fmt: skip
        if rerun and existing is not None:
            verdict = _as_recorded(verdict, existing, notes)
        if verdict.reason:
            notes.append(f"no DeltaOne: {verdict.reason}")
        return verdict, notes, choice.history

    def _pinned_baseline(self, p: Plan) -> Baseline:
        if p.pinned_value is not None:
            return Baseline(p.pinned_value, why="value pinned in the manifest", what_if=True)
        assert p.pinned_version is not None
        record = self._version(p, p.model_name, p.pinned_version)
        return dataclasses.replace(
            baseline.baseline_of(record, f"version {p.pinned_version} pinned in the manifest"),
            what_if=True,
        )

    def _recorded_baseline(self, p: Plan, existing: VersionRecord) -> tuple[Baseline | None, bool]:
        recorded = existing.tags.get("baseline_version", "none")
        if not (recorded.isascii() and recorded.isdigit()):
            return None, baseline.recorded_outcome(existing) is Outcome.NEW_BENCHMARK
        model = existing.tags.get("hokusai_baseline_model", p.model_name)
        record = self._version(p, model, int(recorded))
        return baseline.baseline_of(record, "the baseline it was registered against"), False

    def _version(self, p: Plan, model: str, version: int) -> VersionRecord:
        record = self.registry.get_version(model, version)
        if record is None:
            problem = "does not exist"
        elif record.benchmark_value is None:
            problem = "has no readable benchmark_value"
        elif not p.benchmark.comparable(baseline.Benchmark.from_tags(record.tags)):
            theirs = baseline.Benchmark.from_tags(record.tags)
            problem = (
                f"is benchmarked on {theirs.metric} / {theirs.label()}, not "
                f"{p.benchmark.metric} / {p.benchmark.label()}"
            )
        else:
            return record
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


def _recorded_decision(existing: VersionRecord | None, current: Decision) -> Decision:
    """The rule and threshold a registration was judged by, from its tags: a re-run with
    other options must not judge the same version differently."""
    tags = existing.tags if existing else {}
    try:
        rule = Rule(tags["hokusai_rule"])
        threshold = float(tags["hokusai_threshold"])
    except (KeyError, ValueError):
        return current
    significance = tags.get("hokusai_require_significance", "").lower() == "true"
    return dataclasses.replace(
        current, threshold=threshold, rule=rule, require_significance=significance
    )


def _as_recorded(verdict: Verdict, existing: VersionRecord, notes: list[str]) -> Verdict:
    """The verdict of record of an existing version is the one written when it was
    registered; a re-run reports it, whatever the options or the registry say now."""
    recorded = baseline.recorded_outcome(existing)
    if recorded is None or recorded is verdict.outcome:
        return verdict
    notes.append(
        f"version {existing.version} was registered as `{recorded}`: that is its verdict of "
        f"record (judged today it would be `{verdict.outcome}`)"
    )
    return dataclasses.replace(verdict, outcome=recorded)


def verdict_tags(verdict: Verdict, decision: Decision | None = None) -> dict[str, str]:
    baseline = verdict.baseline
    return {
        "deltaone_achieved": tag_text(verdict.achieved),
        "delta": "none" if verdict.delta is None else repr(verdict.delta),
        "baseline_version": str(baseline.version) if baseline and baseline.version else "none",
        "hokusai_baseline_model": baseline.model if baseline and baseline.model else "none",
        "hokusai_verdict": str(verdict.outcome),
        "hokusai_rule": str(verdict.rule),
        "hokusai_threshold": repr(verdict.threshold),
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
    status: Status, p: Plan, registry: MlflowRegistry, decision: Decision
) -> tuple[RegistryWork, Report, VersionRecord | None]:
    """The first steps of compare and register: an earlier registration of this very plan,
    and the verdict against the baseline."""
    work = RegistryWork(registry, decision)
    report = Report(status, p, registry.settings.display_uri)
    existing = registry.find_version_by_key(p.model_name, p.registration_key)
    of_record = status is Status.REGISTERED
    report.verdict, notes, report.history = work.judge(p, existing, of_record=of_record)
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
    tags = {**p.version_tags, **verdict_tags(report.verdict, decision)}
    if report.verdict.outcome is Outcome.NEW_BENCHMARK:
        tags[baseline.ANCHORED_TAG] = tag_text(work.anchors)
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


def dry_run(p: Plan, tracking_uri: str, decision: Decision | None = None) -> Report:
    """Contacts nothing. A value pinned in the manifest gives a what-if verdict; a pinned
    version would need the registry, so it is only named."""
    report = Report(Status.DRY_RUN, p, tracking_uri, notes=list(p.notes))
    if p.pinned_value is not None:
        decision = decision or Decision()
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
