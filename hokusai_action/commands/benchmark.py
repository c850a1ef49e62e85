"""`hokusai-action benchmark show|set`: the owner's view and edit of a token's benchmark of
record (see registry/record.py). Plain functions: the click face in cli.py parses options and
prints what these return.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hokusai_action.errors import HokusaiError
from hokusai_action.inert import shown
from hokusai_action.registry import record
from hokusai_action.registry.deltaone import Rule, rule_problem

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import MlflowRegistry
    from hokusai_action.registry.plan import Plan


@dataclass(frozen=True, slots=True)
class Changes:
    """What `benchmark set` was asked to change; None keeps the current value."""

    rule: str | None = None  # "auto", "points", "relative"
    threshold: str | None = None
    floor: str | None = None
    require_significance: bool | None = None
    add_models: tuple[str, ...] = ()
    remove_models: tuple[str, ...] = ()
    target: str | None = None
    measurement: str | None = None
    data_artifact: str | None = None  # a registry artifact URI: the data, read-restricted
    data_sha256: str | None = None  # its hash, set by set_record once it has read it


@dataclass(frozen=True, slots=True)
class Outcome:
    record: record.BenchmarkRecord
    changed: list[str]
    written: bool
    notes: list[str]


def decimal_option(option: str, text: str) -> str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0:
        raise HokusaiError(f"{option} {shown(text)} is not a finite number >= 0", exit_code=2)
    return text


def proposed(
    token_id: str,
    current: record.BenchmarkRecord | None,
    source: Plan | None,
    changes: Changes,
    env: Mapping[str, str] | None = None,
) -> record.BenchmarkRecord:
    """The revision `benchmark set` would write: the current one (or the manifest's benchmark
    with `--from`), with the options applied."""
    from hokusai_action.registry.register import Decision, first_record

    env = os.environ if env is None else env
    if source is not None:
        if source.token_id != token_id:
            raise HokusaiError(
                f"{source.manifest} is a manifest of token {source.token_id}, not {token_id}",
                exit_code=2,
            )
        base = first_record(source, Decision(floor="1"), "benchmark set")
        if current is not None:  # the benchmark from the manifest, the rest as it was
            models = (*current.models, *(m for m in base.models if m not in current.models))
            base = dataclasses.replace(
                base, models=models, rule=current.rule, threshold=current.threshold,
                floor=current.floor, require_significance=current.require_significance,
                target=base.target or current.target, measurement=current.measurement,
            )  # fmt: skip
        elif changes.floor is None:
            base = dataclasses.replace(base, floor=None)
    elif current is not None:
        base = current
    else:
        raise HokusaiError(
            f"token {token_id} has no benchmark of record yet: pass --from hokusai.yaml (a "
            "manifest of the token) to create it",
            exit_code=2,
        )
    new = _apply(base, changes)
    metric = new.as_metric
    if problem := rule_problem(metric, new.the_rule, float(new.threshold)):
        raise HokusaiError(problem, exit_code=2)
    if new.the_rule is Rule.RELATIVE and new.floor is None:
        raise HokusaiError(
            f"the relative rule needs --floor: the smallest |baseline| a gain of `{metric.name}` "
            "is measured from (a baseline near zero must not pay on noise), e.g. --floor 0.001",
            exit_code=2,
        )
    if new.the_rule is Rule.RELATIVE and new.floor is not None and Decimal(new.floor) == 0:
        raise HokusaiError(record.ZERO_FLOOR, exit_code=2)
    if not new.models:
        raise HokusaiError("a benchmark of record needs at least one model", exit_code=2)
    if new.measurement == "required" and not (
        new.target and (new.dataset.path or new.dataset.artifact)
    ):
        raise HokusaiError(
            "--measurement required needs the data to measure on and its label column: the "
            "record has "
            + ("no data file (pass --from a manifest whose benchmark.dataset has a path)"
               if not new.dataset.path else "no target (pass --target COLUMN)"),
            exit_code=2,
        )  # fmt: skip
    return dataclasses.replace(
        new, origin="benchmark set", set_by=record.who(env),
        set_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )  # fmt: skip


def _apply(base: record.BenchmarkRecord, c: Changes) -> record.BenchmarkRecord:
    rules = {"auto": "", "points": str(Rule.POINTS), "relative": str(Rule.RELATIVE)}
    models = [m for m in base.models if m not in c.remove_models]
    models += [m for m in c.add_models if m not in models]
    if len(models) > record.MAX_MODELS:
        raise HokusaiError(f"a record lists at most {record.MAX_MODELS} models", exit_code=2)
    updates: dict[str, Any] = {"models": tuple(models)}
    if c.rule is not None:
        updates["rule"] = rules[c.rule]
    if c.threshold is not None:
        updates["threshold"] = decimal_option("--deltaone-threshold", c.threshold)
    if c.floor is not None:
        updates["floor"] = decimal_option("--floor", c.floor)
    if c.require_significance is not None:
        updates["require_significance"] = c.require_significance
    if c.target is not None:
        updates["target"] = c.target or None
    if c.measurement is not None:
        updates["measurement"] = c.measurement
    if c.data_artifact is not None:
        updates["dataset"] = dataclasses.replace(
            base.dataset, artifact=c.data_artifact or None, sha256=c.data_sha256
        )
    new = dataclasses.replace(base, **updates)
    if new.the_rule is Rule.POINTS:
        new = dataclasses.replace(new, floor=None)  # a floor means nothing in points
    return new


def set_record(
    registry: MlflowRegistry,
    token_id: str,
    source: Plan | None,
    changes: Changes,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Write a new revision when it changes anything; say what it changes and what follows."""
    current = registry.benchmark_record(token_id)
    if changes.data_artifact:  # the record holds the data's hash: read it once, here
        import tempfile

        from hokusai_action.registry.plan import dataset_sha256

        with tempfile.TemporaryDirectory(prefix="hokusai-data-") as tmp:
            data = registry.download_artifact(changes.data_artifact, Path(tmp))
            changes = dataclasses.replace(changes, data_sha256=dataset_sha256(data))
    new = proposed(token_id, current, source, changes)
    changed = record.fields_changed(current, new)
    notes: list[str] = []
    if current is not None and not changed:
        return Outcome(current, [], False, ["no change: the record in force already says this"])
    if current is not None and record.changes_benchmark(current, new):
        notes.append(
            "this revision changes what is measured: it is a new benchmark, and nothing on it "
            "is a DeltaOne until the token's latest rewarded model (the same model files) is "
            "registered measured on it"
        )
    listed = current.models if current is not None else ()
    for name in (m for m in new.models if m not in listed):
        if registry.model_exists(name):
            notes.append(
                f"`{name}` already exists in the registry: whoever created it (MANAGE) or may "
                "edit it writes versions that now count as the token's history. Check that only "
                f"the owner's account can write `{name}`"
            )
    if dry_run:
        return Outcome(new, changed, False, [*notes, "dry run: nothing was written"])
    revision = registry.write_record(new)
    return Outcome(dataclasses.replace(new, revision=revision), changed, True, notes)


def show(registry: MlflowRegistry, token_id: str) -> dict[str, Any]:
    """The record in force and every revision, for text and JSON."""
    revisions = registry.record_revisions(token_id)
    if not revisions:
        raise HokusaiError(
            f"token {token_id} has no benchmark of record: its first registration creates "
            f"one, or its owner sets it with `hokusai-action benchmark set {token_id} --from "
            "hokusai.yaml`"
        )
    current = registry.benchmark_record(token_id)
    assert current is not None
    history = []
    previous: record.BenchmarkRecord | None = None
    for r in revisions:
        if isinstance(r, record.RecordError):
            history.append({"error": str(r)})
            continue
        history.append({
            "revision": r.revision, "origin": r.origin, "set_by": r.set_by, "set_at": r.set_at,
            "changed": record.fields_changed(previous, r),
        })  # fmt: skip
        previous = r
    return {"token_id": token_id, "record": current.to_dict(), "revisions": history}


def show_text(data: dict[str, Any]) -> list[str]:
    rec = data["record"]
    d = rec["dataset"]
    rule = rec["rule"] or "auto (by metric)"
    lines = [
        f"benchmark of record of {shown(data['token_id'])}, revision {rec['revision']}",
        f"  metric:       {shown(rec['metric'])} ({rec['direction']} is better, "
        f"[{rec['minimum']}, {rec['maximum']}])",
        f"  dataset:      {shown(d['name'] or '(unnamed)')}"
        + (f" {shown(d['version'])}" if d["version"] else "")
        + (f", sha256 {d['sha256']}" if d["sha256"] else ", no sha256")
        + (f", {d['samples']} samples" if d["samples"] else ""),
        f"  rule:         {rule}, threshold {rec['threshold']}"
        + (f", floor {rec['floor']}" if rec["floor"] else "")
        + (", significance required" if rec["require_significance"] else ""),
        f"  models:       {', '.join(shown(m) for m in rec['models'])}",
        f"  measurement:  {rec['measurement']}"
        + (f", target column {shown(rec['target'])}" if rec["target"] else ""),
        "revisions:",
    ]
    for h in data["revisions"]:
        if "error" in h:
            lines.append(f"  unreadable: {shown(h['error'])}")
            continue
        lines.append(
            f"  {h['revision']}: {shown(h['origin'])} by {shown(h['set_by'] or '?')} at "
            f"{shown(h['set_at'] or '?')}; changed {', '.join(h['changed']) or 'nothing'}"
        )
    return lines
