"""Whose turn it is under the registration lock, the embedded registry's flock, the reserved
lock-model names and the waiting deadline's setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import lock
from hokusai_action.registry.lock import Ticket, file_lock, this_process, turn
from hokusai_action.registry.settings import LOCK_WAIT, resolve_settings
from tests.conftest import VALID, rules_of

NAME = "hokusai-lock.CHURN-001"
NOW = 1_800_000_000_000
LATER = NOW + 60_000
ELSEWHERE = "runner-7/4026531836/4242"  # another machine: only its lease can end its ticket


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def on_this_machine(pid: int, process_id: str = "0123456789abcdef") -> str:
    return "/".join([*this_process().split("/")[:3], str(pid), process_id])


def test_a_lease_further_ahead_than_any_holder_sets_is_stale():
    """A ticket whose expiry was written as now + 10^12 ms would hold the lock for good."""
    forged = Ticket(3, ELSEWHERE, NOW + 10**12)
    position = turn([forged], 4, NAME, NOW, this_process())
    assert (position.ahead, position.stale) == (None, [forged])
    honest = Ticket(3, ELSEWHERE, NOW + 60_000 + lock.CLOCK_SKEW_S * 1000)
    assert turn([honest], 4, NAME, NOW, this_process()).ahead == honest


def test_a_machine_with_the_same_hostname_does_not_judge_our_tickets_by_its_processes():
    """Runners from one image share the hostname and the initial PID namespace's inode: only
    the boot ID tells them apart, so a PID missing here says nothing of a ticket there."""
    host, _boot, namespace, *_ = this_process().split("/")
    twin = Ticket(3, f"{host}/another-boot-id/{namespace}/{dead_pid()}/feedfacefeedface", LATER)
    assert turn([twin], 4, NAME, NOW, this_process()).ahead == twin


def test_every_process_carries_a_random_id_of_its_own():
    child = subprocess.run(
        [sys.executable, "-c", "from hokusai_action.registry.lock import this_process as t; "
         "print(t())"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    theirs, mine = child.stdout.strip().split("/"), this_process().split("/")
    assert theirs[:3] == mine[:3]
    assert theirs[4] != mine[4]
    assert len(mine[4]) == 16


def test_the_lowest_live_ticket_holds_the_lock():
    tickets = [Ticket(v, ELSEWHERE, LATER) for v in (3, 4, 5)]
    assert turn(tickets, 3, NAME, NOW, this_process()).ahead is None
    assert turn(tickets, 5, NAME, NOW, this_process()).ahead == tickets[0]


def test_a_ticket_whose_lease_ended_is_deleted_not_waited_for():
    expired = Ticket(3, ELSEWHERE, NOW - 1)
    position = turn([expired, Ticket(4, ELSEWHERE, LATER)], 4, NAME, NOW, this_process())
    assert (position.ahead, position.stale) == (None, [expired])


def test_a_ticket_of_a_process_gone_from_this_machine_is_deleted_at_once():
    gone = Ticket(3, on_this_machine(dead_pid()), LATER)  # its lease has a minute left
    position = turn([gone], 4, NAME, NOW, this_process())
    assert (position.ahead, position.stale) == (None, [gone])


def test_a_ticket_of_a_live_process_on_this_machine_is_waited_for():
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as child:
        try:
            alive = Ticket(3, on_this_machine(child.pid), LATER)
            assert turn([alive], 4, NAME, NOW, this_process()).ahead == alive
        finally:
            child.kill()


def test_an_unreadable_lease_is_judged_by_its_owner_only():
    unreadable = Ticket(3, ELSEWHERE, None)
    assert turn([unreadable], 4, NAME, NOW, this_process()).ahead == unreadable


def test_tickets_after_ours_never_block_us():
    assert turn([Ticket(9, ELSEWHERE, LATER)], 4, NAME, NOW, this_process()).ahead is None


def test_a_process_drops_its_own_leftover_ticket_but_not_one_it_holds():
    mine = Ticket(3, this_process(), LATER)
    assert turn([mine], 4, NAME, NOW, this_process()).stale == [mine]  # a failed attempt's
    lock._held.add((NAME, 3))
    try:
        assert turn([mine], 4, NAME, NOW, this_process()).ahead == mine
    finally:
        lock._held.discard((NAME, 3))


def test_file_lock_gives_up_at_its_deadline_naming_the_file(tmp_path):
    path = tmp_path / "mlflow.db.lock"
    with (
        file_lock(path, 5, "the embedded registry"),
        pytest.raises(HokusaiError, match=rf"waited \d+ s for the embedded registry: .*{path}"),
        file_lock(path, 0.2, "the embedded registry"),
    ):
        pass
    with file_lock(path, 0.2, "the embedded registry"):  # released: free again
        pass


def test_file_lock_is_released_when_its_holder_dies(tmp_path):
    path = tmp_path / "mlflow.db.lock"
    script = (
        "import fcntl, os, sys; f = open(sys.argv[1], 'a'); "
        "fcntl.flock(f, fcntl.LOCK_EX); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    with file_lock(path, 0.5, "the embedded registry"):
        pass


def test_lock_models_have_a_name_no_manifest_may_take(repo):
    assert lock.lock_model("CHURN-001") == NAME
    problems = repo.check(VALID.replace("customer-churn-predictor", "Hokusai-Lock.CHURN-001"))
    assert rules_of(problems) == ["model-name-reserved"]
    assert "reserved" in problems[0].message


def test_lock_wait_comes_from_the_environment():
    assert resolve_settings("http://x", env={}).lock_wait == LOCK_WAIT
    assert resolve_settings("http://x", env={"HOKUSAI_LOCK_WAIT": "30"}).lock_wait == 30


@pytest.mark.parametrize("text", ["-1", "1.5", "²", "ten"])
def test_a_lock_wait_that_is_not_whole_seconds_is_a_usage_error(text):
    with pytest.raises(HokusaiError, match="HOKUSAI_LOCK_WAIT must be a whole number") as e:
        resolve_settings("http://x", env={"HOKUSAI_LOCK_WAIT": text})
    assert e.value.exit_code == 2


class Vanishing:
    """A registry where another run deletes our ticket as soon as we take it."""

    def take_ticket(self, name: str, tags: dict[str, str]) -> int:
        return 7

    def tickets(self, name: str) -> list[Ticket]:
        return [Ticket(3, ELSEWHERE, LATER)]  # 7 is gone

    def renew_ticket(self, name: str, version: int, expires_ms: int) -> bool:
        return False

    def drop_ticket(self, name: str, version: int) -> None:
        pass


def test_a_run_whose_ticket_was_deleted_stops_instead_of_jumping_the_queue():
    with (
        pytest.raises(HokusaiError, match="lost our place in the queue for token CHURN-001"),
        lock.ticket_lock(Vanishing(), "CHURN-001", "test", lease=60, wait=5),
    ):
        pytest.fail("entered the lock without a ticket")
