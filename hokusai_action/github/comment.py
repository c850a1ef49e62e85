"""The DeltaOne result as GitHub Markdown: the pull-request comment and the step summary.

Everything a user controls (model names, tags, error text) goes through `text()` before it
reaches Markdown: no HTML, no @mentions, no breaking out of a table or a code block. Values
(names, keys, metric names) go through `user_value()`, which also cuts them at 80 characters.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Sequence

from hokusai_action import __version__
from hokusai_action.inert import ZERO_WIDTH_SPACE, escape_controls, shown
from hokusai_action.problems import Problem
from hokusai_action.registry.deltaone import Outcome, Rule, Verdict
from hokusai_action.registry.measured import value_origin
from hokusai_action.registry.output import OUTCOME_TEXT, baseline_text, number, significance
from hokusai_action.registry.results import Report, Status

MAX_COMMENT = 65_536  # GitHub's limit on a comment body
MAX_CHART_POINTS = 30
MARKER_PREFIX = "<!-- hokusai-action:deltaone"

ICON = {
    Outcome.DELTAONE: "✅",
    Outcome.BELOW_THRESHOLD: "🟡",
    Outcome.UNCHANGED: "⚪",
    Outcome.REGRESSION: "🔴",
    Outcome.FIRST: "🆕",
    Outcome.NEW_BENCHMARK: "🆕",
    Outcome.NOT_SIGNIFICANT: "🟡",
    Outcome.SAME_MODEL: "⚪",
    Outcome.BENCHMARK_MISMATCH: "⛔",
    Outcome.MODEL_NOT_IN_RECORD: "⛔",
}

# What can start emphasis, code, links or table cells anywhere in a line. (User text never
# starts a line here, so the line-start syntax of lists, headings and quotes cannot trigger.)
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# What GitHub turns into a link, a mention, an issue reference or an emoji after Markdown:
# `@user` (and `a@b.com`), `#123` (and `owner/repo#1`), `GH-123`, `https://…`, `mailto:…`,
# `www.…` and `:shortcode:`. A zero-width space breaks each one, and shows nothing.
_LIVE = re.compile(r"(?i)(@|#(?=\S)|:(?=\S)|w(?=ww\.)|gh(?=-[0-9]))")


def _defuse(out: str) -> str:
    return _LIVE.sub(lambda m: m.group() + ZERO_WIDTH_SPACE, out)


def text(value: object) -> str:
    """User text made inert in Markdown and HTML, on one line: control, bidi and invisible
    characters shown as escapes (`\\u202e`), no HTML, no Markdown syntax, no mention, issue
    reference, autolink or emoji."""
    return _inline(str(value).strip())


def _inline(value: str) -> str:
    out = escape_controls(value)
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = re.sub(r"\s+", " ", out)
    out = _SPECIAL.sub(r"\\\1", out)
    return _defuse(out)


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def prose(value: object) -> str:
    """One of our messages (a note, a reason, a problem) as Markdown: `text()`, except that
    its code spans stay code spans, without zero-width spaces, as they are meant to be copied
    (`metrics.json:test.accuracy`, a command). Inside a code span GitHub makes no mention,
    link or emoji, and `code()` escapes the rest."""
    raw = re.sub(r"\s+", " ", str(value)).strip()
    out, position = [], 0
    for span in _CODE_SPAN.finditer(raw):
        out += [_inline(raw[position : span.start()]), code(span.group(1), limit=500)]
        position = span.end()
    out.append(_inline(raw[position:]))
    return "".join(out)


def user_value(value: object) -> str:
    """A name, key or value from the manifest or the registry: `text()`, cut at 80
    characters."""
    return text(shown(value))


def html_text(value: object) -> str:
    """User text inside an HTML element (where Markdown escapes would show literally)."""
    return html.escape(_defuse(re.sub(r"\s+", " ", escape_controls(str(value))).strip()))


def _url(link: str | None) -> str | None:
    """A link from the registry as a Markdown link target, or None when it could break out
    of one (a registry's answers are not trusted)."""
    if link and re.fullmatch(r"https?://[^\s()<>\[\]`\"'\\]+", link):
        return link
    return None


def code(value: object, limit: int = 80) -> str:
    """A short value (a run ID, a file and key) as an inline code span, escaped: copied as it
    is shown, with no zero-width space."""
    out = shown(value, limit).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", out)), default=0) + 1)
    pad = " " if out.startswith("`") or out.endswith("`") else ""
    return f"{fence}{pad}{out}{pad}{fence}"


def marker(model_name: str | None) -> str:
    """The hidden line that finds this model's comment again (a hash: names may hold `-->`)."""
    if model_name is None:
        return f"{MARKER_PREFIX} combined -->"
    digest = hashlib.sha256(model_name.encode()).hexdigest()[:16]
    return f"{MARKER_PREFIX} model={digest} -->"


def change(v: Verdict) -> str:
    """The change in the rule's unit: points for proportions, percent for the relative rule."""
    if v.delta is None or v.improvement is None:
        return "n/a"
    if v.rule is Rule.POINTS:
        return f"{v.delta * 100:+.2f} pp"
    if math.isinf(v.improvement):  # only a baseline of exactly zero, with no floor
        return "from a baseline of exactly 0"
    return f"{v.improvement * 100:+.2f}% ({'better' if v.improvement > 0 else 'worse'})"


def headline(r: Report) -> str:
    name = user_value(r.plan.model_name)
    if r.verdict is None:
        return f"Dry run: {name}"
    what_if = "What-if (baseline pinned in the manifest): " if r.what_if else ""
    return f"{ICON[r.verdict.outcome]} {what_if}{OUTCOME_TEXT[r.verdict.outcome]}: {name}"


def _status_line(r: Report) -> str:
    if r.status is Status.REGISTERED:
        where = f"version {r.version}"
    elif r.status is Status.ALREADY_REGISTERED:
        where = f"version {r.version} (already registered by an earlier run)"
    elif r.status is Status.COMPARED:
        where = "not registered: compared only" + (
            f"; already version {r.version}" if r.version else ""
        )
    else:
        where = "dry run: nothing contacted"
    link = _url(r.links.get("model_version"))
    return f"[{where}]({link})" if link else where


def chart(r: Report) -> list[str]:
    """The benchmark across registered versions as a Mermaid chart (GitHub renders it)."""
    points = list(r.history)
    if r.status is Status.COMPARED and r.verdict is not None and r.version is None:
        points.append((0, r.plan.value))  # the candidate, shown as "this PR"
    points = points[-MAX_CHART_POINTS:]
    if len(points) < 2:
        return []
    values = [v for _, v in points]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.01 or 0.01
    labels = ", ".join("PR" if version == 0 else f"v{version}" for version, _ in points)
    metric = re.sub(r'["`]', "", shown(r.plan.metric.name))
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{metric} by version"',
        f"    x-axis [{labels}]",
        f'    y-axis "{metric}" {low - pad:.6g} --> {high + pad:.6g}',
        f"    line [{', '.join(f'{v:.6g}' for v in values)}]",
        "```",
    ]


def report_section(r: Report, *, heading: str = "###") -> list[str]:
    p, v = r.plan, r.verdict
    rows = [
        ("Model", user_value(p.model_name)),
        ("Token", user_value(p.token_id)),
        (
            "Metric",
            f"{user_value(p.metric.name)} ({p.metric.direction} is better)"
            + (f" on {user_value(p.benchmark.label())}" if p.benchmark.dataset else ""),
        ),
        (
            "New value",
            f"{number(p.value)} ({text(value_origin(p))})"
            if p.measured is not None or p.value_source == "manifest"
            else f"{number(p.value)} (claimed, not measured, from {code(p.value_source, 200)})",
        ),
    ]
    if v is not None:
        if v.baseline is not None:
            where = text(baseline_text(v, p.model_name))
            rows.append(("Baseline", f"{number(v.baseline.value)} ({where})"))
            rows.append(("Change", change(v)))
        elif v.outcome is Outcome.NEW_BENCHMARK:
            rows.append(("Baseline", "none on this benchmark: earlier values are not comparable"))
        elif v.outcome in (Outcome.BENCHMARK_MISMATCH, Outcome.MODEL_NOT_IN_RECORD):
            rows.append(("Baseline", "not compared: see why below"))
        else:
            rows.append(("Baseline", "none: first registration of this token"))
        rows.append(
            (
                "Verdict",
                f"**{OUTCOME_TEXT[v.outcome]}** (rule: {v.rule_text})"
                if v.baseline
                else f"**{OUTCOME_TEXT[v.outcome]}**",
            )
        )
        if (interval := significance(v)) is not None:
            rows.append(("95% CI of the change", interval))
        if v.reason:
            rows.append(("Why no DeltaOne", prose(v.reason)))
    if r.record is not None:
        created = " (created by this registration: trust on first use)" * r.record_created
        rows.append((
            "Benchmark of record",
            f"revision {r.record.revision}{created}: {text(r.record.rule_summary())}",
        ))  # fmt: skip
    rows.append(("Registry", _status_line(r)))
    if r.run_id:
        run_link = _url(r.links.get("run"))
        run = code(r.run_id)
        rows.append(("Run", f"[{run}]({run_link})" if run_link else run))
    if r.aliases:
        rows.append(("Aliases", ", ".join(user_value(a) for a in r.aliases)))
    if r.attestation_sha256:
        rows.append(("Attestation (SHA-256)", code(r.attestation_sha256)))  # a registry tag
    lines = [f"{heading} {headline(r)}", "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    lines += ["", *chart(r)]
    lines += [f"> Note: {prose(note)}" for note in r.notes]
    return lines


def footer(mode: str) -> str:
    # Nothing run-specific (no commit, no time): an unchanged result gives an unchanged body,
    # and the comment is left alone.
    return f"<sub>hokusai-action {__version__} · {mode}</sub>"


def comment_body(r: Report, mode: str) -> str:
    """The full body; `truncate` fits it into a comment."""
    return "\n".join([marker(r.plan.model_name), *report_section(r), "", footer(mode)])


def combined_body(reports: Sequence[Report], mode: str) -> str:
    """One comment for several models: a table, then each model's details."""
    lines = [marker(None), "### Hokusai DeltaOne results", "",
             "| Model | Token | Metric | New | Baseline | Change | Verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in reports:
        v = r.verdict
        baseline = number(v.baseline.value) if v and v.baseline else "—"
        verdict = f"{ICON[v.outcome]} {OUTCOME_TEXT[v.outcome]}" if v else "dry run"
        if r.what_if:
            verdict = f"what-if: {verdict}"
        lines.append(
            f"| {user_value(r.plan.model_name)} | {user_value(r.plan.token_id)} "
            f"| {user_value(r.plan.metric.name)} "
            f"| {number(r.plan.value)} | {baseline} | {change(v) if v else '—'} | {verdict} |"
        )
    for r in reports:
        lines += ["", "<details>", f"<summary>{html_text(shown(r.plan.model_name))}</summary>", "",
                  *report_section(r, heading="####"), "", "</details>"]  # fmt: skip
    lines += ["", footer(mode)]
    return "\n".join(lines)


def truncate(body: str, limit: int = MAX_COMMENT) -> str:
    """Fit GitHub's limit, cutting at a line, closing what the cut left open, and saying
    where the rest is."""
    if len(body) <= limit:
        return body
    note = (
        "\n\n… truncated to fit GitHub's comment limit: the full report is in the workflow "
        "run's step summary."
    )
    cut = body[: limit - len(note) - 200]  # room for the closers below
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("```") % 2:  # an open code block
        cut += "\n```"
    cut += "\n</details>" * (cut.count("<details>") - cut.count("</details>"))
    return cut + note


def problems_section(problems: Sequence[Problem]) -> list[str]:
    """Validation problems as a list (for the step summary)."""
    lines = ["### ❌ Invalid manifests", ""]
    lines += [
        f"- {code(f'{p.file}:{p.line}:{p.column}', 300)} {p.severity}: {prose(p.message)} "
        f"({text(p.rule)})"
        for p in problems
    ]
    return lines


_MODEL_MARKER = re.compile(re.escape(MARKER_PREFIX) + r" model=[0-9a-f]{16} -->")


def model_marker_of(body: str) -> str | None:
    """The per-model marker that starts a body this action wrote, or None."""
    first = body.split("\n", 1)[0].rstrip("\r")
    return first if _MODEL_MARKER.fullmatch(first) else None


def no_longer_changed_body(marker_line: str, model_name: str | None, mode: str) -> str:
    """What replaces an earlier result once the pull request no longer changes the model
    (`model_name` None: its manifest is gone or names another model now). Nothing
    run-specific, so a later run leaves it alone."""
    if model_name is None:
        heading = "### ⚪ No longer in this pull request's results"
        why = (
            "No manifest names this model any more (the pull request removed or renamed it), "
            "so it was not compared: the result that was here is out of date."
        )
    else:
        heading = f"### ⚪ No longer changed by this pull request: {user_value(model_name)}"
        why = (
            "This pull request no longer changes this model's manifest, model files, metrics "
            "file or dataset, so it was not compared again: the result that was here is out "
            "of date. It comes back when a commit changes the model again."
        )
    return "\n".join([marker_line, heading, "", why, "", footer(mode)])


def no_model_changed_body(mode: str) -> str:
    """The combined comment once the pull request changes no model any more."""
    return "\n".join(
        [
            marker(None),
            "### Hokusai DeltaOne results",
            "",
            "This pull request no longer changes any model: the results that were here are "
            "out of date.",
            "",
            footer(mode),
        ]
    )


def untouched_section(entries: Sequence[tuple[str, str | None]]) -> list[str]:
    """One line per model the pull request does not change (manifest file, model name)."""
    lines = ["### Not changed by this pull request", ""]
    lines += [
        f"- {user_value(name) if name is not None else 'a model'} ({text(file)}): "
        "not compared (`changed-only`)"
        for file, name in entries
    ]
    return lines
