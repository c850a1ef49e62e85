"""Judging a plan: the verdict against the token's benchmark of record and its rewarded
baseline, shared by compare and register (register.py), which do the I/O around it.

`RegistryWork.judge` reads the token's versions once, chooses the baseline (baseline.py),
decides (deltaone.py), and says why where nothing is paid: a model or benchmark the record
does not know, model files already rewarded, or a re-run judged as it was recorded.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import baseline, record
from hokusai_action.registry.deltaone import (
    DEFAULT_THRESHOLD,
    Baseline,
    NotComparable,
    Outcome,
    Rule,
    Verdict,
    decide,
    rule_for,
)
from hokusai_action.registry.measured import Measuring, paired_significance
from hokusai_action.registry.plan import Plan, semver_key

if TYPE_CHECKING:  # the registry imports MLflow: only callers that register load it
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord
    from hokusai_action.registry.record import BenchmarkRecord


class Promote(enum.StrEnum):
    CHALLENGER = "challenger"  # a DeltaOne version becomes `challenger`; people promote it
    CHAMPION = "champion"  # a DeltaOne version becomes `champion` at once


@dataclass(frozen=True, slots=True)
class Decision:
    """How to judge improvements; the same for compare and register. Once a token has a
    benchmark of record, the record's rule, threshold, floor and significance decide, and
    these shape only a record created by a first registration."""

    threshold: float | str = DEFAULT_THRESHOLD
    rule: Rule | None = None  # None: by metric (points for metrics bounded by [0, 1])
    promote: Promote = Promote.CHALLENGER
    require_significance: bool = False  # a DeltaOne also needs its 95% interval above zero
    floor: str | None = None  # relative rule: gains are measured from max(|baseline|, floor)
    explicit: frozenset[str] = frozenset()  # the options the user set (for notices)
    # how values are measured, where the record says so
    measuring: Measuring = dataclasses.field(default_factory=Measuring)


def decision_of(rec: BenchmarkRecord, given: Decision) -> tuple[Decision, list[str]]:
    """The record's way of judging, and a notice for each option the user set otherwise."""
    decided = dataclasses.replace(
        given, threshold=rec.threshold, rule=rec.the_rule, floor=rec.floor,
        require_significance=rec.require_significance,
    )  # fmt: skip
    notes = []
    for option, theirs, ours in (
        ("--deltaone-threshold", str(given.threshold), rec.threshold),
        ("--rule", str(given.rule or rule_for(rec.as_metric)), str(rec.the_rule)),
        ("--require-significance", str(given.require_significance).lower(),
         str(rec.require_significance).lower()),
        ("--floor", str(given.floor), str(rec.floor)),
    ):  # fmt: skip
        if option in given.explicit and _number_or_text(theirs) != _number_or_text(ours):
            notes.append(
                f"{option} {theirs} is not used: the benchmark of record of {rec.token_id} "
                f"(revision {rec.revision}) says {ours}, and decides; its owner changes it with "
                f"`hokusai-action benchmark set {rec.token_id}`"
            )
    return decided, notes


def _number_or_text(text: str) -> object:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def benchmark_of(rec: BenchmarkRecord) -> baseline.Benchmark:
    d = rec.dataset
    measured = rec.measurement == "required"
    return baseline.Benchmark(rec.metric, rec.direction, d.name, d.version, d.sha256,
                              rec.range_text(), measured,
                              rec.target if measured else None)  # fmt: skip


def _same_model(p: Plan, records: list[VersionRecord], verdict: Verdict, anchors: bool) -> str:
    """Why a version with the model files of an earlier one is not paid (or ""). The one
    exception: the rewarded model measured on a new revision's benchmark, which opens it."""
    if verdict.outcome is Outcome.NEW_BENCHMARK and anchors:
        return ""
    ours, content = p.model.sha256.lower(), p.model.content_sha256.lower()
    for r in records:
        if r.tags.get("hokusai_registration_key") == p.registration_key:
            continue
        if r.tags.get(baseline.MODEL_TAG, "").strip().lower() == ours:
            return (
                f"the model files are those of {r.name} version {r.version} (sha256 "
                f"{ours[:16]}…): one model is rewarded once, whatever value it claims"
            )
        if content and r.tags.get(baseline.CONTENT_TAG, "").strip().lower() == content:
            return (
                f"the model files hold the same bytes as those of {r.name} version "
                f"{r.version}, under other file names: a renamed file is the same model, "
                "rewarded once"
            )
    return ""


PIN_IGNORED = (
    "benchmark.baseline in the manifest was ignored: the verdict of record is judged only "
    "against the registry's rewarded baseline (a pinned baseline is a what-if for `compare` "
    "and dry runs)"
)


class RegistryWork:
    """The steps shared by compare and register, against one registry."""

    def __init__(
        self, registry: MlflowRegistry, decision: Decision,
        of_record: BenchmarkRecord | None = None,
    ) -> None:  # fmt: skip
        self.registry = registry
        self.decision = decision
        self.record = of_record
        self.anchors = True  # set by judge(): whether a new benchmark is opened by this plan
        self.decided = decision  # set by judge(): the rule it was judged by (the record's)
        self.bench = baseline.Benchmark("")  # set by judge(): what it is measured as
        self.token_versions: list[VersionRecord] = []  # set by judge(): read once per plan

    def judge(
        self, p: Plan, existing: VersionRecord | None = None, *, of_record: bool = False
    ) -> tuple[Verdict, list[str], list[tuple[int, float]]]:
        """The verdict for the plan, the notes on how the baseline was chosen, and the
        token's history on this benchmark.

        Judged against the token's benchmark of record (`self.record`): its benchmark, rule
        and threshold, and only the versions of its models. `of_record` (register): the
        baseline comes from the registry alone; a baseline pinned in the manifest is ignored,
        and said to be. Otherwise (compare) a pin makes a what-if. An existing registration is
        judged again against the baseline it was judged against.
        """
        rec = self.record
        records = self.token_versions = self.registry.versions_for_token(p.token_id)
        notes: list[str] = []
        bench, decision, samples = p.benchmark, self.decision, None
        if rec is not None:
            records = [r for r in records if r.name in rec.models]
            bench = benchmark_of(rec)
            decision, said = decision_of(rec, self.decision)
            notes += said
            samples = rec.dataset.samples
            unjudged = self._unjudged(p, rec, notes)
            # An existing registration is judged as it was recorded, but only in a model of
            # the record: anyone may create another model and a version in it carrying the
            # registration key a pull request will have, and a `deltaone` verdict tag.
            if unjudged is not None and (existing is None or p.model_name not in rec.models):
                return unjudged, notes, []
        self.bench = bench
        choice = baseline.choose(
            records, bench, p.metric.direction, p.registration_key, p.model.sha256
        )
        pinned = p.pinned_value is not None or p.pinned_version is not None
        new_benchmark = False
        if pinned and not of_record:
            chosen = self._pinned_baseline(p)
            notes.append(f"what-if: {chosen.why}; the verdict of record ignores it")
        elif existing is not None:  # judged as it was, on the benchmark it was judged on
            self.bench = baseline.Benchmark.from_tags(existing.tags)
            chosen, new_benchmark = self._recorded_baseline(p, existing)
        else:
            chosen, new_benchmark = choice.baseline, choice.new_benchmark
            notes += choice.notes
            self.anchors = choice.anchors
        if pinned and of_record:
            notes.append(PIN_IGNORED)
        rerun = existing is not None and not (pinned and not of_record)
        if rerun:
            decision = _recorded_decision(existing, decision)
        self.decided = decision
        try:
            verdict = decide(
                p.metric, p.value, chosen, threshold=decision.threshold,
                rule=decision.rule, samples=samples if rec else p.samples,
                new_benchmark=new_benchmark,
                require_significance=decision.require_significance, value_text=p.value_text,
                floor=decision.floor, baseline_samples=samples,
            )  # fmt: skip
        except NotComparable as e:
            raise HokusaiError(f"{p.manifest}: not comparable: {e}") from e
        if decision.require_significance and not rerun and chosen is choice.baseline:
            paired = paired_significance(verdict, p, choice.record, self.registry)
            if paired is not None:
                verdict, said = paired
                notes.append(said)
        if rerun and existing is not None:
            verdict = _as_recorded(verdict, existing, notes)
        elif same := _same_model(p, records, verdict, self.anchors):
            verdict = dataclasses.replace(verdict, outcome=Outcome.SAME_MODEL, reason=same)
        if verdict.reason:
            notes.append(f"no DeltaOne: {verdict.reason}")
        return verdict, notes, choice.history

    def _unjudged(self, p: Plan, rec: BenchmarkRecord, notes: list[str]) -> Verdict | None:
        """The verdict of a plan that cannot be judged against the record, or None."""
        fix = f"`hokusai-action benchmark set {p.token_id}`"
        if p.model_name not in rec.models:
            outcome = Outcome.MODEL_NOT_IN_RECORD
            reason = (
                f"`{p.model_name}` is not one of the models of token {p.token_id}'s benchmark "
                f"of record (revision {rec.revision}: {', '.join(rec.models)}); only its owner "
                f"adds one, with {fix} --add-model NAME"
            )
        else:
            # a measured value was measured on the record's data (its hash checked)
            data = p.measured.dataset_sha256 if p.measured is not None else p.benchmark.sha256
            found = record.reconcile(rec, p.metric, p.dataset, data)
            notes += found.notices
            if not found.mismatches:
                return None
            outcome = Outcome.BENCHMARK_MISMATCH
            reason = (
                f"the manifest's benchmark is not the token's benchmark of record (revision "
                f"{rec.revision}: {rec.summary()}): "
                + "; ".join(found.mismatches)
                + f". A pull request cannot change it; the token's owner can, with {fix} "
                "--from hokusai.yaml"
            )
        notes.append(f"no DeltaOne: {reason}")
        metric = rec.as_metric
        return Verdict(outcome, metric.name, metric.direction, rec.the_rule,
                       float(rec.threshold), p.value, None, None, None, reason=reason)  # fmt: skip

    def _pinned_baseline(self, p: Plan) -> Baseline:
        if p.pinned_value is not None:
            return Baseline(p.pinned_value, why="value pinned in the manifest", what_if=True)
        assert p.pinned_version is not None
        found = self._version(p, p.model_name, p.pinned_version)
        return dataclasses.replace(
            baseline.baseline_of(found, f"version {p.pinned_version} pinned in the manifest"),
            what_if=True,
        )

    def _recorded_baseline(self, p: Plan, existing: VersionRecord) -> tuple[Baseline | None, bool]:
        recorded = existing.tags.get("baseline_version", "none")
        if not (recorded.isascii() and recorded.isdigit()):
            return None, baseline.recorded_outcome(existing) is Outcome.NEW_BENCHMARK
        model = existing.tags.get("hokusai_baseline_model", p.model_name)
        found = self._version(p, model, int(recorded))
        return baseline.baseline_of(found, "the baseline it was registered against"), False

    def _version(self, p: Plan, model: str, version: int) -> VersionRecord:
        found = self.registry.get_version(model, version)
        if found is None:
            problem = "does not exist"
        elif found.benchmark_value is None:
            problem = "has no readable benchmark_value"
        elif not self.bench.comparable(baseline.Benchmark.from_tags(found.tags)):
            theirs = baseline.Benchmark.from_tags(found.tags)
            problem = (
                f"is benchmarked on {theirs.metric} / {theirs.label()}, not "
                f"{self.bench.metric} / {self.bench.label()}"
            )
        else:
            return found
        raise HokusaiError(f"{p.manifest}: baseline version {version} of `{model}` {problem}")

    def check_semver(self, p: Plan) -> None:
        if not p.semver:
            return
        ours = semver_key(p.semver)
        newest: tuple[Any, str, int] | None = None
        for version in self.registry.versions_of_model(p.model_name):
            text = version.tags.get("hokusai_semver", "")
            key = semver_key(text)
            if key and (newest is None or key > newest[0]):
                newest = (key, text, version.version)
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
        threshold = tags["hokusai_threshold"]
        if not Decimal(threshold).is_finite():
            return current
    except (KeyError, ValueError, InvalidOperation):
        return current
    significance = tags.get("hokusai_require_significance", "").lower() == "true"
    floor = tags.get("hokusai_floor")
    return dataclasses.replace(
        current, threshold=threshold, rule=rule, require_significance=significance,
        floor=floor if floor and floor != "none" else None,
    )  # fmt: skip


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
