"""`--env-manager uv|virtualenv`: the model's own requirements, laid over this environment.

MLflow's env managers rebuild a model's whole environment from its `requirements.txt`. Here
the child needs this environment's MLflow, NumPy and pandas to load the model and hand back
plain arrays, so we build an OVERLAY instead: a venv on this interpreter whose site-packages
holds only what the model requires and this environment does not satisfy, and a `.pth` file
that adds this environment's site-packages AFTER the overlay's own. The model's pins win; the
rest comes from here. Its requirements are resolved against this environment's versions (as
constraints), so the overlay never shadows a package a compiled one here was built against;
then only the resolved versions this environment lacks are installed, without dependencies.
MLflow itself stays ours: it is the loader, and a model saved by an older MLflow loads in a
later one.

The installing runs in this process, without the model's code: uv (or pip) installs wheels
only (`--no-build`, `--only-binary :all:`), since building an sdist runs its author's code,
with an environment holding nothing but what reaching the package index needs. Index URLs
(which may hold credentials) are passed in that environment, never on a command line, and
messages name their host only. An overlay is cached per hash of what it holds, built in a
temporary folder and renamed into place, so a finished one is complete, and reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hokusai_action.inert import inert_text, shown
from hokusai_action.measure.measurement import MeasureError

if TYPE_CHECKING:
    from collections.abc import Callable

    from packaging.requirements import Requirement

OVERLAY_FORMAT = 1  # bump when what a cached overlay holds changes
DEFAULT_INDEX = "https://pypi.org/simple"
# The loader is this environment's MLflow: a model's pin of it is not installed (see the module).
KEPT = frozenset({"mlflow", "mlflow-skinny"})
INSTALL_TIMEOUT = 600.0
MARKER = "hokusai-overlay.json"
PTH = "_hokusai_parent.pth"
# What uv and pip need from our environment to reach an index; nothing else of ours (tokens).
PASSED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
          "UV_CACHE_DIR", "UV_HTTP_TIMEOUT", "UV_HTTP_RETRIES", "UV_NATIVE_TLS", "UV_OFFLINE",
          "UV_INSECURE_HOST", "UV_NO_CONFIG", "PIP_CONFIG_FILE",
          "PIP_CACHE_DIR", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_TRUSTED_HOST",
          "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
          "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Indexes:
    """The package index and the extra ones, as the environment sets them for uv or pip."""

    main: str
    extra: tuple[str, ...]

    def hosts(self) -> str:
        """The indexes by host alone: their URLs may hold a user and password."""
        return ", ".join(dict.fromkeys(_host(url) for url in (self.main, *self.extra)))


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "a local index"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def indexes(environ: dict[str, str] | os._Environ[str]) -> Indexes:
    """uv's variables first (UV_DEFAULT_INDEX, UV_INDEX_URL; UV_INDEX, UV_EXTRA_INDEX_URL),
    then pip's (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL), then PyPI."""
    main = next(
        (
            environ[k]
            for k in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")
            if environ.get(k)
        ),
        DEFAULT_INDEX,
    )
    extra: list[str] = []
    for key in ("UV_INDEX", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        extra += [url for url in environ.get(key, "").split() if url not in extra]
    return Indexes(main, tuple(extra))


def _requirement_lines(model_dir: Path) -> list[str]:
    path = model_dir / "requirements.txt"
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def requirements(model_dir: Path) -> list[Requirement]:
    """The model's requirements.txt as requirements on names from the package index: options
    (`--index-url`, `-r`), URLs and paths are refused, since the index is ours to choose."""
    from packaging.requirements import InvalidRequirement, Requirement

    found = []
    for line in _requirement_lines(model_dir):
        try:
            req = Requirement(line)
        except InvalidRequirement:
            req = None
        if req is None or req.url:
            raise MeasureError(
                f"the model's requirements.txt holds {shown(line, 120)}, which is not a package "
                "name with a version: --env-manager installs packages from the package index "
                "only (set UV_INDEX_URL to use another index); list the package as name==version"
            )
        if req.marker is None or req.marker.evaluate():
            found.append(req)
    return found


def check_python(model_dir: Path) -> None:
    """MeasureError when the model was saved by another Python (major.minor) than this one:
    the overlay is built on this interpreter."""
    import yaml

    path = model_dir / "python_env.yaml"
    if not path.is_file():
        return
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return
    wanted = str(data.get("python", "")) if isinstance(data, dict) else ""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if re.fullmatch(r"\d+\.\d+(\.\d+)?", wanted) and ".".join(wanted.split(".")[:2]) != here:
        raise MeasureError(
            f"the model was saved with Python {shown(wanted, 20)} (its python_env.yaml), and "
            f"hokusai-action runs Python {here}: --env-manager builds the model's packages on "
            f"this Python; save the model with Python {here}, or measure with a Python "
            f"{shown('.'.join(wanted.split('.')[:2]), 10)} where hokusai-action is installed"
        )


def _installed() -> dict[str, str]:
    """This environment's distributions, by normalized name."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found.setdefault(canonicalize_name(name), dist.version)
    return found


def unmet(reqs: list[Requirement], installed: dict[str, str]) -> list[Requirement]:
    """The requirements this environment does not satisfy (MLflow's pin aside: see KEPT)."""
    from packaging.utils import canonicalize_name

    missing = []
    for req in reqs:
        name = canonicalize_name(req.name)
        version = installed.get(name)
        if name in KEPT:
            continue
        if version is None or not req.specifier.contains(version, prereleases=True):
            missing.append(req)
    return missing


def _site_dirs() -> list[str]:
    """This environment's site-packages, which the overlay's interpreter adds after its own."""
    dirs = [*site.getsitepackages()]
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def cache_root(blocked: Callable[[Path], bool] | None = None) -> Path:
    """Where overlays are kept: $XDG_CACHE_HOME/hokusai-action/envs (~/.cache by default), or
    /var/cache/hokusai-action/envs when `blocked` says the model's user (`nobody`, when we
    are root) cannot reach the former."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = Path(base) / "hokusai-action" / "envs"
    if blocked is not None:
        first = next((p for p in (root, *root.parents) if p.exists()), Path("/"))
        if blocked(first):
            root = Path("/var/cache/hokusai-action/envs")
    return root


def _make_dirs(path: Path) -> None:
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        with contextlib.suppress(OSError):
            folder.chmod(0o755)


def _open_to_all(root: Path) -> None:
    """Every user may read the overlay: the model runs as `nobody` when we are root."""
    for folder, _dirs, files in os.walk(root):
        Path(folder).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)


def _tool_env(index: Indexes, manager: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED if k in os.environ}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    if manager == "uv":
        env["UV_INDEX_URL"] = index.main
        if index.extra:
            env["UV_EXTRA_INDEX_URL"] = " ".join(index.extra)
    else:
        env["PIP_INDEX_URL"] = index.main
        if index.extra:
            env["PIP_EXTRA_INDEX_URL"] = " ".join(index.extra)
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if found is None:
        raise MeasureError(
            "--env-manager uv needs the `uv` tool, which this environment lacks: "
            "pip install 'hokusai-action[measure]' (it carries uv), or use --env-manager virtualenv"
        )
    return found


def _redacted(text: str, index: Indexes) -> str:
    for url in (index.main, *index.extra):
        parts = urlsplit(url)
        if parts.username or parts.password:
            text = text.replace(url, f"{_host(url)}/…")
            for secret in (parts.password, parts.username):
                if secret:
                    text = text.replace(secret, "****")
    return text


def _run(args: list[str], cwd: Path, env: dict[str, str], what: str, reqs: str,
         index: Indexes) -> str:  # fmt: skip
    """The tool's output; MeasureError naming the packages and the index's host on failure."""
    try:
        done = subprocess.run(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=INSTALL_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise MeasureError(
            f"{what} the model's requirements ({reqs}) within {INSTALL_TIMEOUT:g} s, from the "
            f"package index {index.hosts()}"
        ) from None
    except OSError as e:
        raise MeasureError(f"{what} the model's requirements: {shown(e)}") from e
    if done.returncode != 0:
        lines = [line.strip() for line in _redacted(done.stderr, index).splitlines()]
        said = " ".join(line for line in lines if line)[-600:]
        raise MeasureError(
            f"{what} the model's requirements ({reqs}) from the package index "
            f"{index.hosts()}: {inert_text(said, 600)} -- check that these versions exist "
            "there as wheels (sdists are not built), or set UV_INDEX_URL (or PIP_INDEX_URL) to "
            "an index that has them"
        )
    return done.stdout


def _pins(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "==" in line and not line.startswith("#")]


def _pins_from_pip_report(path: Path) -> list[str]:
    report = json.loads(path.read_text(encoding="utf-8"))
    return [f"{item['metadata']['name']}=={item['metadata']['version']}"
            for item in report.get("install", [])]  # fmt: skip


def _build(manager: str, missing: list[Requirement], installed: dict[str, str], index: Indexes,
           build: Path) -> list[str]:  # fmt: skip
    """Make the overlay venv at `build/venv`; the pins installed in it."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    names = {canonicalize_name(r.name) for r in missing}
    (build / "requirements.in").write_text("".join(f"{r}\n" for r in missing), encoding="utf-8")
    (build / "constraints.txt").write_text(
        "".join(f"{n}=={v}\n" for n, v in sorted(installed.items()) if n not in names),
        encoding="utf-8",
    )
    reqs = ", ".join(str(r) for r in missing)
    env = _tool_env(index, manager)
    venv = build / "venv"
    if manager == "uv":
        uv, what = _uv(), "uv could not install"
        out = _run([uv, "pip", "compile", "requirements.in", "-c", "constraints.txt",
                    "--python", sys.executable, "--no-header", "--no-annotate", "--no-build",
                    "--quiet"], build, env, "uv could not resolve", reqs, index)  # fmt: skip
        resolved = _pins(out)
    else:
        what = "pip could not install"
        _run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
              "--quiet", "--report", "report.json", "--only-binary", ":all:",
              "-c", "constraints.txt", "-r", "requirements.in"],
             build, env, "pip could not resolve", reqs, index)  # fmt: skip
        resolved = _pins_from_pip_report(build / "report.json")
    needed = []
    for pin in resolved:
        req = Requirement(pin)
        version = installed.get(canonicalize_name(req.name))
        if canonicalize_name(req.name) in names or version is None or version not in req.specifier:
            needed.append(pin)
    (build / "pins.txt").write_text("".join(f"{p}\n" for p in needed), encoding="utf-8")
    if manager == "uv":
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
             build, env, "uv could not make an environment for", reqs, index)  # fmt: skip
        python = str(venv / "bin" / "python")
        _run([uv, "pip", "install", "--python", python, "--no-deps", "--no-build", "--quiet",
              "-r", "pins.txt"], build, env, what, reqs, index)  # fmt: skip
        purelib = _purelib(venv)
    else:
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
             build, env, "venv could not make an environment for", reqs, index)  # fmt: skip
        purelib = _purelib(venv)
        _run([sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary", ":all:",
              "--quiet", "--no-warn-script-location", "--target", str(purelib), "-r",
              "pins.txt"], build, env, what, reqs, index)  # fmt: skip
    (purelib / PTH).write_text(
        f"import site; list(map(site.addsitedir, {_site_dirs()!r}))\n", encoding="utf-8"
    )
    return needed


def _purelib(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        raise MeasureError(f"the environment made at {shown(venv.as_posix())} has no site-packages")
    return found[0]


def _key(
    manager: str, missing: list[Requirement], installed: dict[str, str], index: Indexes
) -> str:
    what = {"format": OVERLAY_FORMAT, "manager": manager, "python": sys.version,
            "interpreter": os.path.realpath(sys.executable), "site": _site_dirs(),
            "requirements": sorted(str(r) for r in missing), "installed": sorted(installed.items()),
            "index": [_host(u) + urlsplit(u).path for u in (index.main, *index.extra)]}  # fmt: skip
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Overlay:
    python: Path  # the interpreter the model's process runs
    root: Path
    installed: tuple[str, ...]  # the pins the overlay holds
    reused: bool


def prepare(
    model_dir: Path, manager: str, blocked: Callable[[Path], bool] | None = None
) -> Overlay | None:
    """The overlay for the model's requirements, built or reused; None when this environment
    already satisfies them all (the model then runs in this Python)."""
    check_python(model_dir)
    installed = _installed()
    missing = unmet(requirements(model_dir), installed)
    if not missing:
        return None
    index = indexes(os.environ)
    root = cache_root(blocked)
    final = root / _key(manager, missing, installed, index)
    if (final / MARKER).is_file():
        refuse_foreign(final)
        return _overlay(final, reused=True)
    try:
        _make_dirs(root)
        build = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    except OSError as e:
        raise MeasureError(
            f"--env-manager {manager} keeps the model's environments in "
            f"{shown(root.as_posix())}, which cannot be written ({shown(e.strerror)}): set "
            "XDG_CACHE_HOME to a folder of yours"
        ) from e
    try:
        needed = _build(manager, missing, installed, index, build)
        venv = build / "venv"
        (venv / MARKER).write_text(json.dumps({"installed": needed}), encoding="utf-8")
        _open_to_all(venv)
        try:
            venv.rename(final)
        except OSError:  # another run finished the same overlay first: use theirs
            if not (final / MARKER).is_file():
                raise
            return _overlay(final, reused=True)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return _overlay(final, reused=False)


def refuse_foreign(root: Path) -> None:
    """MeasureError for a cached overlay that another user owns or may write: what it holds
    runs with the model, so it must be what we installed."""
    for path in (root, root / MARKER, *root.glob("lib/python*/site-packages")):
        st = path.lstat()
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise MeasureError(
                f"the cached environment {shown(root.as_posix())} is not ours alone (owned by "
                f"uid {st.st_uid}, mode {st.st_mode & 0o777:o} at {shown(path.name)}): remove "
                "it, or set XDG_CACHE_HOME to a folder of yours"
            )


def _overlay(root: Path, *, reused: bool) -> Overlay:
    data = json.loads((root / MARKER).read_text(encoding="utf-8"))
    return Overlay(root / "bin" / "python", root, tuple(data.get("installed", [])), reused)
