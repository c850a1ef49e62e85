"""The demo's output: each step as the comment the action posts (or the `register` report),
then what the history paid. Everything shown is taken from the reports."""

from __future__ import annotations

from collections.abc import Iterable

from hokusai_action.demo.story import Step
from hokusai_action.github.comment import change, comment_body, text, truncate
from hokusai_action.inert import shown
from hokusai_action.registry.output import OUTCOME_TEXT, number, report_text, table

SUMMARY_HEADER = ("step", "model.version", "registry", "value", "baseline", "change", "verdict")


def intro(steps: int) -> str:
    return (
        f"{steps} versions of one model, each a real model scored on the same holdout, "
        "registered in order by the code `hokusai-action register` runs, into an embedded "
        "registry that is thrown away afterwards. After each step, the pull-request comment "
        "the GitHub Action posts for it. Every run starts afresh, so a second run prints the "
        "same, but for MLflow's run IDs, which are new each time."
    )


def step_title(s: Step) -> str:
    what = s.report.plan.description or s.folder
    return f"Step {s.number} of {s.of}: {what}"


def step_markdown(s: Step) -> list[str]:
    body = truncate(comment_body(s.report, "register"))
    return [f"## {text(step_title(s))}", "", *body.split("\n"), ""]


def step_text(s: Step) -> list[str]:
    return [f"== {shown(step_title(s), 200)}", *report_text(s.report), ""]


def summary_rows(steps: Iterable[Step]) -> list[tuple[str, ...]]:
    """One row per step: the values, the baseline each was judged against, the verdict."""
    rows = []
    for s in steps:
        r, v = s.report, s.report.verdict
        base = v.baseline if v else None
        rows.append(
            (
                str(s.number),
                shown(r.plan.semver or "-"),
                f"v{r.version}",
                number(r.plan.value),
                f"{number(base.value)} (v{base.version})" if base else "-",
                change(v) if v and base else "-",
                OUTCOME_TEXT[v.outcome] if v else "not judged",
            )
        )
    return rows


def paid(steps: list[Step]) -> str:
    """What the history paid, from the verdicts: the DeltaOne versions and their changes,
    and which version each step was judged against."""
    rewarded = [s for s in steps if s.report.verdict and s.report.verdict.achieved]
    judged = [
        f"v{s.report.version} against v{s.report.verdict.baseline.version}"
        for s in steps
        if s.report.verdict and s.report.verdict.baseline
    ]
    if rewarded:
        each = ", ".join(f"v{s.report.version} ({change(s.report.verdict)})" for s in rewarded)
        said = f"Paid: {len(rewarded)} DeltaOne{'s' if len(rewarded) > 1 else ''}, {each}."
    else:
        said = "Paid: no DeltaOne."
    if judged:
        said += f" Judged: {'; '.join(judged)}."
    return said


def summary_markdown(steps: list[Step]) -> list[str]:
    lines = ["## What the history paid", "", "| " + " | ".join(SUMMARY_HEADER) + " |",
             "|" + " --- |" * len(SUMMARY_HEADER)]  # fmt: skip
    lines += ["| " + " | ".join(text(cell) for cell in row) + " |" for row in summary_rows(steps)]
    return [*lines, "", text(paid(steps))]


def summary_text(steps: list[Step]) -> list[str]:
    return ["== What the history paid", *table(summary_rows(steps), SUMMARY_HEADER), paid(steps)]
