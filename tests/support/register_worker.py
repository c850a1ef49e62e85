"""A process that runs `hokusai-action` commands on cue, for the overlap tests.

Starting Python and importing MLflow costs seconds of CPU per process, and the overlap tests
run 8 processes for 10 rounds; so each worker is one real process that imports once and then,
per round, runs the CLI's own entry point (`hokusai_action.cli.main`, what the
`hokusai-action` script calls) in the working directory it is given. All workers wait for the
same cue file, so they start a round together.

    python -m tests.support.register_worker CONTROL_DIR WORKER_NUMBER

For round r the test writes CONTROL_DIR/go-r (JSON: {"cwd": ..., "argv": [...]}, with "each":
one argv per worker instead, or {"stop": true}); the worker answers with
CONTROL_DIR/done-r-WORKER (JSON: exit code, stdout, stderr).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path


def _run(cwd: str, argv: list[str]) -> dict[str, object]:
    from hokusai_action.cli import main

    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return {"exit": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def serve(control: Path, worker: int) -> None:
    # Import before the first cue, so the rounds start together.
    import mlflow  # noqa: F401

    import hokusai_action.cli
    import hokusai_action.registry.mlflow_store  # noqa: F401

    (control / f"ready-{worker}").write_text("")
    round_ = 0
    while True:
        cue = control / f"go-{round_}"
        while not cue.exists():
            time.sleep(0.02)
        order = json.loads(cue.read_text())
        if order.get("stop"):
            os._exit(0)  # MLflow's exit handlers and threads have nothing left to do
        argv = order["each"][worker] if order.get("each") else order["argv"]
        result = _run(order["cwd"], argv)
        answer = control / f"done-{round_}-{worker}"
        answer.with_suffix(".tmp").write_text(json.dumps(result))
        answer.with_suffix(".tmp").rename(answer)
        round_ += 1


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
