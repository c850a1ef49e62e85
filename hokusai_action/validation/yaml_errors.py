"""Our own messages for YAML syntax errors: the line the user has to edit, and the fix.

PyYAML reports where its parser gave up, which is often a line or a whole file after the
mistake (a missing `:` is reported at the next key's colon, an unclosed quote at the end of
the file), in parser words ("mapping values are not allowed in this context"). Here the
error's marks and the text around them are read back to name the usual mistakes: a missing
`:`, a key indented too far or not far enough, an unclosed quote or bracket, a list item where
keys are expected (and the reverse), a stray character after a value, a value that needs
quoting. Imported only once a YAML error has happened, so the hook's start stays light.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from hokusai_action.inert import shown

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_KEY_COLON = re.compile(r":(?=[ \t]|$)|[ \t]#")
_NOT_KEY_START = frozenset("'\"[]{},&*!|>%@`#")
_OPENERS = {"{": "}", "[": "]"}
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class _Key:
    name: str  # as written, without the colon
    end: int  # just past the colon


def _key_at(text: str, at: int) -> _Key | None:
    """The plain key starting at `at` (`name:` followed by a space or the line's end), found
    without a backtracking pattern: these lines come from hostile files."""
    first = text[at : at + 2]
    if not first or first[0].isspace() or first[0] in _NOT_KEY_START:
        return None
    if first[0] == "-" and (len(first) < 2 or first[1].isspace()):
        return None
    colon = _KEY_COLON.search(text, at)
    if colon is None or colon.group() != ":":
        return None
    name = text[at : colon.start()].rstrip()
    return _Key(name, colon.end()) if name else None


@dataclass(frozen=True, slots=True)
class Explained:
    line: int  # 1-based
    column: int  # 1-based
    message: str


def explain(text: str, e: yaml.MarkedYAMLError) -> Explained | None:
    """Our reading of a syntax error, or None when it is none of the mistakes we know."""
    if e.problem_mark is None:
        return None
    lines = _LINE_BREAK.split(text)
    problem = e.problem or ""
    context = e.context or ""
    at = (e.problem_mark.line, e.problem_mark.column)  # 0-based
    opened = (e.context_mark.line, e.context_mark.column) if e.context_mark else None
    if "mapping values are not allowed" in problem:
        return _colon_in_plain_value(lines, *at)
    if "could not find expected ':'" in problem and opened:
        return _missing_colon(lines, opened[0])
    if "quoted scalar" in context and opened:
        return _quoted(lines, problem, at, opened)
    if "flow mapping" in context or "flow sequence" in context:
        return _flow(lines, at, opened)
    if "block mapping" in context:
        return _in_block_mapping(lines, at, opened)
    if "block collection" in context and opened:
        return _key_in_list(lines, at, opened)
    if "cannot start any token" in problem:
        return _cannot_start(lines, at)
    if "node content" in problem and _line(lines, at[0])[at[1] : at[1] + 1] in ("]", "}"):
        char = _line(lines, at[0])[at[1]]
        return Explained(
            at[0] + 1, at[1] + 1, f"a stray `{char}` that closes no bracket; remove it"
        )
    if "block scalar" in context and opened:
        return _block_scalar_indicator(lines, opened)
    if ("an anchor" in context or "an alias" in context) and opened:
        return _cannot_start(lines, opened, "marks a YAML anchor or alias")
    if "document start" in problem:
        return _indented_first_key(lines, at[0])
    if "undefined alias" in problem:
        name = _word_at(_line(lines, at[0]), at[1] + 1)
        return Explained(
            at[0] + 1,
            at[1] + 1,
            f"`*{name}` refers to an anchor `&{name}` that is not defined above it; define the "
            f'anchor before this line, or quote the value if `*` is text: `"*{name}"`',
        )
    return None


def fallback(problem: str) -> str:
    """The message for an error none of the rules above recognises: PyYAML's words, with the
    usual causes to look for."""
    return (
        f"YAML cannot read the file here ({problem}); look on this line and the one above for "
        "a missing `:` after a key, a key indented differently from its neighbours, an "
        "unclosed quote or bracket, or a value that needs quoting"
    )


# -- a colon where YAML does not expect one ------------------------------------------------


def _colon_in_plain_value(lines: list[str], row: int, col: int) -> Explained | None:
    """`mapping values are not allowed`: a `: ` inside an unquoted value, which is either a
    value holding `: `, the key after a key with no `:`, or a key indented too far."""
    text = _line(lines, row)
    indent = _indent(text)
    before = text[indent:col]
    key = _key_at(text, indent)
    if key and key.end <= col and before.strip() != key.name:
        value_at = _skip_spaces(text, key.end)
        value = text[value_at:].strip()
        return Explained(
            row + 1,
            value_at + 1,
            f"the value of `{_name(key)}` holds `: `, which YAML reads as the start of another "
            f'key; quote the whole value: `{_name(key)}: "{_escaped(value)}"`',
        )
    # The text before this colon is the last line of an unquoted value that began above.
    start = row
    while True:
        above = _previous_content(lines, start)
        if above is None:
            break
        above_text = lines[above]
        if _indent(above_text) < indent or _key_at(above_text, _indent(above_text)):
            break
        start = above
    if start != row:  # a line above with no `:` began the value: the missing colon is there
        return _missing_colon(lines, start)
    above = _previous_content(lines, row)
    if above is not None and _indent(lines[above]) < indent:
        owner = _key_at(lines[above], _indent(lines[above]))
        if owner:
            return _over_indented(lines, row, above, owner)
    return None


def _missing_colon(lines: list[str], row: int) -> Explained | None:
    """A line meant as `key: value` that YAML cannot split: no `:`, or no space after it."""
    text = _line(lines, row)
    indent = _indent(text)
    content = _strip_comment(text[indent:]).rstrip()
    if content.startswith("- "):
        indent += 2
        content = content[2:].lstrip()
    if content[:1] in _OPENERS:
        return _never_closed(lines, (row, indent))
    if not content or content[0] in "'\"":
        return None
    glued = re.match(r"([^\s:]+):(\S.*)", content)
    if glued:
        key, value = glued.groups()
        return Explained(
            row + 1,
            indent + len(key) + 2,
            f"missing space after `:` in `{shown(content)}`, so YAML reads it as one piece of "
            f"text, not a key and its value; write `{shown(key)}: {shown(value)}`",
        )
    key, _, value = content.partition(" ")
    fix = f"{key}: {value.strip()}" if value.strip() else f"{key}:"
    return Explained(
        row + 1,
        indent + len(key) + 1,
        f"missing `:` after `{shown(key)}`; write `{shown(fix)}`",
    )


def _over_indented(lines: list[str], row: int, above: int, owner: _Key) -> Explained:
    text = _line(lines, row)
    indent, owner_indent = _indent(text), _indent(lines[above])
    key = _key_at(text, indent)
    name = f"`{_name(key)}`" if key else "this line"
    return Explained(
        row + 1,
        indent + 1,
        f"{name} is indented {_spaces(indent)}, more than `{_name(owner)}` on line {above + 1} "
        f"({_spaces(owner_indent)}), so YAML reads it as part of `{_name(owner)}`'s value; "
        f"indent it by {_spaces(owner_indent)} like `{_name(owner)}`, or, if it belongs inside "
        f"`{_name(owner)}`, put nothing after `{_name(owner)}:`",
    )


# -- quotes and brackets -------------------------------------------------------------------


def _quoted(
    lines: list[str], problem: str, at: tuple[int, int], opened: tuple[int, int]
) -> Explained | None:
    quote = _line(lines, opened[0])[opened[1] : opened[1] + 1] or '"'
    if "end of stream" in problem or "document" in problem:
        return Explained(
            opened[0] + 1,
            opened[1] + 1,
            f"the `{quote}` that opens this value is never closed, so YAML reads the rest of the "
            f"file as part of it; end the value with `{quote}` on this line",
        )
    if "escape" in problem:
        text = _line(lines, at[0])
        col = at[1] if text[at[1] : at[1] + 1] == "\\" else max(at[1] - 1, 0)
        close = text.find('"', col)
        inner = text[opened[1] + 1 : close if close > col else len(text)].rstrip()
        fixes = f'`"{shown(inner.replace(chr(92), chr(92) * 2))}"`'
        if "'" not in inner:
            fixes = f"`'{shown(inner)}'` or {fixes}"
        return Explained(
            at[0] + 1,
            col + 1,
            f"`{shown(text[col : col + 2])}` is not an escape sequence inside double quotes; "
            f"for a backslash, use single quotes or write it twice: {fixes}",
        )
    return None


def _flow(
    lines: list[str], at: tuple[int, int], opened: tuple[int, int] | None
) -> Explained | None:
    if opened is None:
        return None
    bracket = _line(lines, opened[0])[opened[1] : opened[1] + 1]
    closer = _OPENERS.get(bracket)
    if closer is None:
        return None
    kind = "mapping" if bracket == "{" else "list"
    text = _line(lines, at[0])
    if at[0] == opened[0] and at[1] < len(_strip_comment(text).rstrip()):
        return Explained(
            at[0] + 1,
            at[1] + 1,
            f"YAML cannot read this item of the {kind} opened by `{bracket}` at column "
            f"{opened[1] + 1}: separate items with `, `, and quote a value that holds `:` or `,`",
        )
    return _never_closed(lines, opened)


def _never_closed(lines: list[str], opened: tuple[int, int]) -> Explained:
    bracket = _line(lines, opened[0])[opened[1]]
    closer = _OPENERS[bracket]
    kind = "mapping" if bracket == "{" else "list"
    written = _strip_comment(_line(lines, opened[0])).strip()
    continued = closer in written or written.endswith(",")  # spread over several lines
    fix = "" if continued else f": `{shown(written)}{closer}`"
    return Explained(
        opened[0] + 1,
        opened[1] + 1,
        f"the `{bracket}` that opens this {kind} is never closed; end the {kind} with "
        f"`{closer}`{fix} (or put `{closer}` on the line where a {kind} spread over "
        "several lines ends)",
    )


# -- a block mapping that meets something other than a key ---------------------------------


def _in_block_mapping(
    lines: list[str], at: tuple[int, int], opened: tuple[int, int] | None
) -> Explained | None:
    row, col = at
    text = _line(lines, row)
    char = text[col : col + 1]
    indent = _indent(text)
    if char == "-" and text[col + 1 : col + 2] in ("", " ") and col == indent:
        parent = _parent_key(lines, row, indent)
        where = f"`{parent}` holds" if parent else "the manifest holds"
        item = _strip_comment(text[col + 1 :]).strip()
        return Explained(
            row + 1,
            col + 1,
            f"a list item (`- `) where {where} keys (`name: value`); remove the `- `"
            + (f" and write `{shown(item)}`" if item else "")
            + ", or, if a list is meant, give it its own key",
        )
    if char in ("]", "}"):
        return Explained(
            row + 1,
            col + 1,
            f"a stray `{char}` that closes no bracket; remove it",
        )
    if col > indent:
        return _stray_after_value(lines, row, col)
    if opened is not None and col == indent:
        return _under_indented(lines, row, indent)
    return None


def _stray_after_value(lines: list[str], row: int, col: int) -> Explained | None:
    text = _line(lines, row)
    before = text[:col].rstrip()
    closer = before[-1:]
    stray = _strip_comment(text[col:]).rstrip()
    if closer in ("'", '"'):
        token = _last_scalar_before("\n".join(lines), row, col)
        if token is None or token.style != closer:
            return None
        begun = token.start_mark
        if begun.line < row:
            return Explained(
                begun.line + 1,
                begun.column + 1,
                f"the `{closer}` that opens this value is not closed on its line, so YAML reads "
                f"on to the `{closer}` on line {row + 1}; end the value with `{closer}` on this "
                "line",
            )
        if closer == "'" and "'" in stray:
            value = text[begun.column : col] + stray
            fixed = "'" + value[1:-1].replace("'", "''") + "'"
            return Explained(
                row + 1,
                len(before),
                f"this `'` ends the single-quoted value early; inside single quotes write an "
                f"apostrophe twice: `{shown(fixed)}` (or use double quotes)",
            )
        return Explained(
            row + 1,
            col + 1,
            f"text `{shown(stray)}` after the closing `{closer}` of the value; move it inside the "
            f"quotes, or start a comment with ` #`",
        )
    if closer in ("}", "]"):
        return Explained(
            row + 1,
            col + 1,
            f"text `{shown(stray)}` after the closing `{closer}`; remove it, or start a "
            "comment with ` #`",
        )
    return None


def _under_indented(lines: list[str], row: int, indent: int) -> Explained | None:
    text = _line(lines, row)
    key = _key_at(text, indent)
    name = f"`{_name(key)}`" if key else "this line"
    levels: list[tuple[int, str, int]] = []  # (indent, key, line) of the keys it could join
    above = _previous_content(lines, row)
    while above is not None:
        other = lines[above]
        other_indent = _indent(other)
        if not levels or other_indent < levels[-1][0]:
            match = _key_at(other, other_indent)
            if match:
                levels.append((other_indent, _name(match), above + 1))
            if other_indent == 0:
                break
        above = _previous_content(lines, above)
    if not levels or any(level == indent for level, _, _ in levels):
        return None  # it lines up with a key above: the mistake is elsewhere on the line
    near = ", or ".join(
        f"by {_spaces(level)} like `{name_}` on line {line}" for level, name_, line in levels[:2]
    )
    return Explained(
        row + 1,
        indent + 1,
        f"{name} is indented {_spaces(indent)}, like no key above it, so YAML cannot tell "
        f"which mapping it belongs to; indent it {near}",
    )


def _key_in_list(lines: list[str], at: tuple[int, int], opened: tuple[int, int]) -> Explained:
    row, col = at
    text = _line(lines, row)
    key = _key_at(text, col)
    name = f"`{_name(key)}`" if key else "this line"
    parent = _parent_key(lines, opened[0], opened[1])
    of = f"`{parent}`" if parent else "this list"
    return Explained(
        row + 1,
        col + 1,
        f"{name} stands where {of} expects a list item (`- ` at column {opened[1] + 1}); to "
        f"add it to the item above, indent it by {_spaces(opened[1] + 2)}, or start a new item "
        "with `- `",
    )


def _cannot_start(lines: list[str], at: tuple[int, int], why: str = "") -> Explained:
    text = _line(lines, at[0])
    char = text[at[1] : at[1] + 1]
    value = _strip_comment(text[at[1] :]).rstrip()
    named = "a backtick" if char == "`" else f"`{shown(char)}`"
    because = f" ({named} {why})" if why else ""
    return Explained(
        at[0] + 1,
        at[1] + 1,
        f"an unquoted value cannot start with {named} in YAML{because}; quote it: "
        f'`"{_escaped(value)}"`',
    )


def _block_scalar_indicator(lines: list[str], opened: tuple[int, int]) -> Explained:
    text = _line(lines, opened[0])
    char = text[opened[1] : opened[1] + 1]
    value = _strip_comment(text[opened[1] :]).rstrip()
    return Explained(
        opened[0] + 1,
        opened[1] + 1,
        f"`{shown(char)}` starts a block of text and must end its line (`key: {shown(char)}`, "
        "with the text indented on the lines below); for a value that starts with "
        f"`{shown(char)}`, "
        f'quote it: `"{_escaped(value)}"`',
    )


def _indented_first_key(lines: list[str], row: int) -> Explained | None:
    first = None
    for index, text in enumerate(lines):
        if text.strip() and not text.strip().startswith("#"):
            first = index
            break
    if first is None or _indent(lines[first]) <= _indent(_line(lines, row)):
        return None
    key = _key_at(lines[first], _indent(lines[first]))
    name = f"`{_name(key)}`" if key else "the first line"
    return Explained(
        first + 1,
        1,
        f"{name} is indented {_spaces(_indent(lines[first]))}, so the top-level keys below it "
        "do not line up with it; start every top-level key at column 1",
    )


# -- small helpers -------------------------------------------------------------------------


def _line(lines: list[str], row: int) -> str:
    return lines[row] if 0 <= row < len(lines) else ""


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _skip_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t":
        at += 1
    return at


def _strip_comment(text: str) -> str:
    match = re.search(r"(^|[ \t])#", text)
    return text[: match.start()] if match else text


def _previous_content(lines: list[str], row: int) -> int | None:
    """The nearest line above `row` that is neither blank nor only a comment."""
    for above in range(row - 1, -1, -1):
        stripped = lines[above].strip()
        if stripped and not stripped.startswith("#"):
            return above
    return None


def _parent_key(lines: list[str], row: int, indent: int) -> str | None:
    """The key whose value holds the collection starting at (`row`, `indent`)."""
    above = row
    while (above := _previous_content(lines, above)) is not None:
        other_indent = _indent(lines[above])
        if other_indent < indent:
            match = _key_at(lines[above], other_indent)
            return _name(match) if match else None
    return None


def _last_scalar_before(text: str, row: int, col: int) -> yaml.ScalarToken | None:
    """The last scalar YAML read before (`row`, `col`): where a quoted value really began."""
    last = None
    loader = _Loader(text)
    try:
        while loader.check_token():
            token = loader.get_token()
            if (token.start_mark.line, token.start_mark.column) >= (row, col):
                break
            if isinstance(token, yaml.ScalarToken):
                last = token
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return last


def _name(key: _Key | None) -> str:
    return shown(key.name) if key else ""


def _word_at(text: str, at: int) -> str:
    match = re.match(r"[^\s,\[\]{}:#]+", text[at:])
    return shown(match.group() if match else text[at : at + 1])


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _escaped(value: str) -> str:
    return shown(value.replace("\\", "\\\\").replace('"', '\\"'))
