"""Measured, not claimed: the value that pays is computed by hokusai-action, not typed by the
person it pays.

When a token's benchmark of record says `measurement: required`, `register` and `compare`
load the model (in a child process, see hokusai_action.measure), predict on the record's
data, and score the predictions with scikit-learn. The verdict of record then uses that value,
rounded to 12 significant digits; a claim in the manifest is only checked against it, within
`--tolerance`, and a claim that differs is refused (`value-mismatch`). Under `measurement:
off` values are claimed, as before. Claimed and measured values are different benchmarks
(baseline.Benchmark.measured): they never share a high-water mark.

Loading a model runs code the pull request wrote, so it is never done where the secrets of a
privileged event meet a fork's files (`workflow_run`, `pull_request_target`).
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from hokusai_action.errors import HokusaiError
from hokusai_action.inert import shown
from hokusai_action.registry.baseline import MEASURED_TAG, MEASURED_TARGET_TAG
from hokusai_action.registry.deltaone import Outcome, Verdict, exact
from hokusai_action.registry.plan import TO_BE_MEASURED, Plan, with_key
from hokusai_action.registry.record import Dataset
from hokusai_action.validation.rules import find_root, measurable

if TYPE_CHECKING:
    from hokusai_action.measure import Predictions
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord
    from hokusai_action.registry.record import BenchmarkRecord
    from hokusai_action.registry.warm import Started, Warm

PRIVILEGED_EVENTS = frozenset({"workflow_run", "pull_request_target"})
MEASURED_VALUE_TAG = "hokusai_benchmark_measured_value"
CLAIMED_VALUE_TAG = "hokusai_benchmark_claimed_value"
DEFAULT_TOLERANCE = "1e-6"
PREDICTIONS_DIR = "hokusai/predictions"
FORMATS = (".csv", ".parquet", ".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Measuring:
    """How values are measured: options of `register`, `compare` and the action."""

    tolerance: str = DEFAULT_TOLERANCE  # decimal text: |claim - measurement| allowed
    env_manager: str = "local"
    event: str = ""  # the GitHub event; a privileged one never loads a model
    timeout: float = 600.0
    # under a privileged event: what the pull request's own run measured (shown, unverified)
    relayed: tuple[Relayed, ...] = ()
    # model processes started before the registry was read (warm.py); None: start each here
    warm: Warm | None = field(default=None, compare=False, repr=False)

    @property
    def may_load(self) -> bool:
        return self.event not in PRIVILEGED_EVENTS


@dataclass(frozen=True, slots=True)
class Relayed:
    """A measurement the pull request's own (unprivileged) run reported: its results file
    passed on by the fork-safe pattern. The fork wrote it, so it is shown, never recorded."""

    manifest: str
    model_sha256: str
    dataset_sha256: str
    metric: str
    value: float
    rows: int
    dataset: str


@dataclass(frozen=True, slots=True)
class Measured:
    """What hokusai-action measured for a plan, as it is recorded."""

    value: float  # rounded to 12 significant digits: the value of record
    text: str
    claimed_text: str | None  # the manifest's claim, or None
    dataset: str  # the data's name, as people call it
    rows: int
    dataset_sha256: str
    target: str
    values: dict[str, float]  # every metric measured, rounded
    unmeasured: dict[str, str]  # metric -> why it stays claimed
    packages: dict[str, str]
    # per row, from the model's process; written as .npz only when registered (log_measurement)
    predictions: Predictions | None = field(repr=False, default=None)
    unverified: bool = False  # relayed from the pull request's own run: shown, never recorded
    # the labels scored, kept for the paired test: data downloaded from the registry (a holdout
    # kept as an artifact) is removed once measured, so it cannot be read again
    truth: object = field(repr=False, default=None)

    def label(self) -> str:
        if self.unverified:
            return (f"measured in the pull request's own run on {self.dataset} ({self.rows:,} "
                    "rows), not verified")  # fmt: skip
        return f"measured by hokusai-action on {self.dataset} ({self.rows:,} rows)"


def default_measurement(p: Plan) -> str:
    """A new record's policy: `required` when the manifest names data hokusai-action can
    read and its label column, `off` otherwise."""
    bench = p.manifest_data["benchmark"]
    path = bench.get("dataset", {}).get("path", "") if measurable(bench) else ""
    if Path(path).suffix.lower() not in FORMATS:
        return "off"
    from hokusai_action.measure import scoring

    return "required" if p.metric.name in scoring.MEASURABLE else "off"


def repository_path(p: Plan) -> str | None:
    """The manifest's dataset path from the repository's root, as a record keeps it."""
    path = p.dataset.get("path")
    manifest = p.version_tags.get("hokusai_manifest")
    if not isinstance(path, str) or manifest is None:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(manifest), path))


def data_file(p: Plan, rec: BenchmarkRecord | None) -> Path:
    """The manifest's data when it names some (its hash is checked against the record's),
    else the record's, from the repository's root."""
    directory = Path(p.manifest).resolve().parent
    if isinstance(p.dataset.get("path"), str) and not (rec and rec.dataset.artifact):
        return directory / p.dataset["path"]
    if rec is not None and rec.dataset.path:
        return find_root(directory) / rec.dataset.path
    raise HokusaiError(
        f"{p.manifest}: the benchmark of record names no data file to measure on: its owner "
        f"sets one with `hokusai-action benchmark set {p.token_id} --from FILE`"
    )


def claimed(p: Plan) -> bool:
    return p.value_source != TO_BE_MEASURED


def measure_plan(
    p: Plan, rec: BenchmarkRecord | None, options: Measuring, data: Path | None = None
) -> Plan:
    """The plan with its value measured where the record (or, for a token's first
    registration, the manifest) requires it; the plan as it is where values are claimed.
    Raises HokusaiError where a value is required and cannot be measured: never a fallback
    to the claim."""
    started = options.warm.take(p) if options.warm is not None else None
    try:
        return _measure_plan(p, rec, options, data, started)
    finally:
        if started is not None:
            started.close()  # measured, or not needed after all


def _measure_plan(
    p: Plan, rec: BenchmarkRecord | None, options: Measuring, data: Path | None,
    started: Started | None,
) -> Plan:  # fmt: skip
    policy = rec.measurement if rec is not None else default_measurement(p)
    if policy != "required":
        if not claimed(p):
            raise HokusaiError(
                f"{p.manifest}: the benchmark has no value, and token {p.token_id}'s values "
                "are claimed, not measured (its benchmark of record says `measurement: off`): "
                "give benchmark.value or benchmark.value_from; the owner turns measurement on "
                f"with `hokusai-action benchmark set {p.token_id} --measurement required "
                "--target COLUMN`"
            )
        return p
    expected = rec.dataset.sha256 if rec is not None else p.benchmark.sha256
    if not options.may_load:
        why = (
            f"a pull request's model is never loaded under `{options.event}`, where this "
            "repository's secrets meet the pull request's files"
        )
        if relayed := _relayed(p, expected, options.relayed):
            return relayed
        if not claimed(p):
            raise HokusaiError(f"{p.manifest}: the value must be measured, and {why}")
        return dataclasses.replace(p, notes=(*p.notes, f"claimed, not measured: {why}"))
    target = rec.target if rec is not None else p.dataset.get("target")
    if not target:
        raise HokusaiError(
            f"{p.manifest}: the benchmark of record requires measurement but names no label "
            f"column: its owner sets it with `hokusai-action benchmark set {p.token_id} "
            "--target COLUMN`"
        )
    wanted = [p.metric.name, *(m for m in p.metrics if m != p.metric.name)]
    from hokusai_action.measure import MeasureError, measure, rounded

    data = data or data_file(p, rec)
    try:
        found = measure(
            p.model.path, data, str(target), wanted, expected_data_sha256=expected,
            timeout=options.timeout, env_manager=options.env_manager,
            started=started and started.process, dataset=started and started.dataset,
        )  # fmt: skip
    except MeasureError as e:
        raise HokusaiError(
            f"{p.manifest}: the benchmark of record of {p.token_id} requires the value to be "
            f"measured, and it could not be: {e}"
        ) from e
    if found.model_sha256 != p.model.sha256:
        raise HokusaiError(
            f"{p.manifest}: the model files changed while they were measured: run again"
        )
    if p.metric.name not in found.values:
        why = found.unmeasured.get(p.metric.name, "not measured")
        raise HokusaiError(
            f"{p.manifest}: the benchmark of record of {p.token_id} requires {p.metric.name} "
            f"to be measured, and it cannot be: {why}"
        )
    value = rounded(found.values[p.metric.name])
    text = str(exact(value))
    claim = p.value_text if claimed(p) else None
    if claim is not None:
        _check_claim(p, claim, found.values[p.metric.name], options.tolerance)
    named = rec.dataset if rec is not None else _named(p.dataset)  # the record's name wins
    name = named.label() if named.name else data.name
    measured = Measured(
        value, text, claim, str(name), found.rows, found.dataset_sha256, str(target),
        {k: rounded(v) for k, v in found.values.items()}, dict(found.unmeasured),
        dict(found.packages), found.predictions, truth=found.truth,
    )  # fmt: skip
    return _apply(p, measured)


def _relayed(p: Plan, data_sha256: str | None, found: tuple[Relayed, ...]) -> Plan | None:
    """The plan judged on what its pull request's own run measured, for these very model
    files and this data; None when that run reported nothing for them."""
    manifest = p.version_tags.get("hokusai_manifest", p.manifest)
    for r in found:
        if (r.manifest, r.model_sha256, r.dataset_sha256, r.metric) == (
            manifest,
            p.model.sha256,
            data_sha256,
            p.metric.name,
        ):
            m = Measured(
                r.value, str(exact(r.value)), p.value_text if claimed(p) else None, r.dataset,
                r.rows, r.dataset_sha256, target="", values={}, unmeasured={}, packages={},
                unverified=True,  # no predictions, no labels: shown, never judged row by row
            )  # fmt: skip
            return dataclasses.replace(
                p, value=m.value, value_text=m.text, value_source=m.label(), measured=m,
                notes=(*p.notes, f"{p.metric.name} {m.label()}: the pull request's run could "
                       "report any number; the push that registers it measures it again"),
            )  # fmt: skip
    return None


def relayed_measurements(text: str) -> tuple[Relayed, ...]:
    """What a pull request's own run reported in its results file (`results-json`), read as
    hostile: anything that is not a well-formed measurement is left out."""
    import math

    try:
        data = json.loads(text[: 4 << 20])
    except ValueError:
        return ()
    results = data.get("results") if isinstance(data, dict) else None
    out = []
    for r in results if isinstance(results, list) else []:
        m = r.get("measured") if isinstance(r, dict) else None
        if not isinstance(m, dict) or m.get("unverified"):
            continue
        try:
            value, rows = m["value"], m["rows"]
            fields = (r.get("repository_path") or r["manifest"], r["model_sha256"],
                      m["dataset_sha256"], r["metric"], m["dataset"])  # fmt: skip
        except KeyError:
            continue
        if (
            all(isinstance(f, str) and 0 < len(f) <= 300 for f in fields)
            and isinstance(value, float) and math.isfinite(value)
            and isinstance(rows, int) and not isinstance(rows, bool) and rows > 0
        ):  # fmt: skip
            out.append(Relayed(fields[0], fields[1].lower(), fields[2].lower(), fields[3],
                               value, rows, fields[4]))  # fmt: skip
    return tuple(out[:1000])


def _named(dataset: dict[str, object]) -> Dataset:
    """The manifest's name and version of its data, as a record would call it."""
    name, version = dataset.get("name"), dataset.get("version")
    return Dataset(None if name is None else str(name), None if version is None else str(version))


def _check_claim(p: Plan, claim: str, value: float, tolerance: str) -> None:
    """A claim further than `tolerance` from the measurement is refused, naming both."""
    claimed_number = Decimal(claim)  # the value's own text: always a decimal number
    gap = abs(claimed_number - Decimal(repr(value)))
    if gap > Decimal(tolerance):
        places = max(0, -int(claimed_number.as_tuple().exponent))
        rounded_claim = gap <= Decimal(5).scaleb(-places - 1)
        hint = (
            f"; the claim looks rounded to {places} decimal(s): write it unrounded"
            if rounded_claim
            else ""
        )
        raise HokusaiError(
            f"{p.manifest}: value-mismatch: the manifest claims {p.metric.name} = "
            f"{shown(claim)} ({shown(p.value_source)}), but hokusai-action measured "
            f"{value!r} on the benchmark's data, {gap.normalize():f} apart (tolerance "
            f"{tolerance}): correct the claim, or remove benchmark.value/value_from and let "
            f"the value be measured{hint}"
        )


def _apply(p: Plan, m: Measured) -> Plan:
    """The plan as registered with its measured value: the value, the tags and, when there
    was no claim, the registration key."""
    tags = {
        "benchmark_value": m.text,
        MEASURED_TAG: "true",
        MEASURED_VALUE_TAG: m.text,
        CLAIMED_VALUE_TAG: m.claimed_text or "none",
        "hokusai_measured_rows": str(m.rows),
        MEASURED_TARGET_TAG: m.target,
        "hokusai_measure_packages": json.dumps(m.packages, sort_keys=True)[:4000],
    }
    logged = {**p.metrics, **m.values}
    notes = [f"{p.metric.name} {m.label()}"]
    if m.unmeasured:
        notes.append(
            "claimed, not measured: "
            + "; ".join(f"{k} ({why})" for k, why in sorted(m.unmeasured.items()))
        )
    plan = dataclasses.replace(
        p, value=m.value, value_text=m.text, value_source=m.label(), measured=m,
        version_tags={**p.version_tags, **tags}, metrics=logged,
        run_tags={**p.run_tags, "benchmark_value": m.text},
        notes=(*p.notes, *notes),
    )  # fmt: skip
    if m.claimed_text is None:
        plan = with_key(plan, m.value, m.dataset_sha256)
    return plan


def log_measurement(registry: MlflowRegistry, run_id: str, p: Plan) -> None:
    """The evaluation on the registration's run: its dataset through MLflow's dataset
    tracking, and the per-row predictions, keyed by the data's hash, that a later version's
    paired test reads instead of evaluating this one again."""
    m = p.measured
    assert m is not None
    registry.log_dataset(
        run_id, m.dataset, m.dataset_sha256,
        {"path": repository_path(p) or "", "target": m.target},
        {"rows": m.rows, "measured": m.values, "packages": m.packages},
    )  # fmt: skip
    if m.predictions is not None:
        from hokusai_action.measure.predictions import to_bytes

        npz = to_bytes(m.predictions)
        registry.log_bytes(run_id, npz, f"{PREDICTIONS_DIR}/{m.dataset_sha256}.npz")


def value_origin(p: Plan) -> str:
    """Where the value that is judged comes from, said wherever it is shown."""
    if p.measured is not None:
        claim = (
            f"; the manifest claimed {p.measured.claimed_text}" if p.measured.claimed_text else ""
        )
        return p.measured.label() + claim
    where = "" if p.value_source in ("manifest", TO_BE_MEASURED) else f", from {p.value_source}"
    return f"claimed, not measured{where}"


def measured_json(p: Plan) -> dict[str, object] | None:
    m = p.measured
    if m is None:
        return None
    return {
        "unverified": m.unverified,
        "value": m.value, "dataset": m.dataset, "rows": m.rows, "dataset_sha256": m.dataset_sha256,
        "target": m.target, "claimed": m.claimed_text, "values": m.values,
        "unmeasured": m.unmeasured, "packages": m.packages,
    }  # fmt: skip


def paired_significance(
    verdict: Verdict, p: Plan, base: VersionRecord | None, registry: MlflowRegistry
) -> tuple[Verdict, str] | None:
    """The verdict with significance decided by a paired test over both versions' per-row
    predictions on the same data (no re-evaluation of the baseline), and a note naming the
    test; None when either side has no predictions on this data (the caller then uses the
    unpaired interval). Only a DeltaOne by the threshold can be turned down."""
    m = p.measured
    if m is None or m.truth is None or m.predictions is None:  # relayed: none, nor labels
        return None
    if base is None or not base.run_id or verdict.baseline is None:
        return None
    stored = registry.read_artifact(base.run_id, f"{PREDICTIONS_DIR}/{m.dataset_sha256}.npz")
    if stored is None:
        return None
    from hokusai_action.measure import paired
    from hokusai_action.measure.predictions import from_bytes

    ours = m.predictions
    theirs = from_bytes(stored, source=f"the predictions of {base.name} v{base.version}")
    seed = int(m.dataset_sha256[:8], 16)  # the same data, the same resamples: reproducible
    result = paired.paired_test(verdict.metric, m.truth, theirs, ours, seed)
    note = (
        f"significance by a paired test on {result.n:,} rows against {base.name} "
        f"v{base.version}'s stored predictions: {result.test}, {result.detail}"
    )
    return decided_by_pairs(verdict, result.significant, result.test), note


def decided_by_pairs(verdict: Verdict, significant: bool, test: str) -> Verdict:
    """The verdict with significance decided by a paired test (register and `verify` alike):
    only a DeltaOne by the threshold can be turned down, or up from not significant."""
    if verdict.outcome is Outcome.NOT_SIGNIFICANT and significant:
        return dataclasses.replace(verdict, outcome=Outcome.DELTAONE, reason="")
    if verdict.outcome is Outcome.DELTAONE and not significant:
        reason = f"significance was required, and the paired test ({test}) does not show it"
        return dataclasses.replace(verdict, outcome=Outcome.NOT_SIGNIFICANT, reason=reason)
    return verdict
