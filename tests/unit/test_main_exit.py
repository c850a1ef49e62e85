"""`hokusai-action` ends without tearing MLflow and the scientific libraries down object by
object (__main__._exit), and says and returns exactly what `sys.exit` would have."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# A stand-in for a loaded heavy library (the fast path is taken once one is imported), an
# atexit handler that must still run, and output left in the buffers.
PROGRAM = """
import atexit, sys, threading, time, types
sys.modules["mlflow"] = types.ModuleType("mlflow")
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.stdout.write("buffered output, no newline")


class TornDown:
    def __del__(self):
        print("torn down", file=sys.stderr)


KEPT = TornDown()  # a module global: finalised by the interpreter's teardown only
threading.Thread(target=lambda: (time.sleep(0.2), print("thread ended", file=sys.stderr))).start()
from hokusai_action.__main__ import _exit
_exit({code})
"""


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("None", 0, ""),
        ("0", 0, ""),
        ("4", 4, ""),
        ("3", 3, ""),
        ("256 + 2", 2, ""),
        ("'error: a message'", 1, "error: a message\n"),
    ],
)
def test_the_fast_exit_returns_what_sys_exit_would_and_loses_no_output(
    code: str, status: int, stderr: str
) -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM.format(code=code)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == status
    assert done.stdout == "buffered output, no newline"
    # the thread was waited for, then atexit ran; no teardown: nothing was finalised
    assert done.stderr == stderr + "thread ended\natexit ran\n"


def test_without_a_heavy_library_the_interpreter_ends_as_usual() -> None:
    program = PROGRAM.replace('sys.modules["mlflow"] = types.ModuleType("mlflow")', "")
    done = subprocess.run([sys.executable, "-c", program.format(code="5")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 5
    assert done.stdout == "buffered output, no newline"
    assert done.stderr.startswith("thread ended\natexit ran\n")  # then, maybe, "torn down"


def test_a_closed_stdout_exits_120_as_python_does() -> None:
    program = PROGRAM.replace('sys.stdout.write("buffered output, no newline")',
                              'sys.stdout.write("x" * 1000)')  # fmt: skip
    command = [sys.executable, "-c", program.format(code="0")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # kept in a buffer
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    ) as process:
        assert process.stdout is not None
        process.stdout.close()  # as `| head` does
        assert process.wait(timeout=60) == 120
