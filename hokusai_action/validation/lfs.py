"""Git LFS pointers where model files should be (rule `model-lfs-pointer`).

`actions/checkout` skips LFS files unless told `lfs: true`, so a repository that keeps its
models in LFS gets a 130-byte text file in place of each: registering it would register the
pointer, and hash it as if it were the model.
"""

from __future__ import annotations

import itertools
import stat
from pathlib import Path

from hokusai_action.inert import shown

LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
LFS_POINTER_MAX = 1024  # a pointer is about 130 bytes; larger files are never read
LFS_FILES_LOOKED_AT = 10_000  # a model directory with more files is checked this far


def lfs_pointers(target: Path) -> list[Path]:
    """The model's files that are Git LFS pointers (a checkout without LFS leaves the pointer
    where the model should be). Cheap: only files under 1 KiB are opened, for their first
    bytes; FIFOs and devices (refused elsewhere) are never opened."""
    found = []
    files = (
        [target] if target.is_file() else itertools.islice(target.rglob("*"), LFS_FILES_LOOKED_AT)
    )
    for file in files:
        try:
            info = file.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size >= LFS_POINTER_MAX:
                continue
            with file.open("rb") as f:
                if f.read(len(LFS_POINTER)) == LFS_POINTER:
                    found.append(file)
        except OSError:
            continue
    return found


def lfs_message(value: str, target: Path, pointers: list[Path]) -> str:
    first = pointers[0]
    where = first.relative_to(target).as_posix() if first != target else None
    what = (
        f"model path `{shown(value)}` is a Git LFS pointer, not the model"
        if where is None
        else f"{len(pointers)} file(s) of the model at `{shown(value)}` are Git LFS pointers, "
        f"not the model's files (e.g. `{shown(where)}`)"
    )
    return (
        f"{what}: the checkout did not fetch the LFS files. Run `git lfs pull`; in GitHub "
        "Actions, check out with `actions/checkout` and `lfs: true`"
    )
