"""What running as a container action asks of the entrypoint, beyond the run itself.

GitHub's runner starts the image as root, with the repository bind-mounted at
/github/workspace and owned by the runner's user (uid 1001 on GitHub's runners). Files
the run creates there would be root's, and the job's next steps (`rm -rf .hokusai`,
`git clean`, a cache save) fail on them: they are handed to the workspace's owner before
the process ends, whichever way it ends.

Python is the container's PID 1, and the kernel applies no default action to a signal
PID 1 does not handle: without a handler, a cancelled job's SIGTERM is ignored and Docker
kills the container after its grace period. SIGTERM and SIGINT stop the run as an
exception would (its `finally` blocks run, locks are released), and a watchdog ends the
process `GRACE` seconds after the signal even if the run is busy in C code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE = 1.2  # seconds from a stop signal to the watchdog: Docker's `stop` waits 10, we say 2
HAND_OVER_WAIT = 0.5  # for a hand-over under way in the main thread, then the watchdog exits
# File times come from the kernel's coarse clock, a tick behind time.time(); the margin
# is far below the seconds a runner takes to start a container after the previous step.
CLOCK_SLACK = 1.0


class Stopped(BaseException):
    """A stop signal arrived. A BaseException, as KeyboardInterrupt, so that no
    `except Exception` in the run takes it for a failure of its own and goes on."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(signum: int) -> int:
    """A shell's code for a process ended by a signal: 143 for SIGTERM, 130 for SIGINT."""
    return 128 + signum


def hand_over(workspace: Path, since: float) -> int:
    """Give what this process (running as root) wrote under `workspace` since `since` (a
    time.time()) to the owner of `workspace`; returns how many entries changed hands.

    Only entries owned by us and changed (ctime) since we started: files a previous step
    left there are not ours to give. Links are not followed (`lchown`, no descent), and a
    file with several names is skipped: one of them may be outside the workspace. The
    checkout's `.git`, the largest folder and one we never write to, is not walked.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return 0  # only root can give files away, and only root's files are in the way
    try:
        owner = workspace.stat()
    except OSError:
        return 0
    uid, gid = owner.st_uid, owner.st_gid
    if (uid, gid) == (os.geteuid(), os.getegid()):
        return 0
    changed = 0
    pending, git = [os.fspath(workspace)], os.fspath(workspace / ".git")
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:  # gone, or not a folder any more
            continue
        for entry in entries:
            if entry.path == git:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif info.st_nlink > 1:
                    continue
                if info.st_uid == os.geteuid() and info.st_ctime >= since:
                    os.lchown(entry.path, uid, gid)
                    changed += 1
            except OSError:  # removed meanwhile: nothing to hand over
                continue
    return changed


@contextlib.contextmanager
def entrypoint(env: Mapping[str, str]) -> Iterator[None]:
    """Run the body as a container action's PID 1: a stop signal ends it with one line and
    exit 143 (SIGTERM) or 130 (SIGINT), and on every way out the files it wrote in
    `GITHUB_WORKSPACE` go to the workspace's owner. A stopped run ends the process here."""
    since = time.time() - CLOCK_SLACK
    guard = _Guard(Path(env.get("GITHUB_WORKSPACE") or ".").absolute(), since)
    guard.arm()
    try:
        yield
    except Stopped as e:
        guard.finish(e.signum)
    finally:
        guard.disarm()
        hand_over(guard.workspace, since)
        guard.restore()


class _Guard:
    """The signal handlers, and the watchdog that keeps the exit within GRACE."""

    def __init__(self, workspace: Path, since: float) -> None:
        self.workspace, self.since = workspace, since
        self.stopping = False
        self.previous: dict[int, object] = {}
        self.wakeup: tuple[int, int] | None = None
        self.previous_wakeup = -1
        self.said = threading.Lock()
        self.handing = threading.Lock()  # one hand-over at a time: the main thread's or ours
        self.settled = threading.Event()  # the body ended without a signal: no watchdog

    def arm(self) -> None:
        try:
            for signum in STOP_SIGNALS:
                self.previous[signum] = signal.signal(signum, self._stop)
        except ValueError:  # not the main thread: signals are not ours to handle
            self.restore()
            return
        # Python runs handlers only between bytecodes; its C-level handler also writes the
        # signal's number to this pipe, which a thread reads however busy the main one is.
        read, write = os.pipe()
        os.set_blocking(write, False)
        self.wakeup = (read, write)
        self.previous_wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(read,), name="hokusai-stop", daemon=True).start()

    def disarm(self) -> None:
        self.stopping = True  # from here a signal is let pass: the run is over
        self.settled.set()
        for signum in STOP_SIGNALS:  # a late signal must not cut the hand-over short
            with contextlib.suppress(ValueError):
                signal.signal(signum, signal.SIG_IGN)
        if self.wakeup is not None:
            signal.set_wakeup_fd(self.previous_wakeup)
            os.close(self.wakeup[1])  # the watchdog reads end-of-file and returns
            self.wakeup = None

    def restore(self) -> None:
        """The handlers from before `arm`."""
        for signum, handler in self.previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)  # type: ignore[arg-type]
        self.previous.clear()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:  # a second signal while stopping: we are already on our way
            return
        self.stopping = True
        raise Stopped(signum)

    def _watch(self, read: int) -> None:
        with open(read, "rb", buffering=0) as pipe:
            while byte := pipe.read(1):
                if byte[0] in STOP_SIGNALS:
                    if not self.settled.wait(GRACE):
                        self.finish(byte[0])
                    return

    def finish(self, signum: int) -> None:
        """Say why, hand the workspace over and end the process now: not through
        sys.exit, which would wait for worker threads a signal does not stop."""
        if self.said.acquire(blocking=False):
            name = signal.Signals(signum).name
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
                print(f"hokusai-action: stopped by {name} before the run finished", file=sys.stderr)
                sys.stderr.flush()
        if self.handing.acquire(timeout=HAND_OVER_WAIT):
            hand_over(self.workspace, self.since)
        os._exit(exit_code(signum))
