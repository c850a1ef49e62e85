"""The demo's output: each step as the Markdown the action writes for a registration (or as
`register`'s text report), then the verdicts side by side. Everything shown is taken from the
reports."""

from __future__ import annotations

from collections.abc import Iterable

from hokusai_action.demo.story import Step
from hokusai_action.github.comment import change, comment_body, text, truncate
from hokusai_action.inert import shown
from hokusai_action.registry.measured import value_origin
from hokusai_action.registry.output import OUTCOME_TEXT, number, report_text, table

SUMMARY_HEADER = ("step", "model.version", "registry", "value", "baseline", "change", "verdict")


def intro(steps: int, output_format: str) -> str:
    shown_as = (
        "the Markdown the GitHub Action writes for a registration (its pull-request comment "
        "with `mode: register`, its step summary on a push)"
        if output_format == "markdown"
        else "the report `hokusai-action register` prints"
    )
    differs = "MLflow's run IDs" + (
        "" if output_format == "markdown" else " and the temporary folder's name"
    )
    return (
        f"{steps} versions of one model, each a real model whose accuracy hokusai-action "
        "measures on the same holdout (no manifest claims a value), registered in order by "
        "the code `hokusai-action register` runs, into an embedded "
        f"registry in a temporary folder that is deleted afterwards. After each step, {shown_as}. "
        f"Every run starts afresh: a second run prints the same, but for {differs}, which are "
        "new each time."
    )


def intro_markdown(steps: int) -> list[str]:
    return ["# hokusai-action demo", "", intro(steps, "markdown"), ""]


def intro_text(steps: int) -> list[str]:
    return ["hokusai-action demo", "", intro(steps, "text"), ""]


def step_title(s: Step) -> str:
    what = s.report.plan.description or s.folder
    return f"Step {s.position} of {s.total}: {what}"


def step_markdown(s: Step) -> list[str]:
    body = truncate(comment_body(s.report, "register"))
    return [f"## {text(step_title(s))}", "", *body.split("\n"), ""]


def step_text(s: Step) -> list[str]:
    shown_lines = [ln for ln in report_text(s.report) if not ln.startswith("  load it:")]
    return [f"== {shown(step_title(s), 200)}", *shown_lines, ""]  # its registry is deleted


def summary_rows(steps: Iterable[Step]) -> list[tuple[str, ...]]:
    """One row per step: the values, the baseline each was judged against, the verdict."""
    rows = []
    for s in steps:
        r, v = s.report, s.report.verdict
        base = v.baseline if v else None
        rows.append(
            (
                str(s.position),
                shown(r.plan.semver or "-"),
                f"v{r.version}",
                number(r.plan.value),
                f"{number(base.value)} (v{base.version})" if base else "-",
                change(v) if v and base else "-",
                OUTCOME_TEXT[v.outcome] if v else "not judged",
            )
        )
    return rows


def verdicts(steps: list[Step]) -> str:
    """The DeltaOne versions and their changes, and the version each step was judged
    against (the rewarded baseline), as the reports say."""
    achieved = [s for s in steps if s.report.verdict and s.report.verdict.achieved]
    judged = [
        f"v{s.report.version} against v{s.report.verdict.baseline.version}"
        for s in steps
        if s.report.verdict and s.report.verdict.baseline
    ]
    if achieved:
        each = ", ".join(f"v{s.report.version} ({change(s.report.verdict)})" for s in achieved)
        plural = "s" if len(achieved) > 1 else ""
        said = f"DeltaOne achieved by {len(achieved)} version{plural}: {each}."
    else:
        said = "DeltaOne achieved by no version."
    if judged:
        said += f" Judged: {'; '.join(judged)}."
    return said


def origins(steps: list[Step]) -> str:
    """Where the values in the table come from, as the reports say: one sentence when every
    value was measured the same way and none was claimed, else each version's origin."""
    said = [value_origin(s.report.plan) for s in steps]
    if len(set(said)) == 1 and all(
        s.report.plan.measured and s.report.plan.measured.claimed_text is None for s in steps
    ):
        return f"Every value was {said[0]}; no manifest claimed one."
    return (
        "Values: "
        + "; ".join(f"v{s.report.version} {o}" for s, o in zip(steps, said, strict=True))
        + "."
    )


def summary_markdown(steps: list[Step]) -> list[str]:
    lines = ["## The verdicts side by side", "", "| " + " | ".join(SUMMARY_HEADER) + " |",
             "|" + " --- |" * len(SUMMARY_HEADER)]  # fmt: skip
    lines += ["| " + " | ".join(text(cell) for cell in row) + " |" for row in summary_rows(steps)]
    return [*lines, "", text(origins(steps)), "", text(verdicts(steps))]


def summary_text(steps: list[Step]) -> list[str]:
    rows = table(summary_rows(steps), SUMMARY_HEADER)
    return ["== The verdicts side by side", *rows, origins(steps), verdicts(steps)]
