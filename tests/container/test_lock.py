"""requirements/*.lock: what the image installs, every package pinned with its hashes,
within pyproject.toml's bounds; and the tests run the same versions (.ci/run)."""

from __future__ import annotations

import os
import re
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT

REQUIREMENTS = PROJECT / "requirements"
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def entries(lock: str) -> dict[str, list[str]]:
    """Each pinned requirement line of `lock`, with the lines of its hashes."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (REQUIREMENTS / lock).read_text(encoding="utf-8").splitlines():
        if _PIN.match(line):
            current = found.setdefault(line.rstrip(" \\"), [])
        elif line.strip().startswith("--hash="):
            current.append(line.strip())
    return found


def locked(lock: str) -> dict[str, str]:
    """The lock's pins: canonical name -> version."""
    pins = (_PIN.match(line) for line in entries(lock))
    return {canonicalize_name(m[1]): m[2] for m in pins if m}


def action_requirements() -> list[Requirement]:
    """The `action` extra's direct requirements, its self-references expanded."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    found = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    pending, seen = ["action"], set()
    while pending:
        extra = pending.pop()
        seen.add(extra)
        for requirement in map(Requirement, extras[extra]):
            if canonicalize_name(requirement.name) == "hokusai-action":
                pending += [e for e in requirement.extras if e not in seen]
            else:
                found.append(requirement)
    return found


@pytest.mark.parametrize("lock", ["action.lock", "build.lock"])
def test_every_pin_carries_its_hashes(lock):
    pins = entries(lock)
    assert pins
    for line, hashes in pins.items():
        assert hashes, f"{line}: no --hash (the Dockerfile installs with --require-hashes)"
        assert all(h.startswith("--hash=sha256:") for h in hashes), line


def test_the_action_lock_pins_the_action_extra_within_pyprojects_bounds():
    pins = locked("action.lock")
    for requirement in action_requirements():
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements/action.lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements/action.lock pins {requirement.name}=={version} outside "
            f"pyproject.toml's {requirement}: regenerate it (the command is in its header)"
        )


def test_the_build_lock_pins_pyprojects_build_backend():
    wanted = PYPROJECT["build-system"]["requires"]
    given = (REQUIREMENTS / "build.in").read_text(encoding="utf-8").split()
    assert given == wanted
    pins = locked("build.lock")
    for requirement in map(Requirement, wanted):
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)])


def test_the_tests_run_the_versions_the_image_runs():
    """.ci/run installs the tests' venv with the lock as constraints; a venv installed
    without them may run newer versions than the image (in CI that is a failure)."""
    differ = []
    for name, version in locked("action.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            differ.append(f"{name}: not installed, the image has {version}")
            continue
        if installed != version:
            differ.append(f"{name}: {installed} here, {version} in the image")
    if differ and not os.environ.get("CI"):
        pytest.skip(
            "this venv differs from the image's requirements/action.lock ("
            + "; ".join(differ[:3])
            + "): install it as .ci/run does to test what the image runs"
        )
    assert differ == []
