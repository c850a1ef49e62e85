"""The features' way to the model's process: its stdin, a pipe we write without ever waiting on
the model.

The model's code may hold the pipe and never read it (a process of its own session keeps it
open): every write waits at most STOP_SECONDS for room, then looks whether `close()` or a
deadline has asked it to stop. The features go as a pickle (trusted by the child: we wrote
it), straight from the frame or from a copy staged on disk earlier (registry/warm.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING

from hokusai_action.measure.measurement import Staged

if TYPE_CHECKING:
    import pandas as pd

STOP_SECONDS = 0.1  # how long a write to the model waits for room before it checks for a stop


def stage(features: pd.DataFrame) -> Staged:
    """The features pickled into a private temporary file (no name: unlinked at once), to be
    sent later without holding them in memory meanwhile."""
    import pickle

    file = tempfile.TemporaryFile()  # noqa: SIM115 (Staged closes it)
    try:
        pickle.dump(features, file, protocol=5)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Staged(file)


class _Stopped(Exception):
    """`close` or a deadline stopped the writes."""


class _PipeWriter:
    """Writes to a non-blocking pipe, waiting at most STOP_SECONDS at a time for room, and
    stopping as soon as `stop` is set: never stuck behind a reader that never reads."""

    def __init__(self, fd: int, stop: threading.Event) -> None:
        import select

        self.fd, self.stop = fd, stop
        self.poll = select.poll()  # not select.select: any descriptor number
        self.poll.register(fd, select.POLLOUT)
        os.set_blocking(fd, False)

    def write(self, data: bytes | memoryview) -> int:
        try:
            view = memoryview(data).cast("B")
        except TypeError:  # not C-contiguous
            view = memoryview(memoryview(data).tobytes())
        written = 0
        while written < len(view):
            if self.stop.is_set():
                raise _Stopped
            if not self.poll.poll(STOP_SECONDS * 1000):
                continue
            try:
                written += os.write(self.fd, view[written:])
            except BlockingIOError:
                continue
        return written


def send_features(fd: int, features: pd.DataFrame | Staged, stop: threading.Event) -> None:
    """Pickle the features into the model's stdin, or copy their staged pickle. A process
    that has ended (a model that failed to load), was killed at its deadline, or holds the
    pipe without reading: nothing to report here, `result` reads why from its exit."""
    import pickle

    try:
        writer = _PipeWriter(fd, stop)
        if isinstance(features, Staged):
            shutil.copyfileobj(features.file, writer, 1 << 20)  # type: ignore[misc]
        else:
            pickle.dump(features, writer, protocol=5)
    except (_Stopped, OSError, ValueError):  # BrokenPipeError; a staged file closed by close()
        pass
    finally:
        os.close(fd)
