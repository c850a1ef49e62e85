"""Where `hokusai-action` and `python -m hokusai_action` start."""

import contextlib
import gc
import os
import sys

# Libraries whose thousands of objects make the interpreter's own shutdown take half a second.
HEAVY_MODULES = ("mlflow", "sklearn", "pandas")


def run() -> None:
    """Import the command line with the garbage collector paused, then freeze what the
    imports built, and run it.

    Start-up allocates tens of thousands of objects that live as long as the process (click,
    PyYAML, the schema, our modules). Collecting them during the imports, and looking at them
    again in every later full collection and at exit, costs the pre-commit hook about a tenth
    of its run. Frozen, the collector skips them; everything allocated afterwards is collected
    as usual.
    """
    gc.disable()
    try:
        from hokusai_action.cli import main
    finally:
        gc.freeze()
        gc.enable()
    try:
        main()
    except SystemExit as e:
        _exit(e.code)
    _exit(0)


def _exit(code: object) -> None:
    """Exit as `sys.exit(code)` would, without tearing down MLflow and the scientific
    libraries one object at a time (about 0.6 s of a `compare`: a sixth of it). Only once
    they are loaded: everything else ends as usual. What the interpreter does first at its
    exit still happens: other threads are waited for, `atexit` handlers run (and with them
    the finalizers of temporary folders and of a model's process never closed), and the
    output is flushed: one that cannot be exits 120, as Python's does, unless the status
    already says a failure."""
    if not any(name in sys.modules for name in HEAVY_MODULES):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    import atexit
    import logging
    import threading

    shutdown = getattr(threading, "_shutdown", None)  # joins non-daemon threads, as at exit
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    logging.shutdown()
    if sys.stdout is not None and not sys.stdout.closed:
        try:
            sys.stdout.flush()
        except OSError:  # a closed pipe (`| head`)
            status = status or 120
    if sys.stderr is not None and not sys.stderr.closed:
        with contextlib.suppress(OSError):
            sys.stderr.flush()
    os._exit(status & 0xFF)


if __name__ == "__main__":
    run()
