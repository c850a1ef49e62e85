"""Registrations of one token take turns, so none registers twice and no two verdicts share
a baseline: a lock with a lease on a registry that has no transactions.

Design. An MLflow server has no transactions, but one write is atomic and ordered: each new
version of a registered model gets the next number, never reused (a deleted version keeps
its number). The lock of token T is the registered model `hokusai-lock.T`, and a
registration takes a ticket by creating a version of it, tagged with who holds it and when
its lease ends. It holds the lock while no lower live ticket exists: a queue in version
order, first come, first served. It renews its lease every quarter-lease while it works and
releases by deleting its ticket. Whoever sees a stale ticket deletes it: one whose lease has
ended (its holder crashed elsewhere), or one held by a process of this machine that no longer
exists (a crash here blocks nobody). Waiting has a deadline, after which the run fails with
a message that names the lock.

Lock models cannot be confused with models: a validation rule reserves the `hokusai-lock.`
prefix, and tickets carry no `hokusai_token_id` tag, so `list`, `lineage` and baseline
searches never see them. A run whose clock is far ahead of the others' could take a lease for
stale; runners keep their clocks in sync, and the lease (60 s) is far longer than their skew.

The embedded registry is one SQLite file on one machine: an exclusive `flock` on a file beside
it serialises its creation (MLflow's table migrations race otherwise) and every registration.

This module decides; `mlflow_store` does the requests.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hokusai_action.errors import HokusaiError

LOCK_MODEL_PREFIX = "hokusai-lock."  # reserved by the validation rule `model-name-reserved`
OWNER_TAG = "hokusai_lock_owner"  # host/boot/pid-namespace/pid/random of the ticket's process
EXPIRES_TAG = "hokusai_lock_expires_ms"  # the lease's end, in ms since the epoch
FOR_TAG = "hokusai_lock_for"  # what the ticket is for, for people reading the registry

LOCK_DESCRIPTION = (
    "hokusai-action's registration lock, not a model: each version is a registration of the "
    "token running or waiting its turn."
)

_held: set[tuple[str, int]] = set()  # this process's tickets now held or awaited


class LockTimeout(HokusaiError):
    """The lock stayed taken past the waiting deadline."""


def lock_model(token_id: str) -> str:
    return f"{LOCK_MODEL_PREFIX}{token_id}"


def is_lock_model(name: str) -> bool:
    return name.lower().startswith(LOCK_MODEL_PREFIX)


CLOCK_SKEW_S = 120  # how far runners' clocks may disagree; a lease further ahead is forged
_PROCESS_ID = secrets.token_hex(8)  # one per process: two machines may share the rest


def _boot_id() -> str:
    """This boot of this machine: two machines with one hostname (runners from one image, whose
    initial PID namespace has the same inode) differ here. Containers share their host's."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:36] or "-"
    except OSError:
        return "-"


def this_process() -> str:
    """Who holds a ticket: the host, its boot, the PID namespace (containers on one host
    differ), the process ID and a random ID of this process."""
    try:
        namespace = str(Path("/proc/self/ns/pid").stat().st_ino)
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}/{_boot_id()}/{namespace}/{os.getpid()}/{_PROCESS_ID}"


def _process_gone(owner: str, me: str) -> bool:
    """True only when the owner is certainly dead: a process of this very machine, boot and
    PID namespace that no longer exists, or this process holding a ticket it no longer knows
    (an attempt that failed before it could release). Owners written otherwise (older
    versions, or another machine) are judged by their lease only."""
    parts, mine = owner.split("/"), me.split("/")
    if len(parts) != 5 or parts[:3] != mine[:3] or "-" in parts[1:3]:
        return False
    pid_text = parts[3]
    if not pid_text.isascii() or not pid_text.isdigit():
        return False
    if parts[3:] == mine[3:]:
        return True  # callers skip the tickets this process holds (`_held`)
    if pid_text == mine[3]:
        return False  # our PID, another process's random ID: it was ours before a restart?
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


@dataclass(frozen=True, slots=True)
class Ticket:
    version: int
    owner: str
    expires_ms: int | None  # None: unreadable, so judged by its owner only


def stale(ticket: Ticket, now_ms: int, me: str, lease_ms: int = 60_000) -> bool:
    """A ticket whose lease has ended, whose lease ends further ahead than any holder could
    have set it (a lease forged to hold the lock for good), or whose process is gone."""
    if ticket.expires_ms is not None and now_ms > ticket.expires_ms:
        return True
    if (
        ticket.expires_ms is not None
        and ticket.expires_ms > now_ms + lease_ms + CLOCK_SKEW_S * 1000
    ):
        return True
    return _process_gone(ticket.owner, me)


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a ticket stands: its turn has come, or who is ahead; and what to delete."""

    ahead: Ticket | None  # the live ticket this one waits for; None: it holds the lock
    stale: list[Ticket]


def turn(
    tickets: list[Ticket], mine: int, name: str, now_ms: int, me: str, lease_ms: int = 60_000
) -> Turn:
    """The lowest live ticket holds the lock; the stale ones below ours are to be deleted."""
    ahead: Ticket | None = None
    dead = []
    for ticket in sorted(tickets, key=lambda t: t.version):
        if ticket.version >= mine:
            break
        if (name, ticket.version) not in _held and stale(ticket, now_ms, me, lease_ms):
            dead.append(ticket)
        elif ahead is None:
            ahead = ticket
    return Turn(ahead, dead)


class TicketStore(Protocol):
    """The requests the ticket lock needs (the MLflow registry makes them)."""

    def take_ticket(self, name: str, tags: dict[str, str]) -> int: ...
    def tickets(self, name: str) -> list[Ticket]: ...
    def renew_ticket(self, name: str, version: int, expires_ms: int) -> bool: ...
    def drop_ticket(self, name: str, version: int) -> None: ...


def _now_ms() -> int:
    return int(time.time() * 1000)


@contextlib.contextmanager
def ticket_lock(
    store: TicketStore,
    token_id: str,
    purpose: str,
    *,
    lease: float,
    wait: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the lock of `token_id` for the block; see the module docstring."""
    import threading

    name, me = lock_model(token_id), this_process()
    version = store.take_ticket(
        name,
        {OWNER_TAG: me, EXPIRES_TAG: str(_now_ms() + int(lease * 1000)), FOR_TAG: purpose[:250]},
    )
    _held.add((name, version))
    stop = threading.Event()
    try:
        _wait_turn(store, token_id, name, version, me, lease, wait, sleep)

        def renew() -> None:  # the lease outlives slow uploads
            while not stop.wait(lease / 4):
                with contextlib.suppress(Exception):  # a missed renewal: the next one may do
                    store.renew_ticket(name, version, _now_ms() + int(lease * 1000))

        threading.Thread(target=renew, name=f"renew {name}", daemon=True).start()
        yield
    finally:
        stop.set()
        _held.discard((name, version))
        with contextlib.suppress(Exception):  # if it cannot be deleted, its lease ends it
            store.drop_ticket(name, version)


def _wait_turn(
    store: TicketStore, token_id: str, name: str, version: int, me: str,
    lease: float, wait: float, sleep: Callable[[float], None],
) -> None:  # fmt: skip
    started = time.monotonic()
    pause = 0.05
    expires = _now_ms() + int(lease * 1000)
    renewed = True
    while True:
        now = _now_ms()
        if now > expires - lease * 500:  # keep our own ticket alive while we queue
            expires = now + int(lease * 1000)
            renewed = store.renew_ticket(name, version, expires)
        tickets = store.tickets(name)
        if not renewed or all(t.version != version for t in tickets):
            raise HokusaiError(
                f"lost our place in the queue for token {token_id}: version {version} of "
                f"`{name}` was deleted by another run (was this one paused for over "
                f"{lease:.0f} s?); run again"
            )
        position = turn(tickets, version, name, now, me, int(lease * 1000))
        for ticket in position.stale:
            store.drop_ticket(name, ticket.version)
        if position.ahead is None:
            return
        waited = time.monotonic() - started
        if waited > wait:
            holder = position.ahead
            if holder.expires_ms is None:
                ends = "its lease cannot be read: delete that version of the lock model"
            else:
                left = max(0, (holder.expires_ms - now) / 1000)
                ends = (
                    f"if its holder died, it frees itself when its lease ends, in {left:.0f} s "
                    "(a live holder renews it), or delete that version of the lock model"
                )
            raise LockTimeout(
                f"waited {waited:.0f} s for another registration of token {token_id} to "
                f"finish (lock `{name}`, version {holder.version}, held by "
                f"{holder.owner[:120]}): run again when it is done; {ends}"
            )
        sleep(min(pause, max(wait - waited, 0.01)) * random.uniform(0.5, 1.5))
        pause = min(pause * 1.5, 0.5)


@contextlib.contextmanager
def file_lock(path: Path, wait: float, what: str) -> Iterator[None]:
    """An exclusive flock on `path` for the block, waiting at most `wait` seconds. The kernel
    drops it when the process dies, so a crash never leaves it held. No-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: the embedded registry runs unlocked there
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        started = time.monotonic()
        while True:  # polled (a system call, no I/O), as a blocking flock has no deadline
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited > wait:
                    raise LockTimeout(
                        f"waited {waited:.0f} s for {what}: another hokusai-action holds "
                        f"{path}; let it finish (or end it) and run again"
                    ) from None
                time.sleep(0.03)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
