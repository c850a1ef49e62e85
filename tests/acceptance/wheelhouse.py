"""Build an offline wheelhouse by repacking distributions installed in this interpreter.

Why this exists: `pre-commit try-repo` installs our hook the way users get it, with
`pip install .` into a fresh virtualenv. pip then needs wheels for the build backend
(hatchling, installed into an isolated build environment) and for our runtime
dependencies (click, pyyaml), with everything they depend on. The acceptance tests must
not reach the network, not even the package index, and there is no network-free way to
download those wheels. They are, however, already installed in the test virtualenv (the
`test` extra pulls in hatchling), so we turn each installed distribution back into a
wheel: a zip of the files its RECORD lists, with a freshly hashed RECORD, named after the
tag in its WHEEL file. pip is then run with `PIP_NO_INDEX=1` and `PIP_FIND_LINKS`
pointing here.

What a repacked wheel leaves out: files installed outside site-packages (RECORD entries
starting with `..`, such as console scripts, which pip regenerates from
entry_points.txt), bytecode, and the installer's own records (INSTALLER, REQUESTED,
direct_url.json, RECORD itself).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import re
import sys
import zipfile
from collections.abc import Iterable
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# Written by the installer, not part of the wheel it installed from.
_INSTALLER_FILES = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"})


class WheelhouseError(RuntimeError):
    """An installed distribution that cannot be turned into the wheel pip needs."""


def wheel_name(name: str) -> str:
    """A distribution name as it appears in a wheel's file name (wheel spec escaping)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def requirement_closure(requirements: Iterable[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions that `requirements` need, transitively.

    Markers are evaluated for the running interpreter; extras are ignored (neither
    requested extras nor requirements conditional on one are followed).
    """
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [Requirement(r) for r in requirements]
    while pending:
        req = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(req.name)
        if key in found:
            continue
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError as e:
            raise WheelhouseError(
                f"{req.name} is not installed in {sys.prefix}; install the "
                "project's `test` extra so the offline wheelhouse can be built"
            ) from e
        if not req.specifier.contains(dist.version, prereleases=True):
            raise WheelhouseError(f"installed {req.name} {dist.version} does not satisfy {req}")
        found[key] = dist
        pending.extend(Requirement(r) for r in dist.requires or ())
    return sorted(found.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def _wheel_tag(wheel_metadata: str) -> str:
    """The file-name tag for the Tag lines of a WHEEL file, compressed when the tags are
    the full product of their parts (e.g. one interpreter and ABI, several platforms)."""
    tags = [t.strip() for t in Parser().parsestr(wheel_metadata).get_all("Tag") or ()]
    if not tags:
        raise WheelhouseError("WHEEL file has no Tag line")
    parts = [list(dict.fromkeys(t.split("-")[i] for t in tags)) for i in range(3)]
    product = {f"{p}-{a}-{pl}" for p in parts[0] for a in parts[1] for pl in parts[2]}
    if product == set(tags):
        return "-".join(".".join(p) for p in parts)
    return tags[0]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def _member(path: str, mode: int) -> zipfile.ZipInfo:
    """A zip entry that keeps the file's permission bits (pip restores the executable bit)."""
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (mode & 0o777 | 0o100000) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def repack(dist: importlib.metadata.Distribution, dest: Path) -> Path:
    """Write `dist` (an installed distribution) as a wheel into `dest`; return its path."""
    name = dist.metadata["Name"]
    files = dist.files
    if files is None:
        raise WheelhouseError(f"{name} has no RECORD: it was not installed from a wheel")
    records = [f for f in files if f.parts[-1] == "RECORD" and f.parts[0].endswith(".dist-info")]
    if len(records) != 1:
        raise WheelhouseError(f"{name}: cannot tell its .dist-info folder from its RECORD")
    dist_info = records[0].parts[0]
    wheel_metadata = dist.read_text("WHEEL")
    if wheel_metadata is None:
        raise WheelhouseError(f"{name} has no WHEEL file: it was not installed from a wheel")

    members: list[tuple[str, bytes, int]] = []
    for file in files:
        path = file.as_posix()
        if path.startswith("..") or path.endswith(".pyc") or "__pycache__" in file.parts:
            continue
        if len(file.parts) == 2 and file.parts[0] == dist_info and file.name in _INSTALLER_FILES:
            continue
        source = Path(file.locate())
        members.append((path, source.read_bytes(), source.stat().st_mode))
    # The spec asks for .dist-info last, RECORD at the very end.
    members.sort(key=lambda m: (m[0].startswith(dist_info + "/"), m[0]))

    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data, _ in members:
        writer.writerow((path, _record_hash(data), len(data)))
    writer.writerow((f"{dist_info}/RECORD", "", ""))

    version = str(Version(dist.version)).replace("-", "_")
    target = dest / f"{wheel_name(name)}-{version}-{_wheel_tag(wheel_metadata)}.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as whl:
        for path, data, mode in members:
            whl.writestr(_member(path, mode), data)
        whl.writestr(_member(f"{dist_info}/RECORD", 0o644), record.getvalue())
    return target


def build_wheelhouse(requirements: Iterable[str], dest: Path) -> list[Path]:
    """Repack every installed distribution that `requirements` need into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    return [repack(dist, dest) for dist in requirement_closure(requirements)]
