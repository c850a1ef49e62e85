"""Calling code that might open a FIFO, without letting a regression hang the test run."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def without_hanging(fifos: list[Path], call: Callable[[], Any]) -> Any:
    """`call()`, failing instead of hanging when it opens one of `fifos`: a writer is then
    attached to each FIFO, which releases the blocked reader, and the test fails."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = call()
        except BaseException as e:  # handed over to the test's thread
            out["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail(f"blocked opening a FIFO among {[str(f) for f in fifos]}")
    if "error" in out:
        raise out["error"]
    return out["value"]
