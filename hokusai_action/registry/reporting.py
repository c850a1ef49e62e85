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
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hokusai_action.registry.register import REPORTED_TAG

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import MlflowRegistry
    from hokusai_action.registry.results import Report


def to_report(reports: Iterable[Report]) -> list[Report]:
    """The reports whose DeltaOne this run reports: recorded, attested, not yet reported;
    one per version (two identical manifests are one registration, found twice)."""
    found: dict[tuple[str, int], Report] = {}
    for r in reports:
        if r.unreported_deltaone and r.attestation_sha256 and r.version:
            found.setdefault((r.plan.model_name, r.version), r)
    return list(found.values())


def deltaone_models(reports: Iterable[Report]) -> list[dict[str, Any]]:
    """One entry per DeltaOne reported by this run (the `deltaone-models` output)."""
    entries = []
    for r in to_report(reports):
        contribution = r.plan.manifest_data.get("contribution") or {}
        verdict = r.verdict
        entries.append({
            "token_id": r.plan.token_id,
            "model": r.plan.model_name,
            "version": r.version,
            "delta": None if verdict is None else verdict.delta_text,
            "contributor": contribution.get("contributor_address")
            or contribution.get("contributor"),
            "attestation_sha256": r.attestation_sha256,
        })  # fmt: skip
    return entries


def mark_reported(registry: MlflowRegistry, reports: Iterable[Report], by: str) -> list[str]:
    """Tag the reported versions (after the outputs are written); the problems, if any: a
    version left untagged is reported again by the next run, which the key makes harmless."""
    problems = []
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for r in to_report(reports):
        try:
            registry.set_version_tags(
                r.plan.model_name, int(r.version or 0), {REPORTED_TAG: f"{when} {by}"[:250]}
            )
        except Exception as e:  # any failure means: report again next time
            problems.append(
                f"version {r.version} of {r.plan.model_name} was reported but could not be "
                f"tagged `{REPORTED_TAG}` ({type(e).__name__}): the next run reports it again, "
                "with the same attestation sha256"
            )
    return problems
