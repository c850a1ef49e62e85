"""A private PostgreSQL cluster on loopback: the production registry's backend, for tests.

Debian's server binaries (`initdb`, `postgres`) make a throwaway cluster in a temporary folder,
listening on 127.0.0.1 at a free port with its unix socket in that folder, so nothing of a
system-wide cluster is used or disturbed. PostgreSQL refuses to run as root: as root, the
cluster runs as the `postgres` user (or `nobody`), which owns the folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
DATABASE = "mlflow"


@dataclass(frozen=True)
class Cluster:
    # postgresql+psycopg2://user:password@127.0.0.1:port/database, what MLflow is given
    # (SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the test extra has psycopg2)
    url: str
    log: Path


def server_binaries() -> Path | None:
    """The folder holding `initdb` and `postgres`: Debian's newest version, else PATH's."""

    def major(folder: Path) -> int:
        version = folder.parent.name
        return int(version) if version.isdigit() else -1

    candidates = sorted(DEBIAN_BINARIES.glob("*/bin"), key=major, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def _unprivileged() -> dict[str, Any]:
    """subprocess arguments that drop root for PostgreSQL's programs (none when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        user = pwd.getpwnam("nobody")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_ready(
    process: subprocess.Popen[bytes], port: int, password: str, log: Path
) -> None:
    """Connect until the server answers (it replays nothing: a fresh cluster starts in ~1 s)."""
    import psycopg2

    deadline = time.monotonic() + 60
    while True:
        try:
            connection = psycopg2.connect(
                host="127.0.0.1", port=port, user=SUPERUSER, password=password,
                dbname="postgres", connect_timeout=2,
            )  # fmt: skip
        except psycopg2.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)
            continue
        try:
            connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            connection.close()
        return


@contextlib.contextmanager
def postgres_cluster(binaries: Path) -> Iterator[Cluster]:
    """A fresh cluster with a database for MLflow, password-protected on TCP; removed after."""
    drop = _unprivileged()
    root = Path(tempfile.mkdtemp(prefix="hokusai-pg-"))  # not under pytest's 0700 root folder
    process: subprocess.Popen[bytes] | None = None
    try:
        if drop:
            os.chown(root, drop["user"], drop["group"])
        password = secrets.token_hex(16)
        pwfile = root / "pwfile"
        pwfile.write_text(password, encoding="utf-8")
        if drop:
            os.chown(pwfile, drop["user"], drop["group"])
        subprocess.run(
            [binaries / "initdb", "-D", root / "data", "-U", SUPERUSER, "--pwfile", pwfile,
             "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--locale=C",
             "--no-sync"],
            cwd=root, capture_output=True, check=True, timeout=120, **drop,
        )  # fmt: skip
        pwfile.unlink()
        port = _free_port()
        log = root / "postgres.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binaries / "postgres", "-D", root / "data", "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                 # A throwaway cluster: durability costs time and buys nothing here.
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                cwd=root, stdout=out, stderr=subprocess.STDOUT, **drop,
            )  # fmt: skip
        _wait_until_ready(process, port, password, log)
        url = f"postgresql+psycopg2://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}"
        yield Cluster(url, log)
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
