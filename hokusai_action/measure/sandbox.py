"""The model runs in a child process, because loading a model runs its author's code.

Unpickling a scikit-learn model, a cloudpickled PythonModel, an MLmodel's `loader_module` or
`code`: each runs what the manifest's author wrote. So the model gets a private copy of its
files and the features (never the labels: a model that saw them could copy them), in a work
folder of its own, and runs in `python -I` with a scrubbed environment (no token, key,
password, INPUT_*, MLFLOW_*, GITHUB_* or HOKUSAI_* variable), the features on its stdin and
nothing else, its own session, a deadline, and, when we are root (the action's container), as
`nobody`: it cannot read our /proc/<pid>/environ nor root's files. Not root, we make
ourselves undumpable instead (prctl PR_SET_DUMPABLE 0), so that a child of the same user
cannot read our environ either. Where the kernel has Landlock, the child also confines itself
before the model's code runs (`_child._confine`): it reads only the system, Python and its
work folder, so the labels' original file, readable by all in a checked-out repository, is
out of its reach too.

What it writes back is read as untrusted: plain .npy arrays only (no pickle), regular files
only (no symlink, no hard link to another user's file), size-bounded, then checked
(`predictions.check`).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from hokusai_action.errors import HokusaiError
from hokusai_action.inert import inert_text, shown
from hokusai_action.measure.measurement import MeasureError, Predictions, Staged
from hokusai_action.measure.overlay import prepare
from hokusai_action.measure.pipe import STOP_SECONDS, send_features
from hokusai_action.measure.predictions import check
from hokusai_action.registry.plan import hash_model_files, refuse_special_files

if TYPE_CHECKING:
    import pandas as pd

CHILD_MODULE = "hokusai_action.measure._child"
CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"
NOBODY_ID = 65534  # where there is no `nobody` entry
STDERR_LINES = 20
STDERR_TAIL_BYTES = 64 * 1024
JSON_LIMIT = 64 * 1024
ENV_MANAGERS = ("local", "uv", "virtualenv")
# The managers that add the model's own requirements to this environment (overlay.py).
REBUILDING_MANAGERS: tuple[str, ...] = ("uv", "virtualenv")
CHILD_FILE = Path(__file__).with_name("_child.py")  # run by path under an overlay's Python
PR_SET_DUMPABLE = 4


@dataclass(frozen=True, slots=True)
class ChildRun:
    predictions: Predictions
    packages: dict[str, str]
    model_sha256: str
    confinement: str  # what the child reported of its Landlock confinement


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the child runs as: `nobody` when we are root, else ourselves (None)."""

    uid: int
    gid: int


def child_identity() -> Identity | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return Identity(NOBODY_ID, NOBODY_ID)
    return Identity(entry.pw_uid, entry.pw_gid)


def _undumpable() -> None:
    """Linux: no process of our user may read /proc/<our pid>/environ or attach to us."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _allowed(st: os.stat_result, who: Identity, bits: int) -> bool:
    """Whether `who` has all of `bits` (as for "other": 4 read, 1 search) on a file."""
    if st.st_uid == who.uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid == who.gid:
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits


def unreachable(path: Path, who: Identity) -> Path | None:
    """The first folder on the way to `path` (or `path` itself) that `who` cannot search or
    read, or None when it can reach and read it."""
    resolved = Path(os.path.realpath(path))
    for folder in reversed(resolved.parents):
        if not _allowed(folder.stat(), who, 1):
            return folder
    return None if _allowed(resolved.stat(), who, 4 | (1 if resolved.is_dir() else 0)) else resolved


def _needed_paths() -> list[Path]:
    """What the child's interpreter must read: itself, its standard library, the installed
    packages, and this package (an editable install lives elsewhere)."""
    paths = [Path(sys.executable), Path(sysconfig.get_paths()["stdlib"]),
             Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"]),
             Path(__file__).parent]  # fmt: skip
    for name in ("numpy", "pandas", "mlflow", "sklearn"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            paths.append(Path(spec.origin).parent)
    return paths


def check_reachable(who: Identity, paths: list[Path] | None = None) -> None:
    """MeasureError when the child, running as `who`, could not start Python or import us."""
    for path in paths if paths is not None else _needed_paths():
        blocked = unreachable(path, who)
        if blocked is not None:
            raise MeasureError(
                f"the model runs as user `nobody` (uid {who.uid}) when hokusai-action runs as "
                f"root, and nobody cannot read {shown(path.as_posix(), 120)} (blocked at "
                f"{shown(blocked.as_posix(), 120)}): install hokusai-action where every user "
                "can read it (as the action's image does, under /usr/local), make that folder "
                "readable (chmod a+rX), or run as a user other than root"
            )


def refuse_links_out(model_dir: Path) -> None:
    """MeasureError for a symlink in the model that leads outside the model's folder.

    The model is copied by us, following links, into a folder the model's process reads: a
    link to the benchmark's data, to /proc/self/environ or to root's files would hand it what
    it must not see. Links within the model's folder copy the model's own files. The folder
    itself is the manifest's `model.path`, which validation keeps inside the repository."""
    root = model_dir.resolve()
    for folder, dirs, files in os.walk(model_dir):
        for name in (*dirs, *files):
            entry = Path(folder) / name
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                raise MeasureError(
                    f"the model holds {shown(entry.relative_to(model_dir).as_posix())}, a "
                    "symlink to outside the model's folder: measuring gives the model its own "
                    "files only; put the file itself in the model's folder"
                )


def check_searchable(who: Identity, folder: Path) -> None:
    """MeasureError when `who` cannot pass through `folder` to the private folder made in it
    for the child (its copy of the model, the features): TMPDIR under a folder only root may
    enter, such as pytest's, would otherwise fail inside the child with a bare EACCES."""
    resolved = Path(os.path.realpath(folder))
    for step in (*reversed(resolved.parents), resolved):
        if not _allowed(step.stat(), who, 1):
            where = shown(folder.as_posix(), 120)
            raise MeasureError(
                f"the model runs as user `nobody` (uid {who.uid}) when hokusai-action runs as "
                f"root, and nobody cannot enter the temporary folder {where}"
                f" (blocked at {shown(step.as_posix(), 120)}): set TMPDIR to a folder every "
                "user can enter, such as /tmp, or run as a user other than root"
            )


def _chown_tree(root: Path, who: Identity) -> None:
    os.chown(root, who.uid, who.gid)
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.chown(Path(folder) / name, who.uid, who.gid, follow_symlinks=False)


# Remove a work folder whatever the model left in it: a folder it made unreadable is opened
# up first (within the work folder only), and nothing raises. Run as the model's user when a
# model ran in it as another (see _remove).
REMOVE = """
import os, shutil, sys

root = sys.argv[1]


def retry(function, path, _error):
    try:
        if os.path.dirname(path).startswith(root):
            os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
        function(path)
    except Exception:
        pass


try:
    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=retry)
    else:
        shutil.rmtree(root, onerror=retry)
except Exception:  # RecursionError too: a folder nested deeper than Python recurses
    pass
if os.path.lexists(root):  # rm walks a tree of any depth without recursing
    import subprocess

    subprocess.run(["rm", "-rf", "--", root], check=False)
"""


def _remove(workdir: Path, who: Identity | None) -> None:
    """Remove a work folder; never raises (it may stay behind).

    Where a model ran as `who` (`nobody`, we are root), a process it left behind may still
    be changing the folder, swapping a folder for a symlink to one of ours: so the folder is
    removed by a process of `who`, which cannot touch what `who` does not own. Otherwise it
    is removed here, with the same rules: nothing outside the folder is ever changed."""
    command = [sys.executable, "-I", "-S", "-c", REMOVE, str(workdir)]
    identity = {} if who is None else {"user": who.uid, "group": who.gid, "extra_groups": []}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(command, env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120, check=False, **identity)  # fmt: skip
    with contextlib.suppress(OSError):  # emptied, in a folder `who` may not write: ours to rmdir
        workdir.rmdir()  # (never follows a symlink; refuses a folder that is not empty)


def _read_untrusted(path: Path, who: Identity | None, limit: int) -> bytes | None:
    """The bytes of a regular file the child wrote, None when absent; MeasureError for a
    symlink, a special file, a file another user owns, or one over `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise MeasureError(
            f"the model's output {path.name} is not a plain file ({e.strerror})"
        ) from e
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (who is not None and st.st_uid != who.uid):
            raise MeasureError(f"the model's output {path.name} is not a file the model wrote")
        if st.st_size > limit:
            raise MeasureError(f"the model's output {path.name} is over {limit} bytes")
        return f.read(limit + 1)[:limit]


def _load_array(path: Path, who: Identity | None, limit: int) -> object | None:
    import io

    import numpy as np

    data = _read_untrusted(path, who, limit)
    if data is None:
        return None
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:  # an object array, a pickle, a broken file
        raise MeasureError(
            f"the model's output is not plain numbers or strings ({path.name}: {shown(e, 120)})"
        ) from e


def _tail(log: IO[bytes]) -> str:
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - STDERR_TAIL_BYTES))
    lines = log.read().decode("utf-8", "replace").splitlines()[-STDERR_LINES:]
    if not lines:
        return ""
    return "\n  the model's last output:\n" + "\n".join(
        f"    {inert_text(line, 300)}" for line in lines
    )


def _failure(
    out: Path, who: Identity | None, code: int, shown_model: str, log: IO[bytes], env_manager: str
) -> MeasureError:
    raw = _read_untrusted(out / "error.json", who, JSON_LIMIT)
    try:
        error = json.loads(raw) if raw else {}
    except ValueError:
        error = {}
    error = error if isinstance(error, dict) else {}
    kind, message = error.get("kind"), shown(error.get("message", ""), 300)
    if kind == "missing_module" and isinstance(error.get("module"), str):
        package = shown(error["module"].split(".")[0], 60)
        if env_manager in REBUILDING_MANAGERS:
            return MeasureError(
                f"the model {shown_model} needs the Python package `{package}`, which neither "
                "this environment nor the model's requirements.txt provide: list the package "
                "in the model's requirements (pip_requirements when saving it with MLflow)"
            )
        if REBUILDING_MANAGERS:
            return MeasureError(
                f"the model {shown_model} needs the Python package `{package}`, which this "
                "environment lacks: install it, or run with `--env-manager uv` (or virtualenv) "
                "to install the model's own requirements.txt from the package index"
            )
        return MeasureError(
            f"the model {shown_model} needs the Python package `{package}`, which this "
            "environment lacks: install it where hokusai-action runs (rebuilding the model's "
            "own environment with `--env-manager uv` is not supported yet)"
        )
    what = {"load_failed": "could not be loaded", "predict_failed": "failed to predict",
            "setup_failed": "could not be started", "bad_output": "gave an output that is not "
            "one number or string per row"}.get(str(kind))  # fmt: skip
    if what:
        return MeasureError(f"the model {shown_model} {what}: {message}{_tail(log)}")
    ended = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return MeasureError(f"the model's process {ended} before writing its predictions{_tail(log)}")


def _packages(raw: bytes | None) -> dict[str, str]:
    """The versions the child reported, as short inert text (the child is not trusted)."""
    try:
        found = json.loads(raw or b"{}")
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {shown(k, 40): shown(v, 120) for k, v in found.items()}


def _environment(workdir: Path) -> dict[str, str]:
    """Nothing of ours: no token, key, password, registry address or runner variable."""
    return {"PATH": CHILD_PATH, "HOME": str(workdir), "TMPDIR": str(workdir), "LANG": "C.UTF-8"}


def _wait(process: subprocess.Popen[bytes], timeout: float, rows: int, shown_model: str) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MeasureError(
            f"the model {shown_model} did not finish predicting on {rows} rows in {timeout:g} s: "
            "it was stopped"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # and whatever it started in its session
        process.wait()


class ModelProcess:
    """A model loading in its own process (see the module), started before its features exist.

    Loading (Python's start-up, the imports, unpickling) takes seconds that measuring need not
    wait for: creating one copies the model and starts its process, which loads the model and
    then waits for the features on its stdin while this process opens the registry and reads
    the data; `send` writes them (a pickle, through the pipe: no file of ours lies in a folder
    the model can write), `result` reads back the predictions. Closing it (or our exit, which
    closes the pipe) ends a process that was never sent anything. The model's code may hold
    the pipe and never read it: the writes never block past `result`'s deadline or `close`.
    """

    def __init__(self, model_dir: Path, env_manager: str = "local") -> None:
        if env_manager != "local" and env_manager not in REBUILDING_MANAGERS:
            raise MeasureError(f"--env-manager {shown(env_manager)} is not supported: use local")
        self.model_dir, self.env_manager = model_dir, env_manager
        self.shown_model = shown(model_dir.as_posix())
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self._log: IO[bytes] | None = None
        self._stdin: int | None = None  # our end of the model's stdin, until a sender owns it
        self._sender: threading.Thread | None = None
        self._stop = threading.Event()
        self._rows = 0
        command, self.who = self._command()
        self.workdir = Path(tempfile.mkdtemp(prefix="hokusai-measure-"))
        self._processes: list[subprocess.Popen[bytes]] = []
        # run by close(), or at exit for one never closed (a generator left unfinished)
        self._ended = weakref.finalize(self, _end, self._processes, self.workdir, self.who)
        try:
            self.model_sha256 = self._prepare(self.workdir)
            self._start(command)
        except BaseException:
            self.close()
            raise

    def _command(self) -> tuple[list[str], Identity | None]:
        model_dir, shown_model = self.model_dir, self.shown_model
        if not (model_dir / "MLmodel").is_file():
            raise MeasureError(
                f"the model {shown_model} is not an MLflow model directory (it has no MLmodel "
                "file): measuring loads the model with MLflow"
            )
        if importlib.util.find_spec("mlflow") is None:
            raise MeasureError(
                "measuring loads the model with MLflow, which this environment lacks: "
                "pip install 'hokusai-action[registry,measure]'"
            )
        try:
            refuse_special_files(model_dir, model_dir.as_posix())
        except HokusaiError as e:
            raise MeasureError(str(e)) from e
        refuse_links_out(model_dir)
        who = child_identity()
        if who is None:
            _undumpable()
        else:
            check_reachable(who)
        command = [sys.executable, "-I", "-m", CHILD_MODULE]
        if self.env_manager in REBUILDING_MANAGERS:
            blocked = None if who is None else (lambda path: unreachable(path, who) is not None)
            overlay = prepare(model_dir, self.env_manager, blocked)
            if overlay is not None:
                if who is not None:
                    check_reachable(who, [overlay.root, overlay.python, CHILD_FILE])
                command = [str(overlay.python), "-I", str(CHILD_FILE)]
        return command, who

    def _prepare(self, workdir: Path) -> str:
        """The model's private copy and output folder, handed to the child's user; the copy's
        hash (what is measured is what was hashed)."""
        who = self.who
        if who is not None:
            check_searchable(who, workdir.parent)
        model_copy, out = workdir / "model", workdir / "out"
        try:  # contents only: no mode bits (setuid) of the author's files, symlinks followed
            shutil.copytree(
                self.model_dir, model_copy, symlinks=False, copy_function=shutil.copyfile
            )
        except (OSError, shutil.Error) as e:
            raise MeasureError(
                f"the model {self.shown_model} cannot be copied to be measured: {shown(e, 200)}"
            ) from e
        model_sha256 = hash_model_files(model_copy).sha256
        out.mkdir()
        if who is not None:
            _chown_tree(workdir, who)
            if (blocked := unreachable(workdir, who)) is not None:
                raise MeasureError(
                    f"the model runs as user `nobody`, who cannot reach its work folder "
                    f"{shown(workdir.as_posix())} (blocked at {shown(blocked.as_posix())}): set "
                    "TMPDIR to a folder every user can search, such as /tmp"
                )
        return model_sha256

    def _start(self, command: list[str]) -> None:
        assert self.workdir is not None
        who = self.who
        identity = {} if who is None else {"user": who.uid, "group": who.gid, "extra_groups": []}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        read_end, self._stdin = os.pipe()
        try:
            self.process = subprocess.Popen(
                [*command, str(self.workdir)],
                cwd=self.workdir, env=_environment(self.workdir), stdin=read_end,
                stdout=self._log, stderr=self._log, start_new_session=True, close_fds=True,
                **identity,
            )  # fmt: skip
            self._processes.append(self.process)
        except OSError as e:
            raise MeasureError(
                f"the model's process could not be started ({shown(e, 200)}): check that "
                f"{shown(command[0])} runs for every user"
            ) from e
        finally:
            os.close(read_end)

    def send(self, features: pd.DataFrame | Staged, rows: int) -> None:
        """Send the features (a frame, or its pickle staged in a file), from a thread: the
        model may be loading still, or may never read them; the caller can drop its own copy
        at once, and do other work meanwhile."""
        if self.process is None or self._stdin is None:
            raise MeasureError("the model's process was closed, or was sent its features")
        self._rows = rows
        fd, self._stdin = self._stdin, None  # the sender's to close
        self._sender = threading.Thread(
            target=send_features, args=(fd, features, self._stop), daemon=True
        )
        try:
            self._sender.start()
        except BaseException:
            os.close(fd)
            raise

    def result(self, *, timeout: float = 600.0) -> ChildRun:
        """The model's predictions on the features sent; the process has ended when this
        returns. `timeout` counts from now: loading that is still under way is part of it."""
        process, log, sender = self.process, self._log, self._sender
        if process is None or log is None or sender is None:
            raise MeasureError("the model's process was closed, or was sent no features")
        out, rows, who = (self.workdir or Path()) / "out", self._rows, self.who
        try:
            code = _wait(process, timeout, rows, self.shown_model)
        finally:
            self._stop.set()  # a pipe someone still holds and never reads: stop writing
            sender.join(timeout=STOP_SECONDS)
        if code != 0:
            raise _failure(out, who, code, self.shown_model, log, self.env_manager)
        limit = 16 * 1024 * 1024 + rows * 4096
        labels = _load_array(out / "labels.npy", who, limit)
        if labels is None:
            raise MeasureError(f"the model's process wrote no predictions{_tail(log)}")
        proba = _load_array(out / "proba.npy", who, limit)
        classes = _load_array(out / "classes.npy", who, limit)
        packages = _packages(_read_untrusted(out / "packages.json", who, JSON_LIMIT))
        pred = check(Predictions(labels, proba, classes), rows)  # type: ignore[arg-type]
        confinement = packages.pop("confinement", "none: not reported")
        return ChildRun(pred, packages, self.model_sha256, confinement)

    def close(self) -> None:
        """End the process (and whatever it started in its session) and remove its folder."""
        self.process = None
        self._stop.set()
        if self._stdin is not None:  # never sent: the process reads the end of its input
            os.close(self._stdin)
            self._stdin = None
        self._ended()  # the process, then its folder
        self.workdir = None
        if self._sender is not None:
            self._sender.join(timeout=STOP_SECONDS)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ModelProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _end(processes: list[subprocess.Popen[bytes]], workdir: Path, who: Identity | None) -> None:
    """End a model's process, and whatever it started in its session, then remove its work
    folder. A process the model started in a session of its own (setsid) is beyond the
    process group's kill: as the container's first process we end every process of the
    model's user too (`_end_every_process_of`); elsewhere, docs/measured-values.md says what
    such a process can reach."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if who is not None and os.getpid() == 1:
        _end_every_process_of(who)
    # No model ran yet (its copy is still ours): removed as we are; else as the model's user.
    _remove(workdir, who if processes else None)


END_ALL = "import os, signal; os.kill(-1, signal.SIGKILL)"  # all we may signal but ourselves


def _end_every_process_of(who: Identity) -> None:
    """Kill every process of `who` (`nobody`), from a process running as `who`.

    Only as PID 1 of a container (the action's image): there every process of the model's user
    is one a model started, and one left behind could write into the next model's work folder
    (it is `nobody` too). On a shared machine other processes may run as `nobody`, so this is
    never done there."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [sys.executable, "-I", "-S", "-c", END_ALL], user=who.uid, group=who.gid,
            extra_groups=[], env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=30, check=False,
        )  # fmt: skip


def run_model(
    model_dir: Path, features: pd.DataFrame, *, timeout: float = 600.0, env_manager: str = "local"
) -> ChildRun:
    """The model's predictions on `features`, made in a child process (see the module)."""
    with ModelProcess(model_dir, env_manager) as child:
        child.send(features, len(features))
        return child.result(timeout=timeout)
