"""GitHub's REST API, for what the action needs: the files a pull request changes, and the
one thing it posts, a sticky pull-request comment (the transport, its bounds and GitHub's
rules for integrators are in `rest.py`).

The comments of a pull request are listed once (`read_comments`) and the list kept up to date
with what this client writes; a POST that may have made its comment although no success came
back is never sent again before the comments are listed again and the marker looked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hokusai_action.github.rest import (
    DEFAULT_API_URL,
    DEFAULT_DEADLINE,
    MAX_ATTEMPTS,
    MAX_PAGES,
    SECONDARY_WAIT,
    WRITE_INTERVAL,
    Answer,
    GitHubError,
    Listing,
    RestClient,
)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_DEADLINE",
    "MAX_PAGES",
    "SECONDARY_WAIT",
    "WRITE_INTERVAL",
    "ChangedFiles",
    "Comment",
    "CommentResult",
    "CommentThread",
    "GitHubClient",
    "GitHubError",
    "PullRequestHead",
]

MAX_PULL_FILES = 3000  # GitHub lists at most this many files of a pull request
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a commit: SHA-1, or SHA-256 repositories


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str
    author: str
    author_is_bot: bool
    url: str


@dataclass(frozen=True, slots=True)
class CommentResult:
    action: str  # "created", "updated" or "unchanged"
    comment: Comment
    notices: tuple[str, ...] = ()  # the listing stopped early: a new comment was posted
    warnings: tuple[str, ...] = ()  # comments of an unexpected shape were skipped


@dataclass(frozen=True, slots=True)
class PullRequestHead:
    """What GitHub says about a pull request: enough to check that a number belongs to a run."""

    number: int
    state: str  # "open" or "closed" (merged pull requests are closed)
    head_sha: str
    head_repository: str | None  # None: the fork was deleted


@dataclass(frozen=True, slots=True)
class ChangedFiles:
    """The paths a pull request changes (renamed files under both names). `complete` is False
    when the listing may miss some: GitHub's 3,000-file limit, a listing cut short, or
    entries of an unexpected shape; `reason` then says which."""

    paths: frozenset[str]
    complete: bool
    reason: str = ""


@dataclass
class CommentThread:
    """A pull request's comments as listed once (`GitHubClient.read_comments`), then kept up
    to date with what this client posts and updates, so a run lists them once, not once per
    comment it writes. `cut`: the listing stopped early (our comment may be past it)."""

    repository: str
    number: int
    comments: list[Comment]
    cut: str | None = None
    warnings: tuple[str, ...] = ()

    def keep(self, comment: Comment) -> None:
        """Record a comment this client wrote (replacing the old version of it)."""
        for i, c in enumerate(self.comments):
            if c.id == comment.id:
                self.comments[i] = comment
                return
        self.comments.append(comment)


class GitHubClient(RestClient):
    """What the action asks of GitHub, over the bounded transport of `RestClient`."""

    # -- what the action needs ----------------------------------------------------------------
    def login(self) -> str | None:
        """Whose comments are ours, or None when the token may not say: a workflow's
        GITHUB_TOKEN and GitHub App tokens cannot read /user (403); their comments are
        written by a bot account (github-actions[bot], or the app's own)."""
        try:
            login = self._json(self.request("GET", "user"), dict).get("login")
        except GitHubError as e:
            if e.status in (401, 403, 404) and not e.rate_limited:
                return None
            raise
        if not isinstance(login, str) or not login:
            raise GitHubError("GitHub's /user answer has no login")
        return login

    def pull_request(self, repository: str, number: int) -> PullRequestHead:
        """`GET /repos/{owner}/{repo}/pulls/{n}`: its state and head commit, each checked for
        shape, since a wrong answer here would decide where a comment goes."""
        answer = self.request("GET", f"repos/{repository}/pulls/{number}")
        found = _pull_request(self._json(answer, dict))
        if found is None or found.number != number:
            raise GitHubError(
                self._say(
                    f"GitHub answered {answer.status} to {answer.method} {answer.url} with "
                    f"something that is not pull request #{number} (a number, a state of open "
                    "or closed and a head commit SHA were expected)"
                ),
                answer.status,
            )
        return found

    def comments(self, repository: str, number: int) -> Listing[Comment]:
        return self.paginate(f"repos/{repository}/issues/{number}/comments", _comment)

    def read_comments(self, repository: str, number: int) -> CommentThread:
        """Every comment of the pull request (up to MAX_PAGES pages), listed once."""
        listing = self.comments(repository, number)
        found = list(listing)
        return CommentThread(repository, number, found, listing.cut, listing.warnings())

    def upsert_comment(
        self,
        repository: str,
        number: int,
        marker: str,
        body: str,
        author: str | None,
        *,
        thread: CommentThread | None = None,
    ) -> CommentResult:
        """Create the comment holding `marker`, or update ours in place. Ours: written by
        `author`, or by a bot when the author cannot be known. A person's comment is never
        touched, even if it quotes the marker. `thread`: the comments as read earlier in
        this run (else they are listed now). When the list could not be read to its end
        (more than MAX_PAGES pages), a new comment is posted and a notice says why.

        A POST that failed in a way that may still have made the comment (a 5xx, a
        connection lost after sending) is not sent again blind: the comments are listed
        again, and the marker found there is the comment."""

        def ours(c: Comment) -> bool:
            return marker in c.body and (c.author == author if author else c.author_is_bot)

        if thread is None:
            thread = self.read_comments(repository, number)
        path = f"repos/{repository}/issues/{number}/comments"
        posts = 0
        while True:
            mine = next((c for c in thread.comments if ours(c)), None)
            if mine is not None:
                if mine.body == body:  # after a failed POST: the one it made after all
                    action = "created" if posts else "unchanged"
                    return CommentResult(action, mine, (), thread.warnings)
                one = f"repos/{repository}/issues/comments/{mine.id}"
                updated = self._posted(self.request("PATCH", one, json_body={"body": body}))
                thread.keep(updated)
                action = "created" if posts else "updated"
                return CommentResult(action, updated, (), thread.warnings)
            if posts >= MAX_ATTEMPTS:
                raise GitHubError(
                    f"gave up posting the comment on {repository}#{number} after {posts} tries"
                )
            try:
                posts += 1
                created = self._posted(self.request("POST", path, json_body={"body": body}))
            except GitHubError as e:
                if not e.maybe_done or posts >= MAX_ATTEMPTS:
                    raise
                # GitHub may have made the comment: wait as for any 5xx, then look for it.
                self.wait(float(2 ** (posts - 1)), e)
                thread = self._relist(thread)
                if thread.cut and not any(ours(c) for c in thread.comments):
                    # A new comment is listed last, past where the listing stopped: posting
                    # again could make a second one.
                    raise GitHubError(
                        f"{e}; not posted again: the comment may exist past the part of the "
                        f"list that could be read ({thread.cut})",
                        e.status,
                        maybe_done=True,
                    ) from None
                continue
            thread.keep(created)
            notices = (thread.cut,) if thread.cut else ()
            return CommentResult("created", created, notices, thread.warnings)

    def _relist(self, thread: CommentThread) -> CommentThread:
        """The thread listed again, in place (a caller holding it sees the new list)."""
        again = self.read_comments(thread.repository, thread.number)
        thread.comments[:] = again.comments
        thread.cut, thread.warnings = again.cut, again.warnings
        return thread

    def pull_request_files(self, repository: str, number: int) -> ChangedFiles:
        """`GET /repos/{owner}/{repo}/pulls/{n}/files`, every page (GitHub lists at most
        3,000 files: a listing that long may be incomplete, and says so)."""
        path = f"repos/{repository}/pulls/{number}/files"
        listing = self.paginate(path, _changed_file)
        paths: set[str] = set()
        for count, names in enumerate(listing, 1):
            paths.update(names)
            if count >= MAX_PULL_FILES:
                return ChangedFiles(
                    frozenset(paths),
                    False,
                    f"GitHub lists at most {MAX_PULL_FILES:,} files of a pull request, and this "
                    "one has that many or more",
                )
        if listing.cut:
            reason = f"the listing of {path} could not be read to its end"
            return ChangedFiles(frozenset(paths), False, reason)
        if listing.skipped:
            reason = f"{listing.skipped} entries of {path} have no file name"
            return ChangedFiles(frozenset(paths), False, reason)
        return ChangedFiles(frozenset(paths), True)

    def rewrite_comments(
        self,
        repository: str,
        number: int,
        author: str | None,
        rewrite: Callable[[Comment], str | None],
        *,
        thread: CommentThread | None = None,
    ) -> list[CommentResult]:
        """Update our comments (as in `upsert_comment`) that `rewrite` gives a new body, after
        one listing (or in `thread`, as read earlier in this run); a comment whose body is
        already that is left alone. Never creates one."""
        if thread is None:
            thread = self.read_comments(repository, number)
        ours = [c for c in thread.comments if (c.author == author if author else c.author_is_bot)]
        results: list[CommentResult] = []
        for c in ours:
            body = rewrite(c)
            if body is None:
                continue
            if body == c.body:
                results.append(CommentResult("unchanged", c))
                continue
            path = f"repos/{repository}/issues/comments/{c.id}"
            updated = self._posted(self.request("PATCH", path, json_body={"body": body}))
            thread.keep(updated)
            results.append(CommentResult("updated", updated))
        return results

    def _posted(self, answer: Answer) -> Comment:
        comment = _comment(self._json(answer, dict))
        if comment is None:
            raise GitHubError(
                self._say(
                    f"GitHub accepted {answer.method} {answer.url} ({answer.status}) but answered "
                    "with a comment that has no id: the comment may have been posted"
                ),
                answer.status,
            )
        return comment


def _changed_file(item: Any) -> tuple[str, ...] | None:
    """A changed file's path, and its old path when it was renamed; None without a path."""
    if not isinstance(item, dict):
        return None
    name, previous = item.get("filename"), item.get("previous_filename")
    if not isinstance(name, str) or not name:
        return None
    return (name, previous) if isinstance(previous, str) and previous else (name,)


def _comment(item: Any) -> Comment | None:
    """A comment from the API, or None when it has no usable id; missing or odd fields are
    empty (a comment without a string body or a known author is never ours)."""
    if not isinstance(item, dict):
        return None
    comment_id = item.get("id")
    if not isinstance(comment_id, int) or isinstance(comment_id, bool) or comment_id <= 0:
        return None
    user = item.get("user")
    user = user if isinstance(user, dict) else {}
    body, login, url = item.get("body"), user.get("login"), item.get("html_url")
    return Comment(
        id=comment_id,
        body=body if isinstance(body, str) else "",
        author=login if isinstance(login, str) else "",
        author_is_bot=user.get("type") == "Bot",
        url=url if isinstance(url, str) and re.fullmatch(r"https?://[!-~]{1,2000}", url) else "",
    )


def _pull_request(item: dict[str, Any]) -> PullRequestHead | None:
    """A pull request from the API, or None when a field that matters has the wrong shape."""
    number, state, head = item.get("number"), item.get("state"), item.get("head")
    if not isinstance(number, int) or isinstance(number, bool) or state not in ("open", "closed"):
        return None
    if not isinstance(head, dict) or not isinstance(head.get("sha"), str):
        return None
    if not _SHA.fullmatch(head["sha"]):
        return None
    repo = head.get("repo")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return PullRequestHead(number, state, head["sha"], name if isinstance(name, str) else None)
