"""The bodies changed-only writes: found again by their marker, inert, run-independent."""

from __future__ import annotations

from hokusai_action.github.comment import (
    marker,
    model_marker_of,
    no_longer_changed_body,
    no_model_changed_body,
    untouched_section,
)


def test_a_per_model_marker_is_recognised_only_on_the_first_line():
    line = marker("churn")
    assert model_marker_of(f"{line}\n### result") == line
    assert model_marker_of(f"{line}\r\nbody") == line
    assert model_marker_of(f"someone quoting\n{line}") is None
    assert model_marker_of(marker(None)) is None  # the combined comment is not a model's
    assert model_marker_of(line.replace("model=", "model=zz")) is None


def test_the_no_longer_changed_body_keeps_the_marker_and_makes_the_name_inert():
    line = marker("@team <b>x</b>")
    body = no_longer_changed_body(line, "@team <b>x</b>", "compare")
    assert body.splitlines()[0] == line
    assert "@\u200bteam &lt;b&gt;x&lt;/b&gt;" in body
    assert "<b>" not in body
    assert body == no_longer_changed_body(line, "@team <b>x</b>", "compare")  # no run data


def test_a_model_without_a_manifest_is_not_named():
    body = no_longer_changed_body(marker("gone"), None, "compare")
    assert "No longer in this pull request's results" in body
    assert "removed or renamed" in body


def test_the_combined_comment_says_no_model_is_changed():
    body = no_model_changed_body("compare")
    assert body.splitlines()[0] == marker(None)
    assert "no longer changes any model" in body


def test_each_untouched_model_is_one_line_of_the_summary():
    lines = untouched_section([("a/hokusai.yaml", "a-model"), ("b/hokusai.yaml", None)])
    items = [x for x in lines if x.startswith("- ")]
    assert items == [
        "- a-model (a/hokusai.yaml): not compared (`changed-only`)",
        "- a model (b/hokusai.yaml): not compared (`changed-only`)",
    ]
