"""The one place user text is made safe to print: escapes, cuts, no forged commands."""

from __future__ import annotations

import json

import pytest

from hokusai_action.inert import (
    ELLIPSIS,
    LIMIT,
    escape_controls,
    inert_json,
    inert_line,
    inert_lines,
    inert_markdown_line,
    shown,
)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("1.0\n::error::x", "1.0\\n::error::x"),
        ("a\r\tb", "a\\r\\tb"),
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),  # C0, DEL, C1 (NEL, CSI)
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),  # isolates
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),  # marks
        ("a\u200bb\u200cc\u200dd\u2060e\ufeff", "a\\u200bb\\u200cc\\u200dd\\u2060e\\ufeff"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("\U000e0041", "\\U000e0041"),  # a tag character: invisible
        ("\u3164", "\\u3164"),  # a Hangul filler: a letter that shows nothing
        ("\udcff", "\\udcff"),  # a lone surrogate (a file name that was not UTF-8)
    ],
)
def test_control_bidi_and_invisible_characters_are_shown_as_escapes(raw, escaped):
    assert escape_controls(raw) == escaped
    assert shown(raw) == escaped


@pytest.mark.parametrize("plain", ["models\\churn", "Café 模型 ✅ 👍", "tab-free: a b"])
def test_printable_text_and_backslashes_are_left_as_they_are(plain):
    assert escape_controls(plain) == plain
    assert shown(plain) == plain


def test_a_long_value_is_cut_at_80_characters_with_an_ellipsis():
    assert shown("x" * LIMIT) == "x" * LIMIT
    assert shown("x" * (LIMIT + 1)) == "x" * LIMIT + ELLIPSIS
    assert len(shown("x" * 1_000_000)) == LIMIT + 1


def test_a_cut_never_splits_an_escape():
    cut = shown("a" * 78 + "\x1b" * 10)
    assert cut == "a" * 78 + ELLIPSIS  # `\x1b` would not fit: it is left out whole
    assert shown("\u202e" * 100).count("\\u202e") == LIMIT // 6


def test_a_value_cannot_carry_the_runners_older_command_syntax():
    # `##[error]…` is a workflow command anywhere in a line, not only at its start.
    assert "##[" not in shown("x ##[error]FORGED")
    assert "##[" not in inert_line("model x##[add-mask]secret")


@pytest.mark.parametrize(
    "line", ["::error file=README.md::FORGED", "   ::add-mask::x", "\u3000::stop-commands::t"]
)
def test_no_printed_line_starts_with_a_workflow_command(line):
    out = inert_line(line)
    assert not out.lstrip().startswith("::")
    assert "error file=README.md" in out or "::x" in out or "stop-commands" in out


def test_every_line_of_a_text_is_made_inert():
    out = inert_lines("ok\n::error::forged\n\x1b[2J")
    assert out.split("\n") == ["ok", "\\::error::forged", "\\x1b[2J"]


def test_json_output_keeps_its_data_but_prints_no_raw_control_or_old_command():
    data = {"file": "##[error]x/\u202e\x85\U000e0041 é 👍", "message": "\x1b\n"}
    text = inert_json(json.dumps(data, indent=2, ensure_ascii=False))
    assert json.loads(text) == data
    assert "##[" not in text
    assert not any(c in text for c in "\u202e\x85\U000e0041\x1b")
    assert "é 👍" in text


def test_markdown_line_keeps_our_zero_width_spaces_and_escapes_the_users():
    from hokusai_action.github.comment import text

    rendered = text("see @octocat and a\u200bb")  # ours after `@`; the user's escaped
    line = inert_markdown_line(f"| Note | {rendered} \x1b[31m |")
    assert "@\u200boctocat" in line
    assert "a\u200bb" not in line  # the user's own is shown as an escape
    assert "u200bb" in line
    assert "\x1b" not in line
    assert inert_markdown_line("::error::x\u200by").startswith("\\::error")
