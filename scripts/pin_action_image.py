"""Point action.yml at a prebuilt image, pinned by digest (the release workflow runs this).

On `main`, action.yml builds the Dockerfile (`image: Dockerfile`), which is what development
needs. A released action should not rebuild Python and MLflow's client in every job, so the
release commit runs `docker://IMAGE@sha256:DIGEST` instead: pulled, never rebuilt, and
immutable, since a digest names exactly one image.

    python3 scripts/pin_action_image.py ghcr.io/OWNER/REPO@sha256:DIGEST [--action action.yml]
    python3 scripts/pin_action_image.py --check-version vX.Y.Z   # the tag is the package's version

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\.[a-z0-9-]+)*(?::[0-9]+)?(?:/[a-z0-9._-]+)+")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
IMAGE_LINE = re.compile(r"^(?P<indent>  )image: (?P<value>\S.*)$", re.M)


def pin(action_yml: str, reference: str) -> str:
    """action.yml with `runs.image` set to `docker://REFERENCE`; the rest untouched."""
    name, _, digest = reference.partition("@")
    if not IMAGE.fullmatch(name) or not DIGEST.fullmatch(digest):
        raise ValueError(
            f"{reference!r} is not IMAGE@sha256:DIGEST (lowercase image name, 64 hex digits)"
        )
    found = IMAGE_LINE.findall(action_yml)
    if len(found) != 1:
        raise ValueError(f"action.yml must have exactly one `image:` line, found {len(found)}")
    if "using: docker" not in action_yml:
        raise ValueError("action.yml is not a container action (`runs.using: docker`)")
    return IMAGE_LINE.sub(lambda m: f"{m['indent']}image: docker://{reference}", action_yml)


def version() -> str:
    text = (ROOT / "hokusai_action" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if match is None:
        raise ValueError("no __version__ in hokusai_action/__init__.py")
    return match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", nargs="?", help="IMAGE@sha256:DIGEST")
    parser.add_argument("--action", type=Path, default=ROOT / "action.yml")
    parser.add_argument("--check-version", metavar="TAG", help="fail unless TAG is v<version>")
    args = parser.parse_args(argv)
    try:
        if args.check_version is not None:
            if args.check_version != f"v{version()}":
                raise ValueError(
                    f"tag {args.check_version} does not match hokusai_action.__version__ "
                    f"{version()}: tag v{version()}, or bump the version first"
                )
            return 0
        if args.reference is None:
            parser.error("give IMAGE@sha256:DIGEST or --check-version TAG")
        text = args.action.read_text(encoding="utf-8")
        args.action.write_text(pin(text, args.reference), encoding="utf-8")
    except (OSError, ValueError) as e:
        print(f"pin_action_image: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
