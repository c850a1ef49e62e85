"""What happened to one manifest: the value the CLI and the action both render."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hokusai_action.registry.deltaone import Verdict
from hokusai_action.registry.plan import Plan

if TYPE_CHECKING:
    from hokusai_action.registry.record import BenchmarkRecord
    from hokusai_action.registry.reporting import Entry


class Status(enum.StrEnum):
    REGISTERED = "registered"
    ALREADY_REGISTERED = "already_registered"
    COMPARED = "compared"
    DRY_RUN = "dry_run"


@dataclass(slots=True)
class Report:
    """What happened to one manifest; the CLI and the action render it."""

    status: Status
    plan: Plan
    tracking_uri: str
    verdict: Verdict | None = None
    version: int | None = None
    run_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    attestation_sha256: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)  # (version, value)
    notes: list[str] = field(default_factory=list)
    record: BenchmarkRecord | None = None  # the benchmark of record it was judged against
    record_created: bool = False  # this run created the record (trust on first use)
    # A recorded DeltaOne that no run has reported yet (see reporting.py): this run reports it.
    unreported_deltaone: bool = False
    pending: list[Entry] = field(default_factory=list)  # the token's other unreported DeltaOnes

    @property
    def what_if(self) -> bool:
        """Judged against a baseline pinned in the manifest: never a verdict of record."""
        return bool(self.verdict and self.verdict.baseline and self.verdict.baseline.what_if)
