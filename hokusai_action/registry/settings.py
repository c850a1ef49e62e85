"""Where the registry is and how to reach it: resolved once, from flags and environment.

No MLflow import here: `register --dry-run` shows the target without loading MLflow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hokusai_action.errors import HokusaiError
from hokusai_action.validation.rules import find_root

PRODUCTION_URI = "https://registry.hokus.ai/api/mlflow"
EMBEDDED_DIR = ".hokusai"
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 6  # seconds per request: a dead registry fails in about 20 s in all
LOCK_LEASE = 60  # seconds a registration's lock outlives its last renewal (see lock.py)
LOCK_WAIT = 600  # seconds to wait for other registrations of the token (HOKUSAI_LOCK_WAIT)
SECRET_VARIABLES = ("HOKUSAI_API_KEY", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD",
                    "GITHUB_TOKEN", "INPUT_API-KEY", "INPUT_GITHUB-TOKEN")  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    tracking_uri: str
    embedded: bool  # the SQLite registry inside the repository
    artifact_root: Path | None  # where the embedded registry keeps artifacts
    auth: str  # how we authenticate, for people: never the secret itself
    retries: int = DEFAULT_RETRIES
    timeout: int = DEFAULT_TIMEOUT
    secrets: tuple[str, ...] = field(default=(), repr=False)
    lock_lease: float = LOCK_LEASE
    lock_wait: float = LOCK_WAIT

    @property
    def lock_file(self) -> Path | None:
        """The embedded registry's flock file, beside its database (see lock.py)."""
        if not self.embedded:
            return None
        return Path(self.tracking_uri.removeprefix("sqlite:///") + ".lock")

    @property
    def display_uri(self) -> str:
        return redact(self.tracking_uri, self.secrets)

    def mlflow_environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """Variables MLflow's client reads: the token, and retry and timeout bounds (MLflow's
        own defaults wait about four minutes on a dead server)."""
        out = {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(self.retries),
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(self.timeout),
            # MLflow prints run links on stdout when a run ends: that broke `--format json`.
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        }
        if env.get("HOKUSAI_API_KEY"):  # the key wins, as `auth` says
            out["MLFLOW_TRACKING_TOKEN"] = env["HOKUSAI_API_KEY"]
        return out


def resolve_settings(
    tracking_uri: str | None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    retries: int = DEFAULT_RETRIES,
    timeout: int = DEFAULT_TIMEOUT,
) -> RegistrySettings:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else the embedded SQLite registry at the
    repository root (`.hokusai/mlflow.db`), so every directory of a checkout shares one."""
    env = os.environ if env is None else env
    secrets = collect_secrets(env)
    uri = tracking_uri or env.get("MLFLOW_TRACKING_URI")
    if env.get("HOKUSAI_API_KEY"):
        auth = "HOKUSAI_API_KEY (sent as a bearer token)"
    elif env.get("MLFLOW_TRACKING_TOKEN"):
        auth = "MLFLOW_TRACKING_TOKEN (bearer token)"
    elif env.get("MLFLOW_TRACKING_USERNAME"):
        auth = f"MLFLOW_TRACKING_USERNAME={env['MLFLOW_TRACKING_USERNAME']} (basic auth)"
    else:
        auth = "none"
    wait = _lock_wait(env)
    if uri:
        return RegistrySettings(uri, False, None, auth, retries, timeout, secrets, lock_wait=wait)
    home = find_root(cwd or Path.cwd()) / EMBEDDED_DIR
    return RegistrySettings(
        f"sqlite:///{(home / 'mlflow.db').as_posix()}", True, home / "artifacts", "none (local)",
        retries, timeout, secrets, lock_wait=wait,
    )  # fmt: skip


def _lock_wait(env: Mapping[str, str]) -> float:
    text = env.get("HOKUSAI_LOCK_WAIT", "").strip()
    if not text:
        return LOCK_WAIT
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise HokusaiError(
            f"HOKUSAI_LOCK_WAIT must be a whole number of seconds (e.g. {LOCK_WAIT}), "
            f"not {text[:20]!r}",
            exit_code=2,
        )
    return float(text)


def collect_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    values = {env.get(name, "") for name in SECRET_VARIABLES}
    return tuple(sorted((v for v in values if len(v) >= 4), key=len, reverse=True))


_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]+):([^@/\s]+)@")


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret value, and any password inside a URL, masked."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\1:***@", text)
