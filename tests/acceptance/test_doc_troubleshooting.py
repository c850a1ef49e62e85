"""The basic-auth server of docs/troubleshooting.md, started as shown, and `doctor` logging in
to it (the other pages' commands: test_doc_commands.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.acceptance.test_doc_commands import environment, run_shell, shell_lines
from tests.conftest import PROJECT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_basic_auth_server_of_troubleshooting_starts_and_doctor_logs_in(tmp_path: Path):
    """As shown, on a free port instead of 5000 (another may hold it)."""
    server, doctor = shell_lines((PROJECT / "docs" / "troubleshooting.md").read_text("utf-8"))
    port = str(_free_port())
    env = {**environment(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(
        ["bash", "-c", server.replace("--port 5000", f"--port {port}")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, "the server of docs/troubleshooting.md stopped"
                assert time.monotonic() < deadline, "the server did not start in 120 s"
                time.sleep(0.5)
        result = run_shell(doctor.replace(":5000", f":{port}"), tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "auth: MLFLOW_TRACKING_USERNAME=admin and MLFLOW_TRACKING_PASSWORD" in result.stdout
        assert "status: ok" in result.stdout
    finally:  # the server and its workers: the session bash started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
