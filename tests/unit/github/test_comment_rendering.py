"""Hostile names, keys, values and notes rendered as GitHub renders a comment (cmark-gfm,
with the autolink extension on): no link, mention, issue reference, image, raw HTML, emoji
or bidi control survives (issue 9, item 12)."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from hokusai_action.github import action
from hokusai_action.github.comment import combined_body, comment_body, problems_section, text
from hokusai_action.github.publish import publish
from hokusai_action.inert import is_hidden
from hokusai_action.problems import Problem, Severity
from hokusai_action.registry.deltaone import Baseline, decide
from hokusai_action.registry.results import Report, Status
from tests.support.reports import sample_report

HOSTILE = [
    "@octocat please look",
    "cc @hokusai-protocol/maintainers",
    "fixes #123",
    "hokusai-protocol/hokusai-action#7",
    "see GH-1 and gh-42",
    "https://evil.example/login",
    "http://evil.example",
    "www.evil.example",
    "WWW.EVIL.EXAMPLE/path",
    "mailto:someone@evil.example",
    "someone@evil.example",
    "xmpp:foo@evil.example",
    ":smile: :+1: :shipit:",
    "![pixel](https://evil.example/p.png)",
    "[click](https://evil.example)",
    "[ref]: https://evil.example",
    "<https://evil.example>",
    '<img src="https://evil.example/p.png" onerror=alert(1)>',
    "<a href=https://evil.example>x</a>",
    "<script>alert(1)</script>",
    "<details open><summary>x</summary>",
    "-->",
    "&#64;octocat &commat;octocat &lt;b&gt;",
    "\u202eevil\u202c reversed",
    "\u2066isolate\u2069 \u200f\u061c",
    "@\u200boctocat (a zero-width space of the user's own)",
    "\\@octocat \\#123",
    "a | b | c",
    "```\n# heading\n- list\n> quote",
    "`code` ``double`` **bold** _em_ ~~strike~~",
    "line one\nline two\r\n\x1b]0;title\x07",
    "javascript:alert(1)",
]

ALLOWED_TAGS = {"p", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "strong",
                "code", "pre", "blockquote", "details", "summary", "sub", "ul", "li"}  # fmt: skip
OUR_BREAKS = re.compile(r"(?i)(?:[@#:]\u200b|w\u200b(?=ww\.)|gh\u200b(?=-))")  # `text` adds them


def render(markdown: str) -> str:
    """GitHub's Markdown: GFM with autolinks and tables; raw HTML passed through unfiltered,
    so any that survives our escaping shows up here."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def assert_inert(rendered: str) -> None:
    assert "<a" not in rendered, "a link"
    assert "<img" not in rendered, "an image"
    for closing, tag in re.findall(r"<(/?)([A-Za-z][A-Za-z0-9]*)", rendered):
        assert tag in ALLOWED_TAGS, f"raw HTML <{closing}{tag}>"
    for comment in re.findall(r"<!--.*?-->", rendered, re.S):
        assert comment.startswith("<!-- hokusai-action:deltaone"), comment
    # What GitHub reads as mentions, issue references, autolinks and emoji, in text outside
    # code (GitHub leaves code alone).
    outside_code = re.sub(r"<(code|pre)>.*?</\1>", "", rendered, flags=re.S)
    words = html.unescape(re.sub(r"<[^>]*>", " ", outside_code))
    assert not re.search(r"@[\w-]", words), "a mention or an e-mail address"
    assert not re.search(r"#[0-9]", words), "an issue reference"
    assert not re.search(r"(?i)\bgh-[0-9]", words), "a GH- reference"
    assert not re.search(r"(?i)://|www\.|(mailto|xmpp|javascript):(?!\u200b)", words), "a link"
    assert not re.search(r":[a-z0-9_+-]+:", words), "an emoji shortcode"
    # No bidi or invisible character, but the zero-width spaces that break the above.
    hidden = [c for c in OUR_BREAKS.sub("", rendered) if is_hidden(c) and c != "\n"]
    assert not hidden, f"hidden characters {hidden!r}"


def hostile_report(value: str, *, status: Status = Status.REGISTERED) -> Report:
    report = sample_report(value, status=status)
    metric = dataclasses.replace(report.plan.metric, name=value)
    report.plan = dataclasses.replace(
        report.plan, token_id=value, metric=metric, value_source=f"{value}:{value}"
    )
    report.verdict = decide(metric, 0.9425, Baseline(0.9312, 3, 5000, model=value), samples=5000)
    report.aliases = [value]
    report.notes = [f"note about {value}"]
    report.links = {}
    report.run_id = value
    return report


def tables_keep_their_columns(rendered: str) -> None:
    for table in re.findall(r"<table>.*?</table>", rendered, re.S):
        widths = {
            len(re.findall(r"<t[dh]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.S)
        }
        assert len(widths) == 1, f"a row broke out of its table: {widths}"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_renders_inert_in_the_comment(value):
    rendered = render(comment_body(hostile_report(value), "register"))
    assert_inert(rendered)
    tables_keep_their_columns(rendered)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_renders_inert_in_the_combined_table_comment(value):
    reports = [hostile_report(value), hostile_report(value + "2", status=Status.COMPARED)]
    rendered = render(combined_body(reports, "compare"))
    assert_inert(rendered)
    tables_keep_their_columns(rendered)


def test_bidi_and_invisible_characters_are_shown_as_escapes():
    rendered = render(comment_body(hostile_report("\u202eevil\u200b"), "register"))
    assert "\\u202eevil\\u200b" in rendered
    assert "\u202e" not in rendered


def test_ordinary_names_render_as_they_are():
    rendered = render(comment_body(sample_report(), "register"))
    assert "<td>customer-churn-predictor</td>" in rendered
    assert "<td>CHURN-001</td>" in rendered


def test_links_from_the_registry_that_could_break_out_are_dropped():
    report = sample_report()
    report.links = {
        "run": "javascript:alert(1)",
        "model_version": "https://registry.example/x) [evil](https://evil.example",
    }
    rendered = render(comment_body(report, "register"))
    assert "<a" not in rendered
    assert "evil.example" not in rendered


def test_a_hostile_run_id_stays_in_its_code_span():
    report = sample_report()
    report.run_id = "`` | <b>@octocat</b> #1"
    report.links = {}
    rendered = render(comment_body(report, "register"))
    assert_inert(rendered)
    tables_keep_their_columns(rendered)
    assert "<code>`` | &lt;b&gt;@octocat&lt;/b&gt; #1</code>" in rendered


def test_the_step_summary_with_hostile_problems_and_errors_renders_inert(tmp_path: Path):
    value = " ".join(HOSTILE)
    problems = [Problem(f"{v}/hokusai.yaml", 1, 1, Severity.ERROR, "semver", v) for v in HOSTILE]
    assert_inert(render("\n".join(problems_section(problems))))

    summary = tmp_path / "summary.md"
    runner = action.Runner(tmp_path, "push", {}, None, None, "http://127.0.0.1:1", None, summary)
    inputs = {**action.INPUT_DEFAULTS, "github-token": "t", "comment": "false"}
    settings_ = action.Settings.from_inputs(inputs)
    result = action.RunResult(reports=[hostile_report(v) for v in HOSTILE[:3]], errors=[value])
    publish("register", settings_, runner, result)
    rendered = render(summary.read_text(encoding="utf-8"))
    assert "<table>" in rendered
    assert_inert(rendered)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=40))
def test_any_text_renders_inert(value):
    # as the comment places user text: in a table cell, and after "Note:" in a quote
    assert_inert(render(f"| x | {text(value)} |\n| - | - |\n\n> Note: {text(value)}"))
