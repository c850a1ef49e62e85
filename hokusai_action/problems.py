"""Problems are values: every check yields them, the run goes on, reporters print them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hokusai_action.inert import MAX_MESSAGE, inert_text, shown

JsonPath = tuple[str | int, ...]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Problems that mean "could not read the input at all" rather than "the manifest is wrong":
# they turn the exit code into 2, like a usage error.
IO_RULES = frozenset({"io-error"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, located as precisely as we can: 1-based line and column."""

    file: str
    line: int
    column: int
    severity: Severity
    rule: str
    message: str
    path: JsonPath = ()

    def __post_init__(self) -> None:
        # The backstop behind each message's own `shown()` values: whatever a message quotes,
        # it stays one line with no control character, in every output format.
        object.__setattr__(self, "message", inert_text(self.message, MAX_MESSAGE))

    @property
    def json_path(self) -> str:
        return format_json_path(self.path)


@dataclass(slots=True)
class FileResult:
    file: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what registering will do, not a problem

    def errors(self, *, strict: bool = False) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR or strict]

    def is_valid(self, *, strict: bool = False) -> bool:
        return not self.errors(strict=strict)


@dataclass(slots=True)
class Result:
    files: list[FileResult] = field(default_factory=list)
    strict: bool = False

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    def count(self, severity: Severity) -> int:
        return sum(1 for p in self.problems if p.severity is severity)

    @property
    def valid(self) -> bool:
        return all(f.is_valid(strict=self.strict) for f in self.files)

    @property
    def exit_code(self) -> int:
        """0 valid, 1 invalid manifests, 2 input that could not be read."""
        if any(p.rule in IO_RULES for p in self.problems):
            return 2
        return 0 if self.valid else 1


def format_json_path(path: Sequence[str | int]) -> str:
    """`$.model.token_id`, `$.tags['use case']`, `$.items[0]`: what jq and JSONPath users read.
    Keys are user text: escaped (`\\n`, `\\u202e`) and cut like every echoed value."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{shown(escaped)}']")
    return "".join(out)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.column, p.rule, p.message))
