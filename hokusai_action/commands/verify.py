"""`hokusai-action verify TOKEN`: re-measure a registered version before it is paid.

Anyone with read access to the registry and a clone of the repository can audit a verdict:
the model is taken from the registry's own artifacts (not from the repository), the data from
the benchmark of record's path (its hash checked against the record), and the value measured
again as `register` measured it (registry/measured.py). Each fact the verdict rests on is shown
as agree or disagree: the model files against the version's hash tag, the data against the
record, the value against the version's `benchmark_value`. Then the verdict is judged again
from the re-measured values (the baseline re-measured too, where it was measured), and
`verify` says whether the verdict of record stands. Any disagreement exits 1.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hokusai_action.commands.options import format_option, registry_options
from hokusai_action.errors import HokusaiError
from hokusai_action.inert import inert_json, shown

if TYPE_CHECKING:
    from hokusai_action.measure import Measurement
    from hokusai_action.measure.data import Dataset
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord
    from hokusai_action.registry.record import BenchmarkRecord


@dataclass(frozen=True, slots=True)
class Check:
    """One fact a verdict rests on, as recorded and as found again."""

    what: str
    recorded: str
    found: str
    agrees: bool


@dataclass(slots=True)
class Verification:
    token_id: str
    model_name: str
    version: int
    revision: int
    checks: list[Check] = field(default_factory=list)
    verdict_recorded: str | None = None
    verdict_now: str | None = None

    @property
    def agrees(self) -> bool:
        return all(c.agrees for c in self.checks) and self.verdict_stands

    @property
    def verdict_stands(self) -> bool:
        return self.verdict_now is None or self.verdict_now == self.verdict_recorded


def _target_version(
    registry: MlflowRegistry, rec: BenchmarkRecord, version: int | None, model: str | None
) -> VersionRecord:
    """The version to verify: the one named, or the token's newest DeltaOne (what a payer is
    about to pay), else its newest version."""
    from hokusai_action.registry.baseline import recorded_outcome
    from hokusai_action.registry.deltaone import Outcome

    versions = [v for v in registry.versions_for_token(rec.token_id) if v.name in rec.models]
    if model is not None:
        versions = [v for v in versions if v.name == model]
    if version is not None:
        versions = [v for v in versions if v.version == version]
        names = sorted({v.name for v in versions})
        if len(names) > 1:
            raise HokusaiError(
                f"version {version} exists in several models of {rec.token_id} "
                f"({', '.join(names)}): pass --model NAME",
                exit_code=2,
            )
    if not versions:
        what = f"version {version} of " if version is not None else ""
        raise HokusaiError(f"no {what}token {rec.token_id} in the models of its record")
    paid = [v for v in versions if recorded_outcome(v) is Outcome.DELTAONE]
    return (paid or versions)[-1]


def _record_at(
    registry: MlflowRegistry, token_id: str, v: VersionRecord
) -> tuple[BenchmarkRecord, Check | None]:
    """The revision of the record in force when the version was registered (by the registry's
    own creation times, which no tag can change), and a check of the version's revision tag
    against it: a tag pointed at a looser revision must not decide how it is judged."""
    from hokusai_action.registry import record
    from hokusai_action.registry.reporting import REVISION_TAG

    revisions = {r.revision: r for r in registry.record_revisions(token_id)
                 if isinstance(r, record.BenchmarkRecord)}  # fmt: skip
    created = {r.version: r.created_ms for r in
               registry.versions_of_model(record.record_model(token_id))}  # fmt: skip
    in_force = max((n for n in revisions if created.get(n, v.created_ms + 1) <= v.created_ms),
                   default=None)  # fmt: skip
    if in_force is None:
        current = registry.benchmark_record(token_id)
        if current is None:
            raise HokusaiError(f"token {token_id} has no benchmark of record: nothing to verify")
        return current, None
    wanted = v.tags.get(REVISION_TAG, "")
    check = Check(f"{v.name} v{v.version} record revision (tag)", wanted or "(none)",
                  f"{in_force} (in force when it was registered)",
                  wanted == str(in_force))  # fmt: skip
    return revisions[in_force], check


def _same(a: str | None, b: str | None, tolerance: str) -> bool:
    try:
        return abs(Decimal(a or "") - Decimal(b or "")) <= Decimal(tolerance)
    except InvalidOperation:
        return False


def _remeasure(
    registry: MlflowRegistry, v: VersionRecord, rec: BenchmarkRecord, data: Path,
    ahead: Dataset | None, tolerance: str, env_manager: str, out: Verification | None,
) -> tuple[str, Measurement] | None:  # fmt: skip
    """The version's value measured again from the registry's artifacts (text) and the
    measurement (its predictions, for the paired test), with its checks added to `out`; None
    when it cannot be measured. `ahead` is the data already read (`_read_once`)."""
    from hokusai_action.measure import MeasureError, measure, rounded
    from hokusai_action.registry.baseline import MODEL_TAG
    from hokusai_action.registry.deltaone import exact
    from hokusai_action.registry.measured import MEASURED_VALUE_TAG
    from hokusai_action.registry.plan import hash_model_files

    label = f"{v.name} v{v.version}"
    with tempfile.TemporaryDirectory(prefix="hokusai-verify-") as tmp:
        model = registry.download_model(v, Path(tmp))
        sha = hash_model_files(model).sha256
        recorded_sha = v.tags.get(MODEL_TAG, "").strip().lower()
        if out is not None:
            out.checks.append(Check(f"{label} model files (sha256)", recorded_sha, sha,
                                    sha == recorded_sha))  # fmt: skip
        try:
            found = measure(
                model, data, str(rec.target), [rec.metric],
                expected_data_sha256=rec.dataset.sha256, env_manager=env_manager, dataset=ahead,
            )  # fmt: skip
        except MeasureError as e:
            if out is not None:
                out.checks.append(Check(f"{label} measurement", "measurable", str(e), False))
            return None
    if rec.metric not in found.values:
        return None
    value = str(exact(rounded(found.values[rec.metric])))
    if out is not None:
        for tag in ("benchmark_value", MEASURED_VALUE_TAG):
            recorded = v.tags.get(tag)
            out.checks.append(Check(f"{label} {rec.metric} ({tag})", recorded or "(none)", value,
                                    _same(recorded, value, tolerance)))  # fmt: skip
    return value, found


def _read_once(data: Path, rec: BenchmarkRecord) -> Dataset | None:
    """The record's data, read and hashed once for both versions re-measured; None where it
    cannot be (each measurement then reads it again, and says why)."""
    from hokusai_action.measure import MeasureError, read_data

    try:
        return read_data(data, str(rec.target), rec.dataset.sha256)
    except (MeasureError, ImportError):
        return None


def _baseline_check(
    registry: MlflowRegistry, rec: BenchmarkRecord, v: VersionRecord, base: str
) -> Check:
    """Whether the version's `baseline_version` tag names the baseline register would have
    chosen (the rewarded high-water mark among the record's earlier versions): a tag pointed
    at a worse, unrewarded version re-measures as recorded, and must not pass for one.
    The choice reads the earlier versions' verdict tags: rewriting the whole history's tags
    is caught only by re-measuring it."""
    from hokusai_action.registry import baseline as bl
    from hokusai_action.registry.judge import benchmark_of

    earlier = [
        r for r in registry.versions_for_token(rec.token_id)
        if r.name in rec.models and (r.created_ms, r.version) < (v.created_ms, v.version)
    ]  # fmt: skip
    choice = bl.choose(earlier, benchmark_of(rec), rec.as_metric.direction, None,
                       v.tags.get(bl.MODEL_TAG))  # fmt: skip
    chosen = f"{choice.record.name} v{choice.record.version}" if choice.record else "none"
    named = "none"
    if base.isascii() and base.isdigit():
        named = f"{v.tags.get('hokusai_baseline_model', v.name)} v{base}"
    return Check(f"{v.name} v{v.version} baseline (the rewarded high-water mark before it)",
                 named, chosen, named == chosen)  # fmt: skip


def verify(
    registry: MlflowRegistry, token_id: str, *, version: int | None = None,
    model: str | None = None, root: Path | None = None, tolerance: str = "1e-6",
    env_manager: str = "local",
) -> Verification:  # fmt: skip
    """Re-measure a version and judge it again (see the module's docstring)."""
    from hokusai_action.validation.rules import find_root

    rec = registry.benchmark_record(token_id)
    if rec is None:
        raise HokusaiError(f"token {token_id} has no benchmark of record: nothing to verify")
    v = _target_version(registry, rec, version, model)
    rec, revision_check = _record_at(registry, token_id, v)
    out = Verification(token_id, v.name, v.version, rec.revision)
    if revision_check is not None:
        out.checks.append(revision_check)
    if (
        rec.measurement != "required"
        or not (rec.dataset.path or rec.dataset.artifact)
        or (not rec.target)
    ):
        raise HokusaiError(
            f"{v.name} version {v.version} was judged by revision {rec.revision} of the record "
            f"of {token_id}, whose values are claimed, not measured: there is nothing to "
            "re-measure (its owner turns measurement on with `hokusai-action benchmark set`)"
        )
    with tempfile.TemporaryDirectory(prefix="hokusai-verify-data-") as tmp:  # mode 0700
        if rec.dataset.artifact:  # kept in the registry, read with the payer's credentials
            data = registry.download_artifact(rec.dataset.artifact, Path(tmp))
        else:
            data = (root or find_root(Path.cwd())) / str(rec.dataset.path)
            if not data.is_file():
                raise HokusaiError(
                    f"the record's data `{rec.dataset.path}` is not in "
                    f"{root or find_root(Path.cwd())}: run verify from a clone of the model's "
                    "repository, or pass --root DIRECTORY"
                )
        return _verify_on(registry, rec, v, out, data, tolerance, env_manager)


def _verify_on(
    registry: MlflowRegistry, rec: BenchmarkRecord, v: VersionRecord, out: Verification,
    data: Path, tolerance: str, env_manager: str,
) -> Verification:  # fmt: skip
    """The checks and the verdict judged again, on the record's data at `data`."""
    from hokusai_action.registry import baseline as bl
    from hokusai_action.registry.deltaone import NotComparable, decide
    from hokusai_action.registry.plan import dataset_sha256

    sha = dataset_sha256(data)
    out.checks.append(Check("data (sha256)", rec.dataset.sha256 or "(none)", sha,
                            sha == rec.dataset.sha256))  # fmt: skip
    recorded_data = v.tags.get("hokusai_dataset_sha256", "").lower()
    out.checks.append(Check(f"{v.name} v{v.version} data (sha256 tag)", recorded_data or "(none)",
                            sha, recorded_data == sha))  # fmt: skip
    ahead = _read_once(data, rec)
    ours = _remeasure(registry, v, rec, data, ahead, tolerance, env_manager, out)
    out.verdict_recorded = v.tags.get(bl.VERDICT_TAG) or None
    base = v.tags.get("baseline_version", "")
    theirs = None
    base_version = None
    if base.isascii() and base.isdigit():
        base_model = v.tags.get("hokusai_baseline_model", v.name)
        base_version = registry.get_version(base_model, int(base))
        if base_version is not None:
            theirs = _remeasure(registry, base_version, rec, data, ahead, tolerance,
                                env_manager, out)  # fmt: skip
    if bl.recorded_outcome(v) not in bl.UNJUDGED:  # judged against no baseline at all
        out.checks.append(_baseline_check(registry, rec, v, base))
    if ours is None or out.verdict_recorded is None or (base_version and theirs is None):
        return out
    value = ours[0]
    baseline_value = theirs[0] if theirs is not None else None
    chosen = None
    if base_version is not None and baseline_value is not None:
        chosen = bl.baseline_of(base_version, "its recorded baseline, re-measured")
        chosen = dataclasses.replace(chosen, value=float(baseline_value), text=baseline_value)
    try:
        now = decide(
            rec.as_metric, float(value), chosen, threshold=rec.threshold, rule=rec.the_rule,
            samples=rec.dataset.samples, baseline_samples=rec.dataset.samples,
            new_benchmark=chosen is None and out.verdict_recorded != "first_registration",
            require_significance=rec.require_significance, value_text=value, floor=rec.floor,
        )  # fmt: skip
    except NotComparable:
        return out
    if rec.require_significance and theirs is not None:  # as register decides it: row by row
        from hokusai_action.measure import paired
        from hokusai_action.registry.measured import decided_by_pairs

        seed = int(sha[:8], 16)
        assert ours[1].truth is not None
        pairs = paired.paired_test(rec.metric, ours[1].truth, theirs[1].predictions,
                                   ours[1].predictions, seed)  # fmt: skip
        now = decided_by_pairs(now, pairs.significant, pairs.test)
    out.verdict_now = str(now.outcome)
    return out


def as_text(v: Verification) -> list[str]:
    lines = [f"verify {shown(v.model_name)} version {v.version} of {v.token_id} (record "
             f"revision {v.revision})"]  # fmt: skip
    for c in v.checks:
        mark = "agree" if c.agrees else "DISAGREE"
        lines.append(f"  {mark}: {shown(c.what)}: recorded {shown(c.recorded, 120)}, found "
                     f"{shown(c.found, 200)}")  # fmt: skip
    if v.verdict_now is None:
        lines.append(f"  verdict of record `{v.verdict_recorded}`: not judged again (a value "
                     "could not be re-measured)")  # fmt: skip
    elif v.verdict_stands:
        lines.append(f"  the verdict of record `{v.verdict_recorded}` stands")
    else:
        lines.append(f"  the verdict of record `{v.verdict_recorded}` does NOT stand: judged "
                     f"again it is `{v.verdict_now}`")  # fmt: skip
    lines.append("agree" if v.agrees else "DISAGREE: do not pay on this verdict")
    return lines


def as_json(v: Verification) -> dict[str, Any]:
    return {
        "format_version": 1, "token_id": v.token_id, "model_name": v.model_name,
        "version": v.version, "record_revision": v.revision,
        "checks": [asdict(c) for c in v.checks], "verdict_recorded": v.verdict_recorded,
        "verdict_now": v.verdict_now, "verdict_stands": v.verdict_stands, "agrees": v.agrees,
    }  # fmt: skip


@click.command("verify")
@click.argument("token_id", metavar="TOKEN")
@click.option("--version", "version", type=click.IntRange(1),
              help="The version to verify [default: the token's newest DeltaOne].")  # fmt: skip
@click.option("--model", help="Registered model name, where several have that version.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="The repository clone holding the record's data [default: the current "
              "one].")  # fmt: skip
@click.option("--tolerance", default="1e-6", show_default=True, metavar="NUMBER",
              help="How far a recorded value may be from the re-measured one.")  # fmt: skip
@click.option("--env-manager", type=click.Choice(["local", "uv", "virtualenv"]),
              default="local", show_default=True,
              help="Where the model is loaded: this Python, or this Python with its "
              "requirements.txt installed from the package index.")  # fmt: skip
@registry_options
@format_option("text", "json")
def verify_command(
    token_id: str, version: int | None, model: str | None, root: Path | None, tolerance: str,
    env_manager: str, tracking_uri: str | None, retries: int, timeout: int, output_format: str,
) -> None:  # fmt: skip
    """Re-measure a registered version of TOKEN from the registry's artifacts and the record's
    data, and say whether its recorded values and its verdict stand. Exit 1 on any
    disagreement: the audit a payer runs before paying."""
    from hokusai_action.cli import _echo, _open_registry, _settings
    from hokusai_action.commands.benchmark import decimal_option

    tolerance = decimal_option("--tolerance", tolerance)
    registry = _open_registry(_settings(tracking_uri, retries, timeout))
    done = verify(registry, token_id, version=version, model=model, root=root,
                  tolerance=tolerance, env_manager=env_manager)  # fmt: skip
    if output_format == "json":
        click.echo(inert_json(json.dumps(as_json(done), indent=2, ensure_ascii=False)))
    else:
        _echo(as_text(done))
    if not done.agrees:
        raise SystemExit(1)
