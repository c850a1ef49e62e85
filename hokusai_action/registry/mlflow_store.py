"""The MLflow model registry, behind a few plain operations. The only module importing MLflow.

Everything crossing this boundary is plain data (VersionRecord), and every MLflow or network
error leaves as a RegistryError whose message says what failed and what to check, with no
secret in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hokusai_action.errors import HokusaiError, require
from hokusai_action.registry import lock, record
from hokusai_action.registry.plan import refuse_special_files
from hokusai_action.registry.settings import URI_USER_PART, RegistrySettings, redact

# Tags hokusai-action writes on model versions (and the first three on runs, as Hokusai's
# platform and the seed's "Option B" read them there too).
TOKEN_TAG = "hokusai_token_id"
METRIC_TAG = "benchmark_metric"
VALUE_TAG = "benchmark_value"
KEY_TAG = "hokusai_registration_key"


class RegistryError(HokusaiError):
    """The registry refused or could not be reached; the message says what to check."""


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """A registered model version, as plain data. Tags may be missing or malformed."""

    name: str
    version: int
    run_id: str | None
    source: str
    created_ms: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def token_id(self) -> str | None:
        return self.tags.get(TOKEN_TAG)

    @property
    def metric(self) -> str | None:
        return self.tags.get(METRIC_TAG)

    @property
    def benchmark_value(self) -> float | None:
        """The benchmark value, or None when missing or not a finite number."""
        try:
            value = float(self.tags[VALUE_TAG])
        except (KeyError, ValueError):
            return None
        return value if math.isfinite(value) else None

    def tag_problems(self) -> list[str]:
        """What is missing or malformed among the Hokusai tags, for listings."""
        problems = [
            f"no `{t}` tag" for t in (TOKEN_TAG, METRIC_TAG, VALUE_TAG) if t not in self.tags
        ]
        if VALUE_TAG in self.tags and self.benchmark_value is None:
            problems.append(f"`{VALUE_TAG}` is {self.tags[VALUE_TAG]!r}, not a number")
        return problems


# MLflow's filter grammar (mlflow.utils.search_utils, tokenised by sqlparse) has no escapes: a
# string literal is whatever lies between its outer quotes, taken as it is. sqlparse also reads
# `''` and `\'` as part of a '...' literal, so a value holding `'` or `\` cannot be spelt (a
# trailing `\` even swallows the closing quote, and "..." has the same trouble with `"`).
# Such a value is searched with LIKE instead, with `'`, `\` and `[` (a character class in SQL
# Server's LIKE) each replaced by `_`, which matches any one character. That finds a superset,
# and the callers keep only exact matches, so every name the validator accepts can be found.
_UNSPELLABLE = re.compile(r"['\\]")
_LIKE_SPECIAL = re.compile(r"['\\\[]")


def _clause(key: str, value: str) -> str:
    """A filter clause matching exactly `value` in `key`, or a superset of it (see above)."""
    if not _UNSPELLABLE.search(value):
        return f"{key} = '{value}'"
    return f"{key} LIKE '{_LIKE_SPECIAL.sub('_', value)}'"


class MlflowRegistry:
    def __init__(self, settings: RegistrySettings) -> None:
        self.settings = settings
        os.environ.update(settings.mlflow_environment(os.environ))
        if settings.embedded:
            Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        mlflow = require("mlflow", extra="registry", feature="Talking to the MLflow registry")
        for noisy in ("mlflow", "alembic"):  # table creation and migrations log at INFO
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self._mlflow = mlflow
        if settings.lock_file is None:
            with self._errors(f"open the registry at {settings.display_uri}"):
                self.client = self._client()
            return
        # One process at a time creates (migrates) the embedded database: MLflow's table
        # migrations race otherwise.
        with (
            lock.file_lock(settings.lock_file, settings.lock_wait, "the embedded registry"),
            self._errors("open the embedded registry"),
        ):
            self.client = self._client()
            self.client.search_experiments(max_results=1)  # the tracking tables
            self.client.search_registered_models(max_results=1)  # the registry's

    def _client(self) -> Any:
        uri = self.settings.tracking_uri
        return self._mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)

    # -- errors ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except RegistryError:
            raise
        except Exception as e:  # MLflow, requests, SQLAlchemy: all end here, translated
            raise RegistryError(self._explain(action, e)) from e

    def _explain(self, action: str, e: Exception) -> str:
        uri = self.settings.display_uri
        status = _http_status(e)
        code = str(getattr(e, "error_code", ""))
        # MLflow's message whole, on one line: cut, it lost its last words ("to opt out of this")
        detail = " ".join(redact(str(e), self.settings.secrets).split())
        if status == 401 or code == "UNAUTHENTICATED":
            auth = self.settings.auth
            if auth == "none":
                return (f"the registry at {uri} requires authentication ({action}): set "
                        "HOKUSAI_API_KEY to your Hokusai API key")  # fmt: skip
            ignored = "".join(f"; note: {w}" for w in self.settings.auth_warnings)
            if auth.startswith(URI_USER_PART):
                return (f"the registry at {uri} refused the username and password in "
                        f"{URI_USER_PART} (401) while trying to {action}: check them"
                        f"{ignored}")  # fmt: skip
            if "basic auth" in auth:
                return (f"the registry at {uri} refused the username and password (401) while "
                        f"trying to {action}: check MLFLOW_TRACKING_USERNAME and "
                        f"MLFLOW_TRACKING_PASSWORD{ignored}")  # fmt: skip
            variable = auth.split()[0]
            return (f"the registry at {uri} refused the API key (401) while trying to "
                    f"{action}: check {variable}{ignored}")  # fmt: skip
        if status == 403 or code == "PERMISSION_DENIED":
            return (f"the registry at {uri} refused access (403) while trying to {action}: "
                    "check that HOKUSAI_API_KEY belongs to an account allowed to do "
                    "this")  # fmt: skip
        if status == 413:
            return (f"the registry at {uri} refused the upload as too large (413) while trying "
                    f"to {action}: shrink the model (quantise, prune, compress) or leave files "
                    "that are not needed to load it out of model.path; check the server's "
                    "size limit")  # fmt: skip
        html = bool(re.search(r"<!doctype html|<html", str(e), re.IGNORECASE))
        if html or (status == 404 and code != "RESOURCE_DOES_NOT_EXIST"):
            what = "a web page (HTML)" if html else "404 Not Found"
            return (f"the registry at {uri} answered {what} instead of MLflow's REST API while "
                    f"trying to {action}: check the URI's path, which must be where MLflow "
                    "serves its API (for example https://registry.hokus.ai/api/mlflow, or "
                    "http://HOST:5000 for `mlflow server`, with no /api/2.0 or /#/ "
                    "part)")  # fmt: skip
        if _is_connection_failure(e):
            return (f"cannot reach the registry at {uri} to {action} (gave up after "
                    f"{self.settings.retries} retries, {self.settings.timeout} s timeout each): "
                    "check the URI (--tracking-uri or MLFLOW_TRACKING_URI), the network, and "
                    "that the server is running")  # fmt: skip
        return f"the registry at {uri} failed to {action}: {detail}"

    # -- reading --------------------------------------------------------------------------
    def _search_versions(
        self, filter_string: str, action: str, keep: Callable[[VersionRecord], bool]
    ) -> list[VersionRecord]:
        """The versions the filter finds that `keep` accepts (see `_clause`), oldest first."""
        records: list[VersionRecord] = []
        token = None
        with self._errors(action):
            while True:
                page = self.client.search_model_versions(
                    filter_string, max_results=1000, page_token=token
                )
                records.extend(r for r in map(_record, page) if keep(r))
                token = page.token
                if not token:
                    break
        return sorted(records, key=lambda r: (r.created_ms, r.version))

    def versions_for_token(self, token_id: str) -> list[VersionRecord]:
        """Every version of every model carrying this token, oldest first."""
        return self._search_versions(
            _clause(f"tags.{TOKEN_TAG}", token_id),
            f"search versions of token {token_id}",
            lambda r: r.token_id == token_id,
        )

    def hokusai_versions(self) -> list[VersionRecord]:
        """Every version carrying a Hokusai token, oldest first (for `list` without a token)."""
        return self._search_versions(
            f"tags.{TOKEN_TAG} LIKE '%'",
            "list the versions that carry a Hokusai token",
            lambda r: bool(r.token_id),
        )

    def versions_of_model(self, name: str) -> list[VersionRecord]:
        return self._search_versions(
            _clause("name", name), f"list versions of `{name}`", lambda r: r.name == name
        )

    def find_version_by_key(self, name: str, key: str) -> VersionRecord | None:
        found = self._search_versions(
            f"{_clause('name', name)} and {_clause(f'tags.{KEY_TAG}', key)}",
            f"look for an earlier registration of `{name}`",
            lambda r: r.name == name and r.tags.get(KEY_TAG) == key,
        )
        return found[-1] if found else None

    def get_version(self, name: str, version: int) -> VersionRecord | None:
        try:
            with self._errors(f"read version {version} of `{name}`"):
                return _record(self.client.get_model_version(name, str(version)))
        except RegistryError as e:
            if _code(e.__cause__) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def model_exists(self, name: str) -> bool:
        try:
            with self._errors(f"read registered model `{name}`"):
                self.client.get_registered_model(name)
        except RegistryError as e:
            if _code(e.__cause__) == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise
        return True

    def probe(self) -> int:
        """One cheap authenticated read; the number of registered models seen (at most 1)."""
        with self._errors("list registered models"):
            return len(self.client.search_registered_models(max_results=1))

    # -- the benchmark of record (see record.py) --------------------------------------------
    def record_revisions(self, token_id: str) -> list[record.BenchmarkRecord | record.RecordError]:
        """Every revision of the token's record, oldest first; unreadable ones as errors."""
        name = record.record_model(token_id)
        versions = self._search_versions(
            _clause("name", name), f"read the benchmark of record `{name}`",
            lambda r: r.name == name,
        )  # fmt: skip
        out: list[record.BenchmarkRecord | record.RecordError] = []
        for v in sorted(versions, key=lambda r: r.version):
            try:
                out.append(
                    record.BenchmarkRecord.from_json(
                        v.tags.get(record.RECORD_TAG, ""), token_id, v.version
                    )
                )
            except record.RecordError as e:
                out.append(e)
        return out

    def benchmark_record(self, token_id: str) -> record.BenchmarkRecord | None:
        """The revision in force: the newest. One that cannot be read is an error, never a
        reason to fall back to an older one."""
        revisions = self.record_revisions(token_id)
        if not revisions:
            return None
        latest = revisions[-1]
        if isinstance(latest, record.RecordError):
            raise RegistryError(
                f"the benchmark of record of {token_id} cannot be read ({latest}): its owner "
                f"writes a new revision with `hokusai-action benchmark set {token_id} --from "
                "hokusai.yaml`"
            )
        return latest

    def write_record(self, new: record.BenchmarkRecord) -> int:
        """A new revision; its number. Creates the record's and the lock's registered models
        when missing, so whoever claims a token holds both (see lock.py), and the models the
        record lists: one listed and not yet created could be created first by any account,
        which would then hold MANAGE on a model of the token and write its history."""
        name = record.record_model(new.token_id)
        text = new.to_json()
        missing = [m for m in new.models if not self.model_exists(m)]
        with self._errors(f"write the benchmark of record `{name}`"):
            for model, what in (
                (name, "the benchmark of record of a Hokusai token, not a model: each version "
                 "is a revision, read by hokusai-action (tag `hokusai_record`)."),
                (lock.lock_model(new.token_id), lock.LOCK_DESCRIPTION),
                *((m, None) for m in missing),
            ):  # fmt: skip
                try:
                    self.client.create_registered_model(model, description=what)
                except self._mlflow.exceptions.MlflowException as e:
                    if _code(e) != "RESOURCE_ALREADY_EXISTS":
                        raise
            mv = self.client.create_model_version(
                name, f"hokusai-record:/{new.token_id}", tags={record.RECORD_TAG: text}
            )
        return _record(mv).version

    # -- taking turns (see lock.py) -------------------------------------------------------
    @contextlib.contextmanager
    def token_lock(self, token_id: str, purpose: str) -> Iterator[None]:
        """Registrations of one token, one at a time: a flock for the embedded registry, a
        ticket lock with a lease on a server."""
        settings = self.settings
        if settings.lock_file is not None:
            with lock.file_lock(settings.lock_file, settings.lock_wait, "the embedded registry"):
                yield
            return
        try:
            with lock.ticket_lock(
                self, token_id, purpose, lease=settings.lock_lease, wait=settings.lock_wait
            ):
                yield
        except RegistryError as e:
            if "(403)" not in str(e) or "registration lock" not in str(e):
                raise
            name = lock.lock_model(token_id)
            raise RegistryError(
                f"cannot take the registration lock `{name}` of token {token_id}: the registry "
                "refused (403), so nothing was registered (never without the lock). The lock "
                "model belongs to whoever created it: the token's owner creates it with "
                f"`hokusai-action benchmark set {token_id}` and runs `register` with that "
                "account (or grants it EDIT on the lock model); if someone else created it "
                "first, an administrator deletes it and the owner runs `benchmark set` again"
            ) from e

    def take_ticket(self, name: str, tags: dict[str, str]) -> int:
        with self._errors(f"queue for the registration lock `{name}`"):
            try:
                self.client.create_registered_model(name, description=lock.LOCK_DESCRIPTION)
            except self._mlflow.exceptions.MlflowException as e:
                if _code(e) != "RESOURCE_ALREADY_EXISTS":
                    raise
            token = name.removeprefix(lock.LOCK_MODEL_PREFIX)
            mv = self.client.create_model_version(name, f"hokusai-lock:/{token}", tags=tags)
        return _record(mv).version

    def tickets(self, name: str) -> list[lock.Ticket]:
        records = self._search_versions(
            _clause("name", name), f"read the registration lock `{name}`", lambda r: r.name == name
        )
        out = []
        for r in records:
            expires = r.tags.get(lock.EXPIRES_TAG, "")
            ms = int(expires) if expires.isascii() and expires.isdigit() else None
            out.append(lock.Ticket(r.version, r.tags.get(lock.OWNER_TAG, ""), ms))
        return out

    def renew_ticket(self, name: str, version: int, expires_ms: int) -> bool:
        """False when the ticket is gone (another run judged it stale)."""
        try:
            self.set_version_tags(name, version, {lock.EXPIRES_TAG: str(expires_ms)})
        except RegistryError as e:
            if _code(e.__cause__) == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise
        return True

    def drop_ticket(self, name: str, version: int) -> None:
        try:
            with self._errors(f"release the registration lock `{name}`"):
                self.client.delete_model_version(name, str(version))
        except RegistryError as e:
            if _code(e.__cause__) != "RESOURCE_DOES_NOT_EXIST":  # another run dropped it
                raise

    # -- writing --------------------------------------------------------------------------
    def ensure_experiment(self, name: str) -> str:
        with self._errors(f"create experiment `{name}`"):
            experiment = self.client.get_experiment_by_name(name)
            if experiment is not None:
                return str(experiment.experiment_id)
            location = None
            if self.settings.artifact_root is not None:
                self.settings.artifact_root.mkdir(parents=True, exist_ok=True)
                location = (self.settings.artifact_root / _safe_dir(name)).as_uri()
            try:
                return str(self.client.create_experiment(name, artifact_location=location))
            except self._mlflow.exceptions.MlflowException as e:
                if _code(e) != "RESOURCE_ALREADY_EXISTS":  # another run created it just now
                    raise
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:  # it exists, deleted: MLflow keeps the name taken
                raise RegistryError(
                    f"experiment `{name}` exists in the registry's trash: restore it, or "
                    "delete it for good (`mlflow gc`), and run again"
                )
            return str(experiment.experiment_id)

    def find_run_by_key(self, experiment_id: str, key: str) -> str | None:
        with self._errors("look for an unfinished earlier run"):
            runs = self.client.search_runs(
                [experiment_id], filter_string=_clause(f"tags.{KEY_TAG}", key), max_results=100
            )
        exact = [run for run in runs if run.data.tags.get(KEY_TAG) == key]
        return exact[0].info.run_id if exact else None

    def create_run(self, experiment_id: str, run_name: str, tags: dict[str, str]) -> str:
        with self._errors("create a run"):
            run = self.client.create_run(experiment_id, tags=tags, run_name=run_name)
        return str(run.info.run_id)

    def log_run(
        self, run_id: str, params: dict[str, str], metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        entities = self._mlflow.entities
        with self._errors("log params, metrics and tags"):
            existing = self.client.get_run(run_id).data.params
            self.client.log_batch(
                run_id,
                metrics=[entities.Metric(k, v, 0, 0) for k, v in metrics.items()],
                # Params cannot change once logged; a recovered run logged them already.
                params=[entities.Param(k, v) for k, v in params.items() if k not in existing],
                tags=[entities.RunTag(k, v) for k, v in tags.items()],
            )

    def log_model_files(self, run_id: str, path: Path, artifact_path: str) -> str:
        """Upload a file or directory under `artifact_path`; returns its artifact URI."""
        refuse_special_files(path)  # MLflow would open a FIFO and wait for good
        with self._errors(f"upload the model files from {path}"):
            if path.is_dir():
                self.client.log_artifacts(run_id, str(path), artifact_path)
            else:
                self.client.log_artifact(run_id, str(path), artifact_path)
            run = self.client.get_run(run_id)
        return f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}"

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        with self._errors(f"upload {artifact_file}"):
            self.client.log_text(run_id, text, artifact_file)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        import tempfile

        with self._errors(f"upload {artifact_file}"), tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / Path(artifact_file).name
            file.write_bytes(data)
            self.client.log_artifact(run_id, str(file), str(Path(artifact_file).parent))

    def log_dataset(self, run_id: str, name: str, sha256: str, source: dict[str, Any],
                    profile: dict[str, Any]) -> None:  # fmt: skip
        """MLflow's own dataset tracking (`mlflow.log_input`): the data a value was measured
        on. Its digest column holds 36 characters: the hash's first 36 hex digits, the whole
        hash in the source."""
        entities = self._mlflow.entities
        dataset = entities.Dataset(
            name=name[:500], digest=sha256[:36], source_type="hokusai",
            source=json.dumps({**source, "sha256": sha256}, sort_keys=True),
            profile=json.dumps(profile, sort_keys=True),
        )  # fmt: skip
        context = entities.InputTag(key="mlflow.data.context", value="evaluation")
        with self._errors("log the evaluation dataset"):
            inputs = [entities.DatasetInput(dataset, tags=[context])]
            self.client.log_inputs(run_id, datasets=inputs)

    def read_artifact(self, run_id: str, path: str, limit: int = 256 << 20) -> bytes | None:
        """A run's artifact file, or None when it has none there (the registry is shared:
        what is read back is checked by its reader, and bounded here)."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp, self._errors(f"read {path} of run {run_id}"):
            listed = self.client.list_artifacts(run_id, str(Path(path).parent))
            if not any(f.path == path and not f.is_dir for f in listed):
                return None  # listed first: a failure to read is an error, not "none"
            local = Path(self.client.download_artifacts(run_id, path, tmp))
            if not local.is_file() or local.stat().st_size > limit:
                return None
            return local.read_bytes()

    def download_artifact(self, uri: str, into: Path) -> Path:
        """An artifact by its URI (`runs:/RUN/holdout.csv`), with this registry's
        credentials: a benchmark's data kept where pull requests cannot read it."""
        with self._errors(f"download {uri}"):
            uri_ = self.settings.tracking_uri
            return Path(self._mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(into), tracking_uri=uri_,
            ))  # fmt: skip

    def download_model(self, version: VersionRecord, into: Path) -> Path:
        """A version's model files as the registry stores them (its run's `model`
        artifacts), for `verify`: not the repository's copy."""
        if not version.run_id:
            raise HokusaiError(f"{version.name} version {version.version} has no run to read")
        with self._errors(f"download the model of {version.name} version {version.version}"):
            path = self.client.download_artifacts(version.run_id, "model", str(into))
        return Path(path)

    def run_finished(self, run_id: str) -> bool:
        with self._errors(f"read run {run_id}"):
            return str(self.client.get_run(run_id).info.status) == "FINISHED"

    def finish_run(self, run_id: str) -> None:
        with self._errors("finish the run"):
            self.client.set_terminated(run_id, "FINISHED")

    def create_version(
        self, name: str, source: str, run_id: str, tags: dict[str, str], description: str | None
    ) -> VersionRecord:
        with self._errors(f"register a version of `{name}`"):
            if not self.model_exists(name):
                try:
                    self.client.create_registered_model(name)
                except self._mlflow.exceptions.MlflowException as e:
                    if _code(e) != "RESOURCE_ALREADY_EXISTS":  # created by another run
                        raise
            mv = self.client.create_model_version(
                name, source, run_id=run_id, tags=tags, description=description
            )
        return _record(mv)

    def set_version_tags(self, name: str, version: int, tags: dict[str, str]) -> None:
        with self._errors(f"tag version {version} of `{name}`"):
            for key, value in tags.items():
                self.client.set_model_version_tag(name, str(version), key, value)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with self._errors(f"set alias `{alias}` on version {version} of `{name}`"):
            self.client.set_registered_model_alias(name, alias, str(version))

    def aliases_of(self, name: str) -> dict[str, int]:
        with self._errors(f"read aliases of `{name}`"):
            model = self.client.get_registered_model(name)
        aliases = getattr(model, "aliases", None) or {}
        return {a: int(v) for a, v in aliases.items() if re.fullmatch(r"[0-9]{1,12}", str(v))}

    def links(
        self, experiment_id: str | None, run_id: str | None, name: str, version: int | None
    ) -> dict[str, str]:
        """Web UI links, for a tracking server reached over HTTP."""
        uri = self.settings.tracking_uri.rstrip("/")
        if not uri.startswith(("http://", "https://")):
            return {}
        out = {}
        if experiment_id and run_id:
            out["run"] = f"{uri}/#/experiments/{experiment_id}/runs/{run_id}"
        if version is not None:  # the name is the user's: quoted, it cannot leave the link
            out["model_version"] = f"{uri}/#/models/{quote(name, safe='')}/versions/{version}"
        return {k: redact(v, self.settings.secrets) for k, v in out.items()}


def _record(mv: Any) -> VersionRecord:
    """MLflow's ModelVersion as plain data: versions are strings over REST, ints in SQLite."""
    try:
        version = int(mv.version)
        created = int(mv.creation_timestamp or 0)
    except (TypeError, ValueError) as e:
        raise RegistryError(
            f"the registry answered a model version numbered {str(mv.version)[:40]!r}, not a "
            "number: check that the tracking URI points at an MLflow registry"
        ) from e
    return VersionRecord(
        name=mv.name,
        version=version,
        run_id=mv.run_id or None,
        source=mv.source or "",
        created_ms=created,
        tags=dict(mv.tags or {}),
        aliases=tuple(getattr(mv, "aliases", None) or ()),
        description=mv.description or "",
    )


def _safe_dir(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _code(e: BaseException | None) -> str:
    return str(getattr(e, "error_code", ""))


def _http_status(e: BaseException) -> int | None:
    getter = getattr(e, "get_http_status_code", None)
    if getter is not None and _code(e) not in ("INTERNAL_ERROR", ""):
        with contextlib.suppress(Exception):
            return int(getter())
    response = getattr(e, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return int(status)
    text = str(e)
    for candidate in (401, 403, 404, 413):
        if f"error code {candidate} " in text or f"{candidate} Client Error" in text:
            return candidate
    return None


def _is_connection_failure(e: BaseException) -> bool:
    """No answer at all (refused, unreachable, timed out), as opposed to an answer."""
    chain: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    names = {type(c).__name__ for c in chain}
    if names & {
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "MaxRetryError",
        "NewConnectionError",
    }:
        return True
    # MLflow's REST client reports requests' failure in its message, not its cause.
    text = str(e)
    return "Max retries exceeded" in text or "Failed to establish a new connection" in text
