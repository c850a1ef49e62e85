from __future__ import annotations

import dataclasses
import re

import pytest

from hokusai_action.github.comment import (
    MAX_COMMENT,
    combined_body,
    comment_body,
    marker,
    text,
    truncate,
)
from hokusai_action.registry.results import Report
from tests.support.reports import sample_report


def make_report(
    name: str = "churn", value: float = 0.9425, baseline: float | None = 0.9312, **extra
) -> Report:
    report = sample_report(name, value, baseline)
    report.history = [(1, 0.9312), (2, value)]
    report.links = {}
    for key, val in extra.items():
        setattr(report, key, val)
    return report


@pytest.mark.parametrize(
    ("raw", "forbidden"),
    [
        ("<img src=x onerror=alert(1)>", "<img"),
        ("@octocat please look", "@octocat"),
        ("a | b", " | "),
        ("```\nbreak out", "```"),
        ("[click](https://evil.example)", "[click]"),
        ("line one\nline two", "\n"),
    ],
)
def test_user_text_is_made_inert(raw, forbidden):
    assert forbidden not in text(raw)


def test_marker_hides_the_name_and_is_stable():
    assert marker("x-->y") == marker("x-->y")
    assert "-->y" not in marker("x-->y")
    assert marker("a") != marker("b")


def test_comment_shows_the_verdict_values_rule_and_ci():
    body = comment_body(make_report(), "register")
    assert body.startswith(marker("churn") + "\n")
    assert "### ✅ DeltaOne achieved: churn" in body
    assert "| Baseline | 0.9312 (version 3, best rewarded value on churn-holdout v2.1) |" in body
    assert "| Change | +1.13 pp |" in body
    assert "improvement >= 1 percentage point(s)" in body
    assert "| 95% CI of the change | [" in body
    assert "(better: significant)" in body
    assert "| Metric | accuracy (higher is better) on churn-holdout v2.1 |" in body


def test_a_pinned_baseline_is_labelled_what_if_in_the_comment():
    report = make_report()
    assert report.verdict is not None
    assert report.verdict.baseline is not None
    pinned = dataclasses.replace(report.verdict.baseline, version=None, what_if=True)
    report.verdict = dataclasses.replace(report.verdict, baseline=pinned)
    body = comment_body(report, "compare")
    assert "What-if (baseline pinned in the manifest): DeltaOne achieved" in body
    assert "(what-if: pinned in the manifest)" in body


def test_comment_has_a_mermaid_history_chart():
    body = comment_body(make_report(), "register")
    chart = re.search(r"```mermaid\n(.*?)```", body, re.S)
    assert chart is not None
    assert "xychart-beta" in chart.group(1)
    assert "x-axis [v1, v2]" in chart.group(1)
    assert "line [0.9312, 0.9425]" in chart.group(1)


def test_first_registration_is_reported_as_such_not_as_deltaone():
    body = comment_body(make_report(baseline=None, history=[(1, 0.9)]), "register")
    assert "first registration" in body
    assert "DeltaOne achieved" not in body
    assert "```mermaid" not in body  # one point is no chart


def test_links_to_the_tracking_server_when_it_has_a_web_ui():
    report = make_report(
        links={
            "model_version": "http://mlflow/#/models/churn/versions/4",
            "run": "http://mlflow/#/r",
        },
        run_id="r1",
    )
    body = comment_body(report, "register")
    assert "[version 4](http://mlflow/#/models/churn/versions/4)" in body
    assert "[`r1`](http://mlflow/#/r)" in body


def test_without_a_web_ui_the_version_is_plain_text():
    body = comment_body(make_report(), "register")
    assert "| Registry | version 4 |" in body


def test_hostile_model_name_cannot_inject_html_or_pings():
    body = comment_body(make_report(name="<script>@team</script>|x"), "register")
    assert "<script>" not in body
    assert "@team" not in body
    (row,) = [line for line in body.splitlines() if line.startswith("| Model |")]
    assert len(re.findall(r"(?<!\\)\|", row)) == 3  # the cell's own pipe is escaped


def test_combined_comment_has_one_row_per_model():
    body = combined_body([make_report("a"), make_report("b", value=0.90)], "compare")
    assert body.startswith(marker(None))
    rows = [
        line for line in body.splitlines() if line.startswith("| a ") or line.startswith("| b ")
    ]
    assert len(rows) == 2
    assert "🔴" in rows[1]


def test_long_bodies_are_cut_to_githubs_limit_with_a_pointer_to_the_summary():
    body = "```mermaid\n" + "x\n" * 40_000
    cut = truncate(body)
    assert len(cut) <= MAX_COMMENT
    assert cut.endswith("step summary.")
    assert cut.count("```") % 2 == 0


def test_short_bodies_are_left_alone():
    assert truncate("hello") == "hello"


def test_truncation_closes_an_open_details_section_so_the_note_shows():
    body = "<details>\n<summary>x</summary>\n\n" + "row\n" * 30_000 + "</details>\n"
    cut = truncate(body)
    assert len(cut) <= MAX_COMMENT
    assert cut.count("<details>") == cut.count("</details>")
    assert cut.rstrip().endswith("step summary.")


def test_combined_comment_summary_line_is_html_escaped_not_markdown_escaped():
    body = combined_body([make_report("churn_model <b>"), make_report("other")], "compare")
    assert "<summary>churn_model &lt;b&gt;</summary>" in body


def test_the_body_has_nothing_run_specific_so_an_unchanged_result_is_identical():
    first = make_report()
    second = make_report()
    second.plan = dataclasses.replace(second.plan, commit="f" * 40)
    assert comment_body(first, "compare") == comment_body(second, "compare")
