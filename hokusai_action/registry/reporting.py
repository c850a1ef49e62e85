"""Reporting a DeltaOne to whoever pays it: at least once, with a key that makes paying once easy.

A DeltaOne is recorded in the registry (the version's verdict tag and its attestation) before
any run output is written, so a crash in between would leave a payment nobody hears of. The
protocol therefore is:

1. a registration that records a DeltaOne, or a re-run that finds a recorded DeltaOne whose
   version is not tagged `hokusai_reported`, lists it in `deltaone-models` and sets
   `deltaone-recorded=true`;
2. after the outputs are written, the run tags each listed version `hokusai_reported`.

A crash between 1 and 2 makes the next run report the same DeltaOne again: at least once. The
attestation's sha256, in every entry, is the key a payer deduplicates on. A version that is
finished, attested and reported is never reported again.

A crash before the outputs, followed by a push of another manifest (not a re-run of the same
registration), would leave the DeltaOne unreported for good. So every registration also reports
the token's *pending* DeltaOnes: versions of the record's models with a `deltaone` verdict, an
attestation and a record revision (the tag that came with reporting, so versions registered
before it are not reported again), and no `hokusai_reported` tag.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord
    from hokusai_action.registry.results import Report

REPORTED_TAG = "hokusai_reported"
REVISION_TAG = "hokusai_record_revision"  # on each version: the record revision it was judged on


@dataclass(frozen=True, slots=True)
class Entry:
    """One DeltaOne to report: what a payer needs, and the key it deduplicates on."""

    token_id: str
    model: str
    version: int
    delta: str | None
    contributor: str | None
    attestation_sha256: str


def reporting_done(version: VersionRecord) -> bool:
    return bool(version.tags.get(REPORTED_TAG, "").strip())


def pending(versions: Iterable[VersionRecord], models: Iterable[str]) -> list[Entry]:
    """The recorded, attested, unreported DeltaOnes among `versions` of `models`."""
    wanted = set(models)
    out = []
    for v in versions:
        tags = v.tags
        if (
            v.name in wanted
            and tags.get("hokusai_verdict") == "deltaone"
            and tags.get("deltaone_achieved") == "true"
            and tags.get(REVISION_TAG)
            and (sha := tags.get("hokusai_attestation_sha256"))
            and not reporting_done(v)
        ):
            contributor = tags.get("hokusai_contributor_address") or tags.get("hokusai_contributor")
            out.append(Entry(v.token_id or "", v.name, v.version, tags.get("delta"),
                             contributor, sha))  # fmt: skip
    return out


def _of_report(r: Report) -> Entry | None:
    if not (r.unreported_deltaone and r.attestation_sha256 and r.version):
        return None
    contribution = r.plan.manifest_data.get("contribution") or {}
    return Entry(
        r.plan.token_id,
        r.plan.model_name,
        r.version,
        None if r.verdict is None else r.verdict.delta_text,
        contribution.get("contributor_address") or contribution.get("contributor"),
        r.attestation_sha256,
    )


def to_report(reports: Iterable[Report]) -> list[Entry]:
    """The DeltaOnes this run reports: the ones it recorded or completed, then the token's
    pending ones it found; one entry per version (two identical manifests are one
    registration, found twice)."""
    found: dict[tuple[str, int], Entry] = {}
    reports = list(reports)
    for r in reports:
        if (entry := _of_report(r)) is not None:
            found.setdefault((entry.model, entry.version), entry)
    for r in reports:
        for entry in r.pending:
            found.setdefault((entry.model, entry.version), entry)
    return list(found.values())


def deltaone_models(reports: Iterable[Report]) -> list[dict[str, Any]]:
    """One entry per DeltaOne reported by this run (the `deltaone-models` output)."""
    return [asdict(e) for e in to_report(reports)]


def mark_reported(registry: MlflowRegistry, reports: Iterable[Report], by: str) -> list[str]:
    """Tag the reported versions (after the outputs are written); the problems, if any: a
    version left untagged is reported again by the next run, which the key makes harmless."""
    problems = []
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for e in to_report(reports):
        try:
            registry.set_version_tags(e.model, e.version, {REPORTED_TAG: f"{when} {by}"[:250]})
        except Exception as error:  # any failure means: report again next time
            problems.append(
                f"version {e.version} of {e.model} was reported but could not be tagged "
                f"`{REPORTED_TAG}` ({type(error).__name__}): the next run reports it again, "
                "with the same attestation sha256"
            )
    return problems
