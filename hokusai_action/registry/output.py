"""Registration and comparison results as text for people and JSON for machines.

Renders the plain Report and VersionRecord values; the pull-request comment builds on the
same values.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hokusai_action.inert import shown
from hokusai_action.registry.attestation import finite_or_none
from hokusai_action.registry.deltaone import Outcome, Verdict
from hokusai_action.registry.measured import measured_json, value_origin
from hokusai_action.registry.results import Report, Status

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import VersionRecord

JSON_FORMAT_VERSION = 1

OUTCOME_TEXT = {
    Outcome.FIRST: "first registration (no baseline to compare with)",
    Outcome.NEW_BENCHMARK: "first version on a new benchmark (nothing comparable to judge it by)",
    Outcome.DELTAONE: "DeltaOne achieved",
    Outcome.NOT_SIGNIFICANT: "improved enough, but not significantly: no DeltaOne",
    Outcome.BELOW_THRESHOLD: "improved, but below the DeltaOne threshold",
    Outcome.UNCHANGED: "no change from the baseline",
    Outcome.REGRESSION: "regression: worse than the baseline",
    Outcome.SAME_MODEL: "the same model files as an earlier version: no DeltaOne",
    Outcome.BENCHMARK_MISMATCH: "not measured on the benchmark of record: no DeltaOne",
    Outcome.MODEL_NOT_IN_RECORD: (
        "a model the token's benchmark of record does not list: no DeltaOne"
    ),
}


def points(fraction: float) -> str:
    """A difference of proportions in percentage points, precise enough near zero that
    `+0.00` never stands for a bound that excludes zero."""
    value = fraction * 100
    return f"{value:+.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:+.1e}"


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def baseline_text(v: Verdict, model_name: str) -> str:
    """Which baseline and why: a version (of another model, when the token spans several)
    that is the best rewarded value, or a what-if pinned in the manifest."""
    assert v.baseline is not None
    b = v.baseline
    if not b.version:
        where = "pinned in the manifest"
    else:
        other = b.model and b.model != model_name
        where = f"version {b.version}" + (f" of {shown(b.model)}" if other else "")
        if b.why and not b.what_if:
            where += f", {shown(b.why, 200)}"
    return f"what-if: {where}" if b.what_if else where


def significance(v: Verdict) -> str | None:
    """`[+0.18, +2.08] pp (above zero: significant)`, when sample counts let us tell."""
    if v.ci is None:
        return None
    if v.improvement_significant():
        verdict = "better: significant"
    elif v.ci.low <= 0 <= v.ci.high:
        verdict = "includes zero: not significant"
    else:
        verdict = "worse: significant"
    return f"[{points(v.ci.low)}, {points(v.ci.high)}] pp ({verdict})"


def verdict_line(v: Verdict, model_name: str) -> str:
    if v.baseline is None:
        return f"{shown(v.metric)} {number(v.value)}: {OUTCOME_TEXT[v.outcome]}"
    where = baseline_text(v, model_name)
    return (
        f"{shown(v.metric)} {number(v.value)} vs baseline {number(v.baseline.value)} ({where}): "
        f"{v.improvement_text()} -> {OUTCOME_TEXT[v.outcome]}"
    )


def load_line(tracking_uri: str, display_uri: str, name: str, ref: str | int) -> str:
    """The shell line that loads a registered model back (`ref` an alias or a version
    number). MLflow looks in its own default store unless told where the registry is, so the
    URI is part of the line; a server's credentials stay in the environment, never shown."""
    import shlex

    model_uri = f"models:/{name}@{ref}" if isinstance(ref, str) else f"models:/{name}/{ref}"
    code = f"import mlflow; print(mlflow.pyfunc.load_model({json.dumps(model_uri)}))"
    uri = tracking_uri if tracking_uri.startswith("sqlite:") else display_uri
    return f"MLFLOW_TRACKING_URI={shlex.quote(uri)} python -c {shlex.quote(code)}"


def report_text(r: Report) -> list[str]:
    p = r.plan
    lines = [f"{shown(p.model_name)} ({shown(p.token_id)}) from {shown(p.manifest, 200)}"]
    if r.what_if:
        lines.append("  what-if: judged against a baseline pinned in the manifest, not of record")
    if r.status is Status.DRY_RUN:
        if r.verdict is not None:
            lines.append(f"  {verdict_line(r.verdict, p.model_name)}")
        lines += [
            f"  dry run: nothing contacted; would register into {r.tracking_uri}",
            f"  benchmark: {shown(p.metric.name)} = {number(p.value)} "
            f"({shown(value_origin(p), 300)})",
            f"  model: {shown(p.model.path, 200)} ({p.model.files} file(s), "
            f"{p.model.size:,} bytes, "
            f"{'MLflow model' if p.model.is_mlflow_model else 'plain files'})",
            f"  params: {len(p.params)}, metrics: {len(p.metrics)}, version tags: "
            f"{len(p.version_tags)} + the verdict's",
            f"  registration key: {p.registration_key}",
        ]
        return lines + [f"  note: {note}" for note in r.notes]
    if r.status is Status.REGISTERED:
        lines.append(f"  registered version {r.version} (run {r.run_id}) in {r.tracking_uri}")
    elif r.status is Status.ALREADY_REGISTERED:
        lines.append(
            f"  already registered as version {r.version} (run {r.run_id}): nothing new written"
        )
    else:
        lines.append(f"  compared against {r.tracking_uri}: nothing written")
    if r.verdict is not None:
        lines.append(f"  {verdict_line(r.verdict, p.model_name)}")
        if r.verdict.baseline is not None:
            lines.append(f"  rule: {r.verdict.rule_text}")
        if (interval := significance(r.verdict)) is not None:
            lines.append(f"  95% CI of the difference: {interval}")
        lines.append(f"  value: {shown(value_origin(p), 300)}")
    if r.aliases:
        lines.append(f"  aliases: {', '.join(r.aliases)}")
    if r.attestation_sha256:
        lines.append(f"  attestation sha256: {r.attestation_sha256}")
    if r.version is not None and r.tracking_uri.startswith("sqlite:"):  # MLflow's default
        ref: str | int = r.aliases[0] if r.aliases else r.version  # store is not it
        lines.append(f"  load it: {load_line(r.tracking_uri, r.tracking_uri, p.model_name, ref)}")
    for name, url in r.links.items():
        lines.append(f"  {name.replace('_', ' ')}: {url}")
    lines += [f"  note: {note}" for note in r.notes]
    return lines


def report_json(r: Report) -> dict[str, Any]:
    p, v = r.plan, r.verdict
    baseline = v.baseline if v else None
    out: dict[str, Any] = {
        "manifest": p.manifest,
        "status": str(r.status),
        "model_name": p.model_name,
        "token_id": p.token_id,
        "version": r.version,
        "run_id": r.run_id,
        "metric": p.metric.name,
        "direction": str(p.metric.direction),
        "value": p.value,
        "value_source": p.value_source,
        "measured": measured_json(p),
        "model_sha256": p.model.sha256,
        "repository_path": p.version_tags.get("hokusai_manifest"),
        "baseline_value": baseline.value if baseline else None,
        "baseline_version": baseline.version if baseline else None,
        "baseline_model": baseline.model if baseline else None,
        "baseline_why": baseline.why or None if baseline else None,
        "what_if": r.what_if,
        "benchmark": {
            "metric": p.benchmark.metric,
            "dataset": p.benchmark.dataset,
            "dataset_version": p.benchmark.dataset_version,
            "dataset_sha256": p.benchmark.sha256,
        },
        "delta": v.delta if v else None,
        "improvement": finite_or_none(v.improvement) if v else None,
        "deltaone": v.achieved if v else None,
        "outcome": str(v.outcome) if v else None,
        "reason": v.reason or None if v else None,
        "rule": str(v.rule) if v else None,
        "threshold": v.threshold if v else None,
        "benchmark_record": None if r.record is None else r.record.revision,
        "record_created": r.record_created,
        "deltaone_unreported": r.unreported_deltaone,
        "ci": None,
        "aliases": r.aliases,
        "attestation_sha256": r.attestation_sha256,
        "registration_key": p.registration_key,
        "commit": p.commit,
        "tracking_uri": r.tracking_uri,
        "links": r.links,
        "history": [{"version": ver, "value": val} for ver, val in r.history],
        "notes": r.notes,
    }
    if v is not None and v.ci is not None:
        out["ci"] = {
            "level": 0.95,
            "low": v.ci.low,
            "high": v.ci.high,
            "excludes_zero": v.ci.excludes_zero,
            "significant": v.improvement_significant(),
        }
    if r.status is Status.DRY_RUN:
        out["plan"] = {
            "model": {
                "path": str(p.model.path), "mlflow_model": p.model.is_mlflow_model,
                "files": p.model.files, "size": p.model.size, "sha256": p.model.sha256,
            },
            "params": p.params,
            "metrics": p.metrics,
            "version_tags": p.version_tags,
            "run_tags": p.run_tags,
        }  # fmt: skip
    return out


def reports_json(reports: Iterable[Report]) -> dict[str, Any]:
    return {"format_version": JSON_FORMAT_VERSION, "results": [report_json(r) for r in reports]}


# -- registry listings ----------------------------------------------------------------------
def _time(ms: int) -> str:
    if not ms:
        return "unknown"
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def version_json(record: VersionRecord) -> dict[str, Any]:
    tags = record.tags
    return {
        "model_name": record.name,
        "version": record.version,
        "run_id": record.run_id,
        "source": record.source,
        "created": _time(record.created_ms),
        "token_id": record.token_id,
        "metric": record.metric,
        "value": record.benchmark_value,
        "delta": _float_tag(tags.get("delta")),
        "deltaone": {"true": True, "false": False}.get(tags.get("deltaone_achieved", "")),
        "baseline_version": int(b)
        if re.fullmatch(r"[0-9]{1,12}", b := tags.get("baseline_version", ""))
        else None,
        "rule": tags.get("hokusai_rule"),
        "contributor": tags.get("hokusai_contributor_address") or tags.get("hokusai_contributor"),
        "aliases": list(record.aliases),
        "tag_problems": record.tag_problems(),
        "tags": tags,
    }


def _float_tag(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


VERSION_HEADER = ("version", "created", "benchmark", "change", "DeltaOne", "contributor", "")


def version_row(record: VersionRecord) -> tuple[str, ...]:
    """One row of `list` and `lineage`; malformed tags are shown, never fatal."""
    row = version_json(record)
    value = number(row["value"]) if row["value"] is not None else "?"
    delta = row["delta"]
    if delta is None:
        change = "-"
    elif row["rule"] == "percentage_points":
        change = f"{points(delta)} pp"
    else:
        change = f"{delta:+.6g}"
    extra = [f"aliases: {', '.join(record.aliases)}"] if record.aliases else []
    if problems := record.tag_problems():
        extra.append(f"malformed: {'; '.join(problems)}")
    return (
        f"{shown(record.name)} v{record.version}",
        row["created"],
        f"{shown(row['metric'] or '?')} {value}",
        change,
        {True: "yes", False: "no", None: "?"}[row["deltaone"]],
        shown(row["contributor"] or "-"),
        shown("  ".join(extra), 200),
    )


TOKEN_HEADER = ("token", "metric", "models", "versions", "latest", "best rewarded")


def token_summaries(records: list[VersionRecord]) -> list[dict[str, Any]]:
    """One entry per token: its models, latest version and rewarded high-water mark on the
    benchmark of its latest version (what the next version will be judged against)."""
    from hokusai_action.registry import baseline
    from hokusai_action.validation import metrics

    by_token: dict[str, list[VersionRecord]] = {}
    for record in records:
        if record.token_id:
            by_token.setdefault(record.token_id, []).append(record)
    out = []
    for token, versions in sorted(by_token.items()):
        latest = versions[-1]
        bench = baseline.Benchmark.from_tags(latest.tags)
        known = metrics.lookup(bench.metric).metric
        direction = metrics.Direction(bench.direction) if bench.direction in ("higher", "lower") \
            else (known.direction if known else metrics.Direction.HIGHER)  # fmt: skip
        choice = baseline.choose(versions, bench, direction)
        best = choice.baseline
        out.append({
            "token_id": token,
            "metric": bench.metric or None,
            "dataset": bench.label() if bench.dataset else None,
            "models": sorted({r.name for r in versions}),
            "versions": len(versions),
            "latest": {"model_name": latest.name, "version": latest.version,
                       "value": latest.benchmark_value},
            "best_rewarded": None if best is None
            else {"model_name": best.model, "version": best.version, "value": best.value},
        })  # fmt: skip
    return out


def token_row(summary: dict[str, Any]) -> tuple[str, ...]:
    latest, best = summary["latest"], summary["best_rewarded"]
    metric = (summary["metric"] or "?") + (
        f" on {summary['dataset']}" if summary["dataset"] else ""
    )
    return (
        summary["token_id"],
        metric,
        ", ".join(summary["models"]),
        str(summary["versions"]),
        f"{latest['model_name']} v{latest['version']} ({number(latest['value'])})",
        f"{number(best['value'])} ({best['model_name']} v{best['version']})" if best else "-",
    )


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    """Rows aligned in columns under a header, for the terminal."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]


def show_text(record: VersionRecord) -> list[str]:
    """`show`: fields as people read them, then every tag."""
    data = version_json(record)
    yes_no = {True: "yes", False: "no", None: "-"}
    lines = []
    for key, value in data.items():
        if key in ("tags", "tag_problems"):
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        elif value is None or isinstance(value, bool):
            value = yes_no[value]
        lines.append(f"{key}: {shown(value, 200)}")
    lines += [f"malformed: {shown(problem, 200)}" for problem in data["tag_problems"]]
    lines.append("tags:")
    lines += [f"  {shown(key)}: {shown(value)}" for key, value in sorted(record.tags.items())]
    return lines
