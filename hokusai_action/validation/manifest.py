"""Read a `hokusai.yaml` into plain data plus a map from JSON path to line and column.

PyYAML's loaders lose positions, keep the last of duplicate keys and expand aliases without
limit. We compose the node graph ourselves (libyaml when present) and build the data from
nodes, so every later check can point at the exact key or value, and hostile input ends in
a problem value instead of a traceback or a hang.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hokusai_action.inert import shown
from hokusai_action.problems import JsonPath, Problem, Severity

MANIFEST_NAMES = ("hokusai.yaml", "hokusai.yml")
MAX_FILE_BYTES = 1024 * 1024  # a manifest is a few hundred bytes; a megabyte is a mistake
MAX_NODES = 10_000  # after alias expansion: stops "billion laughs" documents early
MAX_DEPTH = 64

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
# The safe scalar tags' constructors, called directly: `construct_object` adds bookkeeping for
# collections and aliases that a scalar does not need, and remembers every node it built.
_SCALAR_CONSTRUCTORS = {
    f"tag:yaml.org,2002:{name}": yaml.constructor.SafeConstructor.yaml_constructors[
        f"tag:yaml.org,2002:{name}"
    ]
    for name in ("str", "int", "float", "bool", "null", "timestamp")
}
_TYPE_NAMES = {
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "date",
}


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(slots=True)
class Positions:
    """Where each key and value of the document starts."""

    keys: dict[JsonPath, Position] = field(default_factory=dict)
    values: dict[JsonPath, Position] = field(default_factory=dict)
    scalar_text: dict[JsonPath, str] = field(default_factory=dict)

    def value(self, path: JsonPath) -> Position:
        """The value at `path`, or the nearest enclosing value that exists (a missing key)."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Position(1, 1))

    def key(self, path: JsonPath) -> Position:
        return self.keys.get(path) or self.value(path)

    def source(self, path: JsonPath) -> str | None:
        """The scalar as written, before YAML typed it (`yes`, `1.0`, `2024-01-01`)."""
        return self.scalar_text.get(path)


@dataclass(slots=True)
class Manifest:
    file: str  # as shown to the user
    path: Path
    data: dict[str, Any]
    positions: Positions

    @property
    def directory(self) -> Path:
        return self.path.parent

    def get(self, *path: str | int) -> Any:
        """The value at `path`, or None where any step is missing or of the wrong type."""
        node: Any = self.data
        for part in path:
            if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
            elif isinstance(part, str) and isinstance(node, dict):
                node = node.get(part)
            else:
                return None
        return node


class _Stop(Exception):
    """Ends the walk of a document that cannot be turned into data."""

    def __init__(self, rule: str, message: str, position: Position) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.position = position


def load_manifest(path: Path, display: str) -> tuple[Manifest | None, list[Problem]]:
    """Parse one manifest. Returns the manifest (or None when unusable) and its problems."""

    def problem(rule: str, message: str, at: Position = Position(1, 1)) -> Problem:
        return Problem(display, at.line, at.column, Severity.ERROR, rule, message)

    try:
        info = path.stat()
        special = (stat.S_ISFIFO, stat.S_ISSOCK, stat.S_ISCHR, stat.S_ISBLK)
        if any(kind(info.st_mode) for kind in special):  # a FIFO would block the read for good
            return None, [
                problem(
                    "path-special",
                    "not a regular file (a FIFO, socket or device): a manifest must be a file; "
                    "remove it, or rename it if it is not a manifest",
                )
            ]
        size = info.st_size
        if size > MAX_FILE_BYTES:
            return None, [
                problem(
                    "yaml-too-large",
                    f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for a "
                    "manifest; keep data (metrics, datasets) in separate files and point at "
                    "them with `value_from`",
                )
            ]
        raw = path.read_bytes()
    except OSError as e:
        return None, [problem("io-error", f"cannot read file: {e.strerror or e}")]

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return None, [
            problem(
                "yaml-encoding",
                f"not valid UTF-8 (byte 0x{raw[e.start]:02x}); save the file as UTF-8",
                _position_of_offset(raw, e.start),
            )
        ]

    bom = _LINE_START_BOM.search(text)
    if bom:
        at = _position_in_text(text, bom.start())
        where = "the file starts with a second" if bom.start() == 0 else "a"
        return None, [
            problem(
                "yaml-bom",
                f"{where} byte-order mark (U+FEFF) at the start of line {at.line}: YAML allows "
                "one, at the very start of the file; this parser skips others, while "
                "check-jsonschema and editors read them as part of the next key or value; "
                "remove it",
                at,
            )
        ]

    directive = _YAML_DIRECTIVE.search(text)
    if directive and directive.group(1) != "1.2":
        version = directive.group(1)
        why = (
            "makes YAML 1.2 tools (check-jsonschema, editors) read values by YAML 1.1 rules "
            "unlike this parser's (`y` and `n` become true and false), and check-jsonschema "
            "keeps those rules for the files it reads after this one"
            if version == "1.1"
            else "YAML tools read versions 1.1 and 1.2 only"
        )
        return None, [
            problem(
                "yaml-version",
                f"`%YAML {version}` {why}; remove the `%YAML` line",
                _position_in_text(text, directive.start()),
            )
        ]

    odd_break = _YAML_ONLY_BREAK.search(text)
    if odd_break:
        return None, [
            problem(
                "yaml-line-break",
                f"character U+{ord(odd_break.group()):04X} counts as a line break to YAML but "
                "not to editors, so it would change the value and every later line number; "
                "replace it with a space",
                _position_in_text(text, odd_break.start()),
            )
        ]

    try:
        documents = list(_compose_all(text))
    except yaml.MarkedYAMLError as e:
        return None, [_yaml_error_problem(display, text, e)]
    except yaml.reader.ReaderError as e:  # a control character: located by its offset
        return None, [
            problem(
                "yaml-syntax",
                f"character U+{e.character:04X} is not allowed in YAML; remove it",
                _position_in_text(text, e.position),
            )
        ]
    except yaml.YAMLError as e:
        return None, [problem("yaml-syntax", _yaml_error_text(e))]

    if not documents or _is_empty(documents[0]):
        return None, [
            problem(
                "yaml-empty",
                "file is empty; a manifest needs at least `version`, `model` and `benchmark` "
                "(see examples/)",
            )
        ]
    if "\t" in text and (tab := _stray_tab(text, documents)) is not None:
        offset, count = tab
        more = f" (and {count - 1} more)" if count > 1 else ""
        return None, [
            problem(
                "yaml-tab",
                f"tab character outside a quoted value or a comment{more}: PyYAML reads it as "
                "a space, but YAML 1.2 tools (check-jsonschema, ruamel.yaml) refuse the file; "
                "use spaces, or quote a value that must hold a tab",
                _position_in_text(text, offset),
            )
        ]
    if len(documents) > 1:
        return None, [
            problem(
                "yaml-multiple-documents",
                "file holds more than one YAML document; keep one manifest per file (one "
                "`hokusai.yaml` per model directory)",
                Position.of(documents[1].start_mark),
            )
        ]
    ends = _DOCUMENT_END.finditer(text)
    if (first_end := next(ends, None)) and (second_end := next(ends, None)):
        return None, [
            problem(
                "yaml-syntax",
                f"a second document end marker `...` (the first is at line "
                f"{_position_in_text(text, first_end.start()).line}): YAML 1.2 tools "
                "(check-jsonschema) refuse the file; remove it",
                _position_in_text(text, second_end.start()),
            )
        ]
    root = documents[0]
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        return None, [
            problem(
                "yaml-not-mapping",
                f"expected a mapping of keys (`version:`, `model:`, ...) at the top level, "
                f"found {kind}",
                Position.of(root.start_mark),
            )
        ]

    builder = _Builder(display)
    try:
        data = builder.build(root, ())
    except _Stop as stop:
        return None, [*builder.problems, problem(stop.rule, stop.message, stop.position)]
    return Manifest(display, path, data, builder.positions), builder.problems


_YAML_ONLY_BREAK = re.compile("[\u0085\u2028\u2029]")
# libyaml skips U+FEFF at the start of any line; YAML 1.2 parsers keep it as text.
_LINE_START_BOM = re.compile("(?:^|(?<=[\r\n]))\ufeff")
_YAML_DIRECTIVE = re.compile(r"(?m)^%YAML[ \t]+(\S*)")
_DOCUMENT_END = re.compile(r"(?:^|(?<=[\r\n]))\.\.\.(?=[ \t\r\n]|$)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_COMMENT_START = re.compile(r"(?:^|(?<=[ \t\r\n]))#")
_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_YAML12_OCTAL = re.compile(r"[-+]?0o[0-7]+")
_BOOL_WORDS = frozenset({"true", "false"})


def _yaml_versions_differ(tag: str, text: str) -> str | None:
    """Why a plain scalar reads differently in YAML 1.1 (PyYAML, this tool) and YAML 1.2
    (editors' language servers, check-jsonschema), or None when both agree."""
    shown_text = shown(text)
    if tag == "tag:yaml.org,2002:bool" and text.lower() not in _BOOL_WORDS:
        return (
            f"`{shown_text}` is true/false to YAML 1.1 but text to YAML 1.2 tools; quote it for "
            f'text: `"{shown_text}"` (or write `true`/`false` where a boolean is meant)'
        )
    if tag == "tag:yaml.org,2002:timestamp":
        return (
            f"`{shown_text}` is a date to YAML 1.1 but text to YAML 1.2 tools; quote it: "
            f'`"{shown_text}"`'
        )
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and (
        ":" in text or "_" in text or re.fullmatch(r"[-+]?0[0-7]+|[-+]?0b[01_]+", text)
    ):
        return (
            f"`{shown_text}` is read as a number only by YAML 1.1 (and as another number or "
            "as text by YAML 1.2 tools); write it as a plain decimal number, or quote it"
        )
    if tag == "tag:yaml.org,2002:str" and _YAML12_FLOAT.fullmatch(text):
        return (
            f"`{shown_text}` is text to YAML 1.1 but a number to YAML 1.2 tools; write it "
            "with a decimal point and digits on both sides, e.g. `1.0e-3`"
        )
    if tag == "tag:yaml.org,2002:str" and _YAML12_OCTAL.fullmatch(text):
        return (
            f"`{text}` is text to YAML 1.1 but an octal number to YAML 1.2 tools; quote it "
            f'for text (`"{text}"`), or write the number in decimal'
        )
    return None


def _stray_tab(text: str, documents: list[yaml.Node | None]) -> tuple[int, int] | None:
    """The offset of the first tab that is not inside a quoted or block scalar or a comment,
    and how many lines hold one; None when there is none.

    PyYAML takes such a tab as white space (after `:`, at the end of a line, inside an
    unquoted value); ruamel.yaml, which check-jsonschema uses, refuses the whole file.
    """
    starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]

    def offset(mark: yaml.Mark) -> int:
        return starts[min(mark.line, len(starts) - 1)] + mark.column

    allowed: list[tuple[int, int]] = []  # quoted and block scalars, flow collections
    plain: list[tuple[int, int]] = []  # unquoted scalars: a tab there is refused
    seen: set[int] = set()
    stack = [d for d in documents if d is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if not node.style:
                plain.append((offset(node.start_mark), offset(node.end_mark)))
            elif node.style in ("'", '"'):
                allowed.append((offset(node.start_mark), offset(node.end_mark)))
            elif node.style in ("|", ">") and node.start_mark.line + 1 < len(starts):
                allowed.append((starts[node.start_mark.line + 1], offset(node.end_mark)))
        else:
            if node.flow_style:  # inside `[...]` and `{...}` both take a tab as a space
                allowed.append((offset(node.start_mark), offset(node.end_mark)))
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            else:
                stack.extend(part for pair in node.value for part in pair)
    allowed, plain = _merged(allowed), _merged(plain)

    def in_allowed(at: int) -> bool:
        return _covers(allowed, at) and not _covers(plain, at)

    comments: dict[int, int] = {}  # line -> offset of its comment, or past its end

    def comment_start(line: int) -> int:
        if line not in comments:
            end = starts[line + 1] if line + 1 < len(starts) else len(text)
            comments[line] = next(
                (
                    m.start()
                    for m in _COMMENT_START.finditer(text, starts[line], end)
                    if not in_allowed(m.start())
                ),
                end,
            )
        return comments[line]

    first, lines = None, set()
    for m in re.finditer("\t", text):
        at = m.start()
        line = bisect.bisect_right(starts, at) - 1
        if in_allowed(at) or at > comment_start(line):
            continue
        first = at if first is None else first
        lines.add(line)
    return None if first is None else (first, len(lines))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint spans covering the same offsets."""
    result: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(end, result[-1][1]))
        else:
            result.append((start, end))
    return result


def _covers(spans: list[tuple[int, int]], at: int) -> bool:
    i = bisect.bisect_right(spans, (at, math.inf)) - 1
    return i >= 0 and at < spans[i][1]


def _is_empty(node: yaml.Node | None) -> bool:
    """No document at all, or a bare `---` with nothing after it."""
    return node is None or (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and not node.value
    )


def _compose_all(text: str) -> Iterator[yaml.Node | None]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


class _Builder:
    """Turns a composed node graph into dicts, lists and scalars, recording positions."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.positions = Positions()
        self.problems: list[Problem] = []
        self._nodes = 0
        self._active: set[int] = set()
        self._built: set[int] = set()

    def _error(self, at: Position, rule: str, message: str, path: JsonPath) -> None:
        """An error that does not stop loading (the rest of the file is still checked)."""
        self.problems.append(
            Problem(self.display, at.line, at.column, Severity.ERROR, rule, message, path)
        )

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Stop(
                "yaml-too-complex",
                f"document expands to more than {MAX_NODES:,} values (aliases included); "
                "a manifest this large is almost certainly an alias bomb",
                Position.of(node.start_mark),
            )
        if len(path) > MAX_DEPTH:
            raise _Stop(
                "yaml-too-complex",
                f"nesting deeper than {MAX_DEPTH} levels",
                Position.of(node.start_mark),
            )
        if id(node) in self._active:
            raise _Stop(
                "yaml-recursive-alias",
                "an alias refers to a value that contains it; remove the recursive `*alias`",
                Position.of(node.start_mark),
            )
        at = Position.of(node.start_mark)
        self.positions.values.setdefault(path, at)
        self._built.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path, at)
        if node.tag not in _COLLECTION_TAGS:
            raise _Stop(
                "yaml-unsupported-tag",
                f"cannot read a value tagged `{shown(node.tag)}`; remove the tag",
                Position.of(node.start_mark),
            )
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: JsonPath, at: Position) -> Any:
        self.positions.scalar_text[path] = node.value
        try:
            construct = _SCALAR_CONSTRUCTORS.get(node.tag)
            if construct is not None:
                value = construct(_constructor, node)
            else:
                value = _constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise _Stop(
                "yaml-unsupported-tag",
                f"cannot read value tagged `{shown(node.tag)}`: {e.problem}; remove the tag",
                at,
            ) from e
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as e:
            # An explicit tag on a value that does not fit it (`!!bool foo`, `!!float x`), or
            # more digits than Python reads into an int.
            if node.tag == "tag:yaml.org,2002:int" and node.value.lstrip("+-").isdigit():
                raise _Stop(
                    "yaml-syntax", f"number `{shown(node.value, 20)}` is too long", at
                ) from e
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _Stop(
                "yaml-unsupported-tag",
                f"`{shown(node.value)}` cannot be read as `{shown(tag)}`; remove the tag (and "
                "quote the value if it is text)",
                at,
            ) from e
        if not node.style and (why := _yaml_versions_differ(node.tag, node.value)):  # plain
            self._error(at, "yaml-ambiguous", why, path)
        return value

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Position] = {}
        own_pairs = []
        merge_at: Position | None = None
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                at = Position.of(key_node.start_mark)
                if merge_at is not None:  # PyYAML merges both; YAML 1.2 tools refuse the file
                    raise _Stop(
                        "yaml-duplicate-key",
                        f"duplicate merge key `<<` (first at line {merge_at.line}); merge "
                        "several mappings with one key: `<<: [*first, *second]`",
                        at,
                    )
                merge_at = at
                self._merge(result, value_node, path)
            else:
                own_pairs.append((key_node, value_node))
        for key_node, value_node in own_pairs:
            at = Position.of(key_node.start_mark)
            key = self._key(key_node, path, at)
            if key in seen:
                self._error(
                    at,
                    "yaml-duplicate-key",
                    f"duplicate key `{shown(key)}` (first at line {seen[key].line}); YAML "
                    "would silently keep only this last value: remove one of them",
                    (*path, key),
                )
            seen[key] = at
            child = (*path, key)
            self.positions.keys[child] = at
            self.positions.values.pop(child, None)  # a merged value is overridden
            result[key] = self.build(value_node, child)
        return result

    def _merge(self, result: dict[str, Any], value_node: yaml.Node, path: JsonPath) -> None:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            reported = len(self.problems)
            seen_before = id(source) in self._built
            merged = self.build(source, path)
            if seen_before:  # its problems were reported where the anchor stands
                del self.problems[reported:]
            if not isinstance(merged, dict):
                raise _Stop(
                    "yaml-syntax",
                    "`<<` merges only mappings",
                    Position.of(source.start_mark),
                )
            for key, value in merged.items():
                result.setdefault(key, value)

    def _key(self, node: yaml.Node, path: JsonPath, at: Position) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise _Stop("yaml-key-type", "mapping keys must be plain text, not lists or maps", at)
        text: str = node.value
        if node.tag != "tag:yaml.org,2002:str":
            kind = _TYPE_NAMES.get(node.tag, node.tag)
            self._error(
                at,
                "yaml-key-type",
                f"key `{shown(text)}` is read by YAML as a {kind}, not text; quote it: "
                f'`"{shown(text)}":`',
                (*path, text),
            )
        elif not node.style and _yaml_versions_differ(node.tag, text):
            self._error(
                at,
                "yaml-ambiguous",
                f"key `{text}` is text to YAML 1.1 but a number to YAML 1.2 tools; "
                f'quote it: `"{text}":`',
                (*path, text),
            )
        return text


def _position_of_offset(raw: bytes, offset: int) -> Position:
    """Line and column (in characters, as editors count) of a byte offset."""
    before = raw[:offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return Position(before.count(b"\n") + 1, column)


def _position_in_text(text: str, offset: int) -> Position:
    """Line and column of a character offset, counting line breaks as YAML does."""
    breaks = list(_LINE_BREAK.finditer(text, 0, offset))
    line_start = breaks[-1].end() if breaks else 0
    return Position(len(breaks) + 1, offset - line_start + 1)


def _yaml_error_text(e: yaml.YAMLError) -> str:
    problem = getattr(e, "problem", None)
    context = getattr(e, "context", None)
    if not problem:
        return str(e).splitlines()[0]
    if not context:
        return str(problem)
    context_mark = getattr(e, "context_mark", None)
    started = f" started at line {context_mark.line + 1}" if context_mark else ""
    return f"{problem} ({context}{started})"


def _yaml_error_problem(display: str, text: str, e: yaml.MarkedYAMLError) -> Problem:
    mark = e.problem_mark or e.context_mark
    at = Position.of(mark) if mark else Position(1, 1)
    lines = text.splitlines()
    line_text = lines[at.line - 1] if 0 < at.line <= len(lines) else ""
    if "\t" in line_text[: max(at.column, 1)] or "\t" in (e.problem or ""):
        column = line_text.find("\t") + 1 if "\t" in line_text else at.column
        return Problem(
            display,
            at.line,
            column,
            Severity.ERROR,
            "yaml-tab",
            "tab character where YAML expects spaces; indent with spaces only",
        )
    from hokusai_action.validation import yaml_errors  # only once a file failed to parse

    found = yaml_errors.explain(text, e)
    if found is not None:
        return Problem(
            display, found.line, found.column, Severity.ERROR, "yaml-syntax", found.message
        )
    message = yaml_errors.fallback(_yaml_error_text(e))
    return Problem(display, at.line, at.column, Severity.ERROR, "yaml-syntax", message)


def yaml_type_name(value: Any) -> str:
    """How a YAML reader should name the type YAML gave a value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "date" if hasattr(value, "isoformat") else type(value).__name__


def is_finite_number(value: Any) -> bool:
    """A real number MLflow can store: not a boolean, not NaN or infinite, within a float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float's range
        return False


def find_manifests(root: Path) -> Iterator[Path]:
    """Manifests below `root`, skipping hidden and virtual-environment directories."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(
            d for d in subdirs if not d.startswith(".") and d not in {"node_modules", "__pycache__"}
        )
        for name in MANIFEST_NAMES:
            if name in files:
                yield Path(directory) / name


class ValueFromError(Exception):
    """`value_from` cannot be read: the message says why, for the user."""


def read_value_from(file: Path, key: str) -> Any:
    """The value at `key` in a JSON or YAML metrics file (what `value_from` points at): the key
    as written if the file has it, else its dots descend into nested mappings."""
    try:
        if not file.is_file():
            raise ValueFromError(f"`{shown(file.name)}` is not a regular file")
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ValueFromError(f"`{shown(file.name)}` is over {MAX_FILE_BYTES:,} bytes")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else shown(e)
        raise ValueFromError(f"cannot read `{shown(file.name)}`: {why}") from e
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.load(text, Loader=_Loader)
    except ValueError as e:
        raise ValueFromError(f"`{shown(file.name)}` is not valid JSON: {shown(e)}") from e
    except yaml.YAMLError as e:
        why = shown(_yaml_error_text(e))
        raise ValueFromError(f"`{shown(file.name)}` is not valid YAML: {why}") from e
    if isinstance(data, dict) and key in data:
        return data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            keys = list(node)[:10] if isinstance(node, dict) else []
            found = ", ".join(f"`{shown(k)}`" for k in keys) or "none"
            raise ValueFromError(
                f"`{shown(file.name)}` has no key `{shown(key)}` (keys there: {found})"
            )
        node = node[part]
    return node
