"""A seeded corpus of mutated manifests, for differential tests against other tools.

Every mutant starts from a valid manifest (the examples, the valid fixtures and the tests'
`VALID`) and gets one to three text-level mutations aimed at the places where YAML parsers
and regular-expression dialects disagree: byte-order marks, tabs, YAML 1.1 versus 1.2
scalars, tags, anchors, line breaks, quoting, and Unicode digits, letters and spaces in
values and keys. The same seed gives the same corpus on every machine and Python version
(`random.Random` with a seed is stable), so a failure names a file that can be regenerated.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import FIXTURES, PROJECT, VALID

SEED = 20261127

# Characters that mean something to YAML, or to one regex dialect and not another.
TRICKY_CHARS = [
    "\t", " ", "\ufeff", "\u00a0", "\u0085", "\u2028", "\u2029", "\u200b", "\u3000", "\u2007",
    "\u202f", "\u1680", "\x1c", "\x1f", "\x0b", "\x0c", "\r", "\x7f", "\x07", "\x1b",
    "\u0660", "\u0669", "\u06f1", "\u0966", "\uff11", "\u00b2", "\u2460",  # digits, not ASCII
    "\u02b0", "\u00aa", "\u00e9", "\u0131", "\u212a", "\u017f", "\u1e9e",  # letters, not ASCII
    "\u0301", "\u202e", "\u2066", "\U0001f600", "\ufffd", "\ufffe",
    ":", "-", "#", "'", '"', "{", "}", "[", "]", ",", "&", "*", "!", "|", ">", "%", "@", "`",
    "?", "\\", "/", ".", "_", "~", "=", "<", "+",
]  # fmt: skip

# Scalars written as they would stand after `key: `.
SCALARS = [
    "yes", "no", "on", "off", "y", "n", "Yes", "NO", "True", "FALSE", "true", "false",
    "~", "null", "Null", "NULL", "", "''", '""',
    "0", "-0", "+1", "017", "0o17", "0x1F", "0b101", "1_000", "1:30", "190:20:30", "1e3",
    "1E-3", "1.0e+3", ".5", "5.", "-.5", "+.inf", "-.Inf", ".NaN", ".nan", ".INF", "1.0",
    "0.9312", "1", "2", "10000000000000000000000", "1" + "0" * 400, "1e400", "-1e400",
    "2024-01-01", "2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "12:30",
    "!!str 1", "!!int '1'", "!!float 1", "!!binary aGVsbG8=", "!!null ''", "!!bool yes",
    "!!set {x}", "!!omap [a: 1]", "!<tag:yaml.org,2002:str> x", "!custom x", "!!python/name:os",
    "&a x", "*a", "[1, 2]", "{a: 1}", "[]", "{}", "|\n  text", ">-\n  folded\n  text",
    "|+\n  kept\n\n", '"\\x41"', '"\\u00e9"', '"\\N"', '"\\_"', '"\\L"', '"\\P"', '"\\e"',
    '"\\ud800"', '"\\U0001F600"', '"\\t"', '"a\\nb"', '"\\ufeffname"', '"name\\ufeff"',
    "'it''s'", "x # comment", "x#y", "a: b", "- x", "? x", "%x", "@x", "`x`",
    "CHURN-001", "churn-001", "CHURN--001", "1.0.0", "1.0.0-rc.1", "1.0.0+build.5",
    "01.0.0", "1.0", "v1.0.0", "accuracy", "f1", "acc", "models/churn", "../x", "/abs",
    "C:models", "'\\\\share'", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "0x" + "a" * 39,
]  # fmt: skip

# Names (of models, metrics, tags) with characters that regex dialects read differently.
NAMES = [
    "model\u0660", "\u0660\u0661", "m\u02b0", "\u00e9t\u00e9", "caf\u00e9", "x\u00b2",
    "\ufeffname", "name\ufeff", "\u00a0name", "name\u00a0", "\u2003name", "name\u3000",
    "\u1680x", "x\u202f", "\u200bx", "x\u200b", "\x1cx", "x\x1f", "\u0085x", "na me",
    "K\u212a", "\u017f", "d\u0969", "\uff10", "A-\u0661", "a/b", "a:b", "a.b", "a b",
    "-x", "x-", "_x", "x" * 251, "1.0.0\u0661", "1.\u0660.0", "\u0661.0.0",
]  # fmt: skip

KEYS = ["accuracy", "f1", "x", "1", "1e3", "0o17", "yes", "~", ".inf", "2024-01-01", *NAMES]

_SCALAR_LINE = re.compile(r"(?m)^([ ]*(?:- )?[A-Za-z_][\w.\- ]*:)[ ]+(\S[^\n]*)$")


def _bases() -> list[str]:
    files = sorted(PROJECT.glob("examples/*/hokusai.yaml")) + sorted(
        FIXTURES.glob("valid/*/hokusai.yaml")
    )
    return [VALID, *(f.read_text(encoding="utf-8") for f in files)]


def _quoted(rng: random.Random, text: str) -> str:
    """`text` as a plain, single-quoted or double-quoted YAML scalar."""
    style = rng.randrange(3)
    if style == 1 and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if style == 2 or "\n" in text:
        escaped = "".join(
            c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}"
            for c in text
            if ord(c) <= 0xFFFF
        )
        return f'"{escaped}"'
    return text


def _replace_scalar(rng: random.Random, text: str) -> str:
    lines = list(_SCALAR_LINE.finditer(text))
    if not lines:
        return text
    m = rng.choice(lines)
    value = rng.choice(SCALARS) if rng.random() < 0.6 else _quoted(rng, rng.choice(NAMES))
    if value.startswith(("|", ">")) and "\n" in value:  # a block scalar: indent its lines
        indent = " " * (len(m.group(1)) - len(m.group(1).lstrip()) + 2)
        head, *rest = value.split("\n")
        value = "\n".join([head, *(indent + r.lstrip() if r.strip() else r for r in rest)])
    return text[: m.start(2)] + value + text[m.end(2) :]


def _insert_char(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(TRICKY_CHARS) * rng.choice((1, 1, 2)) + text[at:]


def _insert_at_value_edge(rng: random.Random, text: str) -> str:
    """A tricky character right before or after a value: where `\\s` and `\\w` matter."""
    lines = list(_SCALAR_LINE.finditer(text))
    if not lines:
        return text
    m = rng.choice(lines)
    at = rng.choice((m.start(2), m.end(2)))
    return text[:at] + rng.choice(TRICKY_CHARS) + text[at:]


def _delete_span(rng: random.Random, text: str) -> str:
    at = rng.randrange(max(len(text), 1))
    return text[:at] + text[at + rng.randint(1, 3) :]


def _trailing_whitespace(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    lines[i] += rng.choice(["\t", " \t", "\t\t", " ", "\t# note", "  # x\ty", "\u00a0", "\u3000"])
    return "\n".join(lines)


def _tab_indentation(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    stripped = lines[i].lstrip(" ")
    lines[i] = rng.choice(["\t", " \t", "\t ", "  \t"]) + stripped
    return "\n".join(lines)


def _tab_separator(rng: random.Random, text: str) -> str:
    """A tab after `:`, `-`, `#`, `,` or inside a value."""
    spots = [m.end() - 1 for m in re.finditer(r"[:\-#,] ", text)] + [
        m.start() for m in re.finditer(r"(?<=\w) (?=\w)", text)
    ]
    if not spots:
        return text
    at = rng.choice(spots)
    return text[:at] + "\t" + text[at + 1 :]


def _byte_order_marks(rng: random.Random, text: str) -> str:
    where = rng.randrange(4)
    if where == 0:
        return "\ufeff" * rng.choice((1, 2, 2, 3)) + text
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    if where == 1:
        lines[i] = "\ufeff" + lines[i]
    elif where == 2:
        lines[i] = lines[i] + "\ufeff"
    else:
        lines.insert(i, "\ufeff")
    return "\n".join(lines)


def _document_markers(rng: random.Random, text: str) -> str:
    return rng.choice(
        [
            "---\n" + text,
            "--- \n" + text,
            "%YAML 1.1\n---\n" + text,
            "%YAML 1.2\n---\n" + text,
            "%YAML 1.3\n---\n" + text,
            "%TAG !e! tag:example.com,2000:\n---\n" + text,
            text + "...\n",
            text + "---\n",
            text + "--- x\n",
            "# comment\n" + text,
        ]
    )


def _line_breaks(rng: random.Random, text: str) -> str:
    return rng.choice(
        [
            text.replace("\n", "\r\n"),
            text.replace("\n", "\r"),
            text.rstrip("\n"),
            text + "\n\n\n",
            text.replace("\n", "\n\n", 1),
        ]
    )


def _lines(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(3)
    if op == 0:
        lines.insert(j, lines[i])
    elif op == 1:
        del lines[i]
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _add_entry(rng: random.Random, text: str) -> str:
    section = rng.choice(["metrics", "tags", "params", "custom_metrics", "model", "benchmark"])
    key = _quoted(rng, rng.choice(KEYS))
    value = rng.choice(["0.5", "x", "1", '"text"', "{direction: higher}", "yes", "0o17"])
    if section == "custom_metrics":
        value = rng.choice(
            [
                "{direction: higher}",
                "{direction: lower, min: 0, max: 1}",
                "{direction: higher, min: " + "9" * 400 + "}",
                "{direction: lower, max: -" + "9" * 400 + "}",
            ]
        )
    entry = f"  {key}: {value}\n"
    header = re.search(rf"(?m)^{section}:[ ]*\n", text)
    if header:
        return text[: header.end()] + entry + text[header.end() :]
    return text + f"{section}:\n{entry}"


def _tag_or_anchor(rng: random.Random, text: str) -> str:
    lines = list(_SCALAR_LINE.finditer(text))
    if not lines:
        return text
    m = rng.choice(lines)
    prefix = rng.choice(["!!str ", "!!int ", "!!float ", "&x ", "!!binary ", "! ", "!local "])
    return text[: m.start(2)] + prefix + text[m.start(2) :]


def _merge_keys(rng: random.Random, text: str) -> str:
    """Merge keys (`<<`), once or twice, and anchors with aliases."""
    header = re.search(r"(?m)^(model|benchmark|tags|params|metrics):[ ]*\n", text)
    if not header:
        return text
    merge = rng.choice(
        [
            "  <<: {flavor: file}\n",
            "  <<: {description: merged}\n  <<: {flavor: file}\n",
            "  <<: [{flavor: file}, {description: x}]\n",
            "  <<: []\n",
            "  ? <<\n  : {flavor: file}\n",
            '  "<<": {flavor: file}\n',
            "  <<: {x: 1, x: 2}\n",
        ]
    )
    return text[: header.end()] + merge + text[header.end() :]


MUTATIONS: tuple[Callable[[random.Random, str], str], ...] = (
    _replace_scalar,
    _replace_scalar,
    _replace_scalar,
    _insert_char,
    _insert_char,
    _insert_at_value_edge,
    _insert_at_value_edge,
    _delete_span,
    _trailing_whitespace,
    _tab_indentation,
    _tab_separator,
    _byte_order_marks,
    _document_markers,
    _line_breaks,
    _lines,
    _add_entry,
    _add_entry,
    _tag_or_anchor,
    _merge_keys,
)


@functools.cache
def corpus(count: int = 2400, seed: int = SEED) -> tuple[bytes, ...]:
    """`count` mutated manifests as UTF-8 bytes; the same seed gives the same list."""
    rng = random.Random(seed)
    bases = _bases()
    result = []
    for _ in range(count):
        text = rng.choice(bases)
        for _ in range(rng.choice((1, 1, 2, 3))):
            text = rng.choice(MUTATIONS)(rng, text)
        result.append(text.encode("utf-8"))
    return tuple(result)


def write_corpus(directory: Path, count: int = 2400, seed: int = SEED) -> list[Path]:
    """The corpus as `fuzz-NNNN.yaml` files in `directory`."""
    paths = []
    for i, data in enumerate(corpus(count, seed)):
        path = directory / f"fuzz-{i:04d}.yaml"
        path.write_bytes(data)
        paths.append(path)
    return paths
