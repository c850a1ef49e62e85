"""The sticky pull-request comments: the results of a run written to its pull request.

After the run judged its models: every result into the step summary, then, when the pull
request may be commented on (open, confirmed to be this run's, a token), one comment per
model (or one combined), listed once and updated in place. Comments on models the pull
request no longer changes say so. Whatever GitHub answers, a comment never fails the run: a
warning says what was not posted, and the step summary has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hokusai_action.github.changed import model_name
from hokusai_action.github.workflow_commands import append_summary, clean, command, log
from hokusai_action.inert import shown

if TYPE_CHECKING:  # the run's types, for hints only: nothing is imported back at run time
    from hokusai_action.github.action import PullRequest, Runner, RunResult, Settings

SECONDS_PER_COMMENT = 1.0  # added to the comment step's deadline for each comment to write


def _may_comment(settings: Settings, target: PullRequest) -> bool:
    """Whether to post: only to a pull request that is open, confirmed to be this run's, with
    a token. Otherwise the run says why (the result is in the step summary either way)."""
    if target.unchecked:
        command("warning", f"{target.unchecked}; no comment was posted")
        return False
    if target.closed:
        command(
            "notice",
            f"pull request #{target.number} is closed: its comment is left as it is; the "
            "result is in the step summary",
        )
        return False
    if not settings.github_token:
        command(
            "warning",
            "input `github-token` is empty, so no pull-request comment was posted (a secret "
            "that does not exist here, or on a fork's pull request, is empty); the result is "
            "in the step summary",
        )
        return False
    return target.check_head is None  # never post where GitHub has not confirmed the head


def publish(mode: str, settings: Settings, runner: Runner, result: RunResult) -> None:
    from hokusai_action.github import comment as rendering

    if settings.combine_comments and len(result.reports) > 1:
        bodies = [rendering.combined_body(result.reports, mode)]
    else:
        bodies = [rendering.comment_body(r, mode) for r in result.reports]
    summary = "\n\n".join(bodies)  # the step summary has room for everything
    summary += "".join(f"\n\n> ⚠️ {rendering.text(e)}" for e in result.errors)
    append_summary(runner.summary_file, summary)

    if not (bodies or result.selected) or not settings.comment:
        return
    target = result.pull_request
    if target is None:
        log("no pull request for this event: the result is in the step summary, not a comment")
        return
    if not _may_comment(settings, target):
        return
    number = target.number
    from hokusai_action.github.client import DEFAULT_DEADLINE, GitHubClient, GitHubError

    # Each comment written waits a second after the one before (GitHub's pace for writes):
    # the deadline grows with them. It starts now and bounds the whole comment step.
    writes = len(bodies) + len(result.untouched)
    deadline = DEFAULT_DEADLINE + SECONDS_PER_COMMENT * writes
    done = 0
    try:
        client = GitHubClient(settings.github_token, runner.api_url, deadline=deadline)
        author = client.login()
        # Listed once for the run: every comment below is found, or written, in this list.
        thread = client.read_comments(runner.repository or "", int(number))
        for body in bodies:
            text = clean(body)  # before truncating: a cut could leave part of a secret
            marker = text.splitlines()[0]
            text = rendering.truncate(text)
            posted = client.upsert_comment(
                runner.repository or "", int(number), marker, text, author, thread=thread
            )
            done += 1
            log(f"comment {posted.action}: {posted.comment.url}")
            for warning in posted.warnings:
                command("warning", f"pull-request comment: {warning}")
            for notice in posted.notices:  # a duplicate comment: say why, where it is seen
                command("notice", f"pull-request comment: {notice}")
                append_summary(runner.summary_file, f"> ⚠️ {rendering.text(notice)}")
            result.comment_url = result.comment_url or posted.comment.url
            result.comment_id = result.comment_id or str(posted.comment.id)
        if result.selected:
            _mark_no_longer_changed(
                client, author, thread, int(number), mode, settings, runner, result
            )
    except GitHubError as e:  # a comment never fails the registration
        left = _not_posted(settings, result, done)
        lost = " (GitHub may have posted the first after all: its answer was lost)"
        lost = lost if e.maybe_done else ""
        also = f"; not posted: {', '.join(shown(n) for n in left)}{lost}" if left else ""
        also += " (the results are in the step summary)" if left else ""
        command("warning", f"could not post the pull-request comment: {e}{also}")
        if left:
            names = ", ".join(rendering.user_value(n) for n in left)
            append_summary(
                runner.summary_file,
                f"> ⚠️ Not posted as a pull-request comment: {names}{lost}. {rendering.text(e)}",
            )
        # A rate limit is GitHub asking to slow down: nothing to do with a fork's token.
        if not e.rate_limited and (runner.from_fork or e.status in (403, 404)):
            command(
                "notice",
                "Pull requests from forks get a read-only token. To comment on them, run this "
                "action from a separate workflow_run workflow (README: 'Pull requests from "
                "forks'); the result is in this run's step summary.",
            )


def _not_posted(settings: Settings, result: RunResult, done: int) -> list[str]:
    """The models whose comment a failure left unwritten, for the warning and the step
    summary (none when every one was written and only the later clean-up failed)."""
    if settings.combine_comments and len(result.reports) > 1:
        return [] if done else ["the combined comment"]
    return [r.plan.model_name for r in result.reports[done:]]


def _mark_no_longer_changed(
    client: Any,
    author: str | None,
    thread: Any,
    number: int,
    mode: str,
    settings: Settings,
    runner: Runner,
    result: RunResult,
) -> None:
    """Our earlier comments on models this pull request no longer changes say so, rather
    than showing an out-of-date result. A model no manifest names any more counts only when
    every manifest was considered (another job may handle other `manifests`)."""
    from hokusai_action.github import comment as rendering

    # Changed models keep their comment, judged or not (a registry error may have stopped
    # the run before them).
    judged = {rendering.marker(r.plan.model_name) for r in result.reports}
    judged |= {rendering.marker(n) for m in result.touched if (n := model_name(m)) is not None}
    untouched = {
        rendering.marker(name): name
        for m in result.untouched
        if (name := model_name(m)) is not None
    }
    combined = rendering.marker(None)

    def rewrite(c: Any) -> str | None:
        if c.body.split("\n", 1)[0] == combined:
            stale = settings.combine_comments and not result.reports
            return rendering.no_model_changed_body(mode) if stale else None
        line = rendering.model_marker_of(c.body)
        if line is None or line in judged:
            return None
        if line not in untouched and settings.manifests:
            return None
        return clean(rendering.no_longer_changed_body(line, untouched.get(line), mode))

    repository = runner.repository or ""
    for done in client.rewrite_comments(repository, number, author, rewrite, thread=thread):
        if done.action == "updated":
            log(f"comment updated (no longer changed by this pull request): {done.comment.url}")
