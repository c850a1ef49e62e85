"""GitHub's REST API, for the one thing the action posts: a sticky pull-request comment.

The only module that talks to GitHub. It uses `requests` against `GITHUB_API_URL` (set by
runners, GitHub Enterprise included), follows `Link` pagination, and retries 5xx answers
and rate limits (403/429 with `Retry-After` or `x-ratelimit-reset`) with backoff, bounded
in attempts and in total time. Tokens never appear in messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hokusai_action.errors import HokusaiError, require
from hokusai_action.registry.settings import redact, secret_forms

DEFAULT_API_URL = "https://api.github.com"
MAX_ATTEMPTS = 5
MAX_WAIT = 60.0  # seconds of waiting, over all retries of one request


class GitHubError(HokusaiError):
    """GitHub refused or failed; `status` is the HTTP status (None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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


class GitHubClient:
    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout: float = 15.0,
    ) -> None:
        requests = require("requests", extra="action", feature="Posting to GitHub")
        self._requests = requests
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.sleep, self.clock, self.timeout = sleep, clock, timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "hokusai-action",
            }
        )

    # -- transport --------------------------------------------------------------------------
    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """One API call with bounded retries; returns the `requests.Response`."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}/{url.lstrip('/')}"
        waited = 0.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except self._requests.RequestException as e:
                error = GitHubError(self._say(f"cannot reach GitHub at {self.api_url}: {e}"))
                delay: float | None = 2.0 ** (attempt - 1)
            else:
                if response.status_code < 400:
                    return response
                error = GitHubError(self._describe(method, url, response), response.status_code)
                delay = self._retry_delay(response, attempt)
            if delay is None or attempt == MAX_ATTEMPTS or waited + delay > MAX_WAIT:
                raise error
            self.sleep(delay)
            waited += delay
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_delay(self, response: Any, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help."""
        status = response.status_code
        headers = response.headers
        limited = status == 429 or (
            status == 403
            and (headers.get("Retry-After") or headers.get("x-ratelimit-remaining") == "0")
        )
        if limited:
            if headers.get("Retry-After", "").strip().isdigit():
                return float(headers["Retry-After"])
            reset = headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(float(reset) - self.clock(), 0.0) + 1.0
            return 60.0  # GitHub's advice for secondary limits without a header
        if status >= 500:
            return float(2 ** (attempt - 1))
        return None

    def _describe(self, method: str, url: str, response: Any) -> str:
        try:
            detail = response.json().get("message", "")
        except ValueError:
            detail = self._say(response.text)[:200]  # redact first: a cut can leave a prefix
        hint = {
            401: "the token is invalid or expired",
            403: "the token may not do this (a pull request from a fork gets a read-only token)",
            404: "not found, or the token cannot see it",
            422: "GitHub rejected the content",
        }.get(response.status_code, "")
        text = f"GitHub answered {response.status_code} to {method} {url}: {detail}"
        return self._say(f"{text} ({hint})" if hint else text)

    def _say(self, text: str) -> str:
        return redact(text, secret_forms([self.token]))

    def paginate(self, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following `Link: <...>; rel="next"`."""
        next_url: str | None = url
        query = {"per_page": 100, **(params or {})}
        while next_url:
            response = self.request("GET", next_url, params=query)
            items = _json(response)
            if not isinstance(items, list):
                raise GitHubError(
                    f"GitHub answered {next_url} with {type(items).__name__}, not a list"
                )
            yield from items
            next_url = response.links.get("next", {}).get("url")
            query = {}  # the next link carries its own query

    # -- what the action needs ----------------------------------------------------------------
    def login(self) -> str | None:
        """Whose comments are ours, or None when the token may not say: a workflow's
        GITHUB_TOKEN and GitHub App tokens cannot read /user (403); their comments are
        written by a bot account (github-actions[bot], or the app's own)."""
        try:
            return str(_json(self.request("GET", "user"))["login"])
        except GitHubError as e:
            if e.status in (401, 403, 404):
                return None
            raise
        except (KeyError, TypeError) as e:
            raise GitHubError(f"GitHub's /user answer has no login: {e!r}") from e

    def comments(self, repository: str, number: int) -> Iterator[Comment]:
        for item in self.paginate(f"repos/{repository}/issues/{number}/comments"):
            yield _comment(item)

    def upsert_comment(
        self, repository: str, number: int, marker: str, body: str, author: str | None
    ) -> CommentResult:
        """Create the comment holding `marker`, or update ours in place. Ours: written by
        `author`, or by a bot when the author cannot be known. A person's comment is never
        touched, even if it quotes the marker."""

        def ours(c: Comment) -> bool:
            return marker in c.body and (c.author == author if author else c.author_is_bot)

        mine = next((c for c in self.comments(repository, number) if ours(c)), None)
        if mine is None:
            path = f"repos/{repository}/issues/{number}/comments"
            created = self.request("POST", path, json={"body": body})
            return CommentResult("created", _comment(_json(created)))
        if mine.body == body:
            return CommentResult("unchanged", mine)
        path = f"repos/{repository}/issues/comments/{mine.id}"
        return CommentResult(
            "updated", _comment(_json(self.request("PATCH", path, json={"body": body})))
        )


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError as e:
        raise GitHubError(
            f"GitHub answered {response.status_code} with something that is not JSON "
            f"({response.headers.get('Content-Type', 'no content type')}): check GITHUB_API_URL"
        ) from e


def _comment(item: Any) -> Comment:
    try:
        user = item.get("user") or {}
        return Comment(
            id=int(item["id"]),
            body=item.get("body") or "",
            author=user.get("login", ""),
            author_is_bot=user.get("type") == "Bot",
            url=item.get("html_url", ""),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise GitHubError(f"GitHub answered with a comment of an unexpected shape: {e!r}") from e
