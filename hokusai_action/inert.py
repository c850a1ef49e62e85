"""User text made inert before it reaches a terminal, a CI log or a Markdown page.

Manifest values, keys, paths and registry answers are hostile. Printed as they are, a line
break in one starts a new log line (`::error file=…::FORGED` is a real annotation on a
GitHub runner; `::add-mask::` and `::stop-commands::` work the same way), an `ESC` starts a
terminal escape, a bidi control (U+202E) reorders what a reviewer reads, and a megabyte
value makes a megabyte of output. So every value we echo goes through `shown()`: control,
bidi and invisible characters become escapes (`\\n`, `\\x1b`, `\\u202e`), and it is cut at
80 characters. Every line we print goes through `inert_line()`, which also makes sure that
no line starts with `::` (after the leading whitespace the runner trims) and that no line
holds `##[` (the runner's older command syntax, read anywhere in a line): only the workflow
commands we build ourselves reach the runner.
"""

from __future__ import annotations

import re
import unicodedata

LIMIT = 80  # characters of an echoed value
# A message is one line of ours with short values in it; past this, something echoed a value
# whole (or a server sent a page of text), and the rest is cut.
MAX_MESSAGE = 2000
ELLIPSIS = "…"

# Categories that do not show as themselves: controls (C0, DEL, C1), format characters (bidi
# controls U+202A-202E and U+2066-2069, marks U+200E/200F/061C, zero-width U+200B-200D,
# U+2060, U+FEFF, soft hyphen, tags), line and paragraph separators, lone surrogates (which
# cannot even be printed as UTF-8).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Letters and marks that render as nothing (Hangul fillers, the combining grapheme joiner,
# Khmer inherent vowels), used to make two names look alike.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NOT_PLAIN = re.compile(r"[^\x20-\x7e]")  # only these can need an escape: a fast first pass
_OLD_COMMAND = re.compile(r"##\[")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def is_hidden(char: str) -> bool:
    """True for a character that must be shown as an escape, not as itself."""
    return char in _INVISIBLE or unicodedata.category(char) in _HIDDEN_CATEGORIES


def escape_char(char: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e`, `\\U000e0041`: how Python writes the character."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape_match(match: re.Match[str]) -> str:
    char = match.group()
    return escape_char(char) if is_hidden(char) else char


def escape_controls(text: str) -> str:
    """`text` with every control, bidi and invisible character written as an escape; the
    rest (backslashes included) as it is, so paths and messages stay readable."""
    return _NOT_PLAIN.sub(_escape_match, text)


def _defuse_old_commands(text: str) -> str:
    return _OLD_COMMAND.sub(r"##\\[", text)


def shown(value: object, limit: int = LIMIT) -> str:
    """A user value as we echo it: escaped, on one line, at most `limit` characters shown
    (escapes count at their shown length; a cut ends in `…`)."""
    raw = str(value)
    if len(raw) <= limit and not _NOT_PLAIN.search(raw):
        return _defuse_old_commands(raw)
    out: list[str] = []
    used = 0
    for char in raw[: limit + 1]:  # an escape is never shorter than its character
        piece = escape_char(char) if is_hidden(char) else char
        if used + len(piece) > limit:
            return _defuse_old_commands("".join(out)) + ELLIPSIS
        out.append(piece)
        used += len(piece)
    return _defuse_old_commands("".join(out))


def inert_text(text: str, limit: int | None = None) -> str:
    """A whole message (ours, with values in it) made safe to print on one line: escaped,
    `##[` broken, and cut at `limit` characters when one is given."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + ELLIPSIS
    return _defuse_old_commands(escape_controls(text))


def inert_line(line: str) -> str:
    """One line for stdout, stderr or a runner's log: nothing in it can be read as a workflow
    command, and it is cut at MAX_MESSAGE. A line that would start with `::` gets a backslash
    in front."""
    line = inert_text(line, MAX_MESSAGE)
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


# What `github.comment.text()` puts after `@`, `#` and `:` so GitHub makes no mention or link
# of user text. User text reaches Markdown escaped, so every raw one in a body is ours.
ZERO_WIDTH_SPACE = "\u200b"


def inert_markdown_line(line: str) -> str:
    """`inert_line` for a line of Markdown we rendered (a comment printed instead of posted):
    the same, except that our zero-width spaces stay invisible rather than show as `\\u200b`."""
    first, *rest = line.split(ZERO_WIDTH_SPACE)
    pieces = [inert_line(first), *(inert_text(piece, MAX_MESSAGE) for piece in rest)]
    return ZERO_WIDTH_SPACE.join(pieces)


def inert_lines(text: str) -> str:
    """`inert_line` for each line of a text we composed from lines."""
    return "\n".join(inert_line(line) for line in text.split("\n"))


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if not is_hidden(char):
        return char
    units = char.encode("utf-16-be")
    return "".join(
        f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in (0, 2)[: len(units) // 2]
    )


def inert_json(text: str) -> str:
    """JSON text (from `json.dumps`) that means the same data but prints safely: the
    non-ASCII control, bidi and invisible characters that `ensure_ascii=False` leaves raw
    become `\\uXXXX` escapes, and `##[` (which can only stand inside a string) becomes
    `##\\u005b`."""
    return _NON_ASCII.sub(_json_escape, text).replace("##[", "##\\u005b")
