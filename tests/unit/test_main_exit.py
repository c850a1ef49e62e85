"""`hokusai-action` ends without tearing MLflow and the scientific libraries down object by
object (__main__._exit), and says and returns exactly what `sys.exit` would have."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A stand-in for a loaded heavy library (the fast path is taken once one is imported), an
# atexit handler that must still run, and output left in the buffers.
PROGRAM = """
import atexit, sys, types
sys.modules["mlflow"] = types.ModuleType("mlflow")
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.stdout.write("buffered output, no newline")
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
    assert done.stderr == stderr + "atexit ran\n"


def test_without_a_heavy_library_the_interpreter_ends_as_usual() -> None:
    program = PROGRAM.replace('sys.modules["mlflow"] = types.ModuleType("mlflow")', "")
    done = subprocess.run([sys.executable, "-c", program.format(code="5")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 5
    assert done.stdout == "buffered output, no newline"
    assert done.stderr == "atexit ran\n"
