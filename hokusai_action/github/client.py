"""GitHub's REST API, for what the action needs: the files a pull request changes, and the
one thing it posts, a sticky pull-request comment.

The only module that talks to GitHub. It uses `requests` against `GITHUB_API_URL` (set by
runners, GitHub Enterprise included), follows `Link` pagination, and retries 5xx answers
and rate limits (403/429 with `Retry-After` or `x-ratelimit-reset`) with backoff, bounded
in attempts. Tokens never appear in messages.

Every answer is treated as hostile, so everything is bounded:
- one total deadline for the client (the comment step, 120 s by default): every request,
  every retry wait and every body read ends inside it, and a message says how much was left;
- a read timeout per socket read, and a size limit per body;
- at most MAX_PAGES pages of a list; a `next` link already read ends the list;
- links and redirects are followed only to the API's own scheme, host and port, so the
  bearer token goes nowhere else;
- any JSON shape, or no JSON at all, is a GitHubError (a warning in the action), never a crash.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from hokusai_action.errors import HokusaiError, require
from hokusai_action.registry.settings import redact, secret_forms

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DEADLINE = 120.0  # seconds for the whole comment step
DEFAULT_READ_TIMEOUT = 15.0  # seconds without a byte from the server, per socket read
CONNECT_TIMEOUT = 10.0
MAX_ATTEMPTS = 5
MAX_PAGES = 100  # of 100 comments each: 10,000 comments
PER_PAGE = 100
MAX_BODY = 32 * 1024 * 1024  # bytes: a full page of the longest comments is about 7 MB
MAX_REDIRECTS = 5
MAX_PULL_FILES = 3000  # GitHub lists at most this many files of a pull request
CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: "²".isdigit() is True
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a commit: SHA-1, or SHA-256 repositories
_LINK = re.compile(r"<([^>]*)>([^<]*)")  # RFC 8288: <target>; rel="next", <...>; ...

T = TypeVar("T")


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
class Deadline:
    """A budget of seconds from now, on a monotonic clock."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock()

    def left(self) -> float:
        return max(self.seconds - (self.clock() - self.start), 0.0)

    def describe(self) -> str:
        return f"{_seconds(self.left())} left of the comment step's {_seconds(self.seconds)}"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read whole within the bounds."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def links(self) -> dict[str, str]:
        """`Link` header targets by relation, resolved against this answer's URL."""
        found: dict[str, str] = {}
        for target, params in _LINK.findall(self.headers.get("Link", "")):
            rel = re.search(r'(?:^|;)\s*rel\s*=\s*"?([^";]*)"?', params)
            for name in rel.group(1).split() if rel else ():
                found.setdefault(name.lower(), urljoin(self.url, target.strip()))
        return found


class _Unanswered(Exception):
    """No complete answer: the reason, and whether sending again may do the same thing twice."""

    def __init__(self, reason: str, sent: bool) -> None:
        super().__init__(reason)
        self.sent = sent


class GitHubClient:
    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_READ_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = MAX_BODY,
    ) -> None:
        """`timeout`: seconds a socket read may wait for a byte; `deadline`: seconds for
        everything this client does, from now; `clock`: wall time, for `x-ratelimit-reset`."""
        requests = require("requests", extra="action", feature="Posting to GitHub")
        self._requests = requests
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.sleep, self.clock, self.timeout = sleep, clock, timeout
        self.deadline = Deadline(deadline, monotonic)
        self.max_body = max_body
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
    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        """One API call with bounded retries, within the deadline; an answer below 400."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}/{url.lstrip('/')}"
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        attempt = redirects = 0
        while True:
            try:
                answer = self._exchange(method, url, json_body)
            except _Unanswered as e:
                attempt += 1
                error = GitHubError(self._say(f"{method} {url}: {e}"))
                retry = method != "POST" or not e.sent  # a POST may have made its comment
                delay: float | None = 2.0 ** (attempt - 1) if retry else None
            else:
                if answer.status in _REDIRECTS:  # not a retry: no attempt is used
                    redirects += 1
                    url = self._redirect(answer, redirects)
                    continue
                if answer.status < 400:
                    return answer
                attempt += 1
                error = GitHubError(self._describe(answer), answer.status)
                delay = self._retry_delay(answer, attempt)
            if delay is None or attempt >= MAX_ATTEMPTS:
                raise error
            if delay >= self.deadline.left():
                raise GitHubError(
                    f"{error}; not retried: the wait GitHub asks for ({_seconds(delay)}) is "
                    f"longer than the time left ({self.deadline.describe()} deadline)",
                    error.status,
                )
            self.sleep(delay)

    def _exchange(self, method: str, url: str, json_body: Any) -> Answer:
        """Send and read one answer in a worker thread, waiting for it no longer than the
        deadline: a socket timeout bounds each read, not a server sending a byte at a time
        (headers included), so only a clock outside the read can."""
        if self.deadline.left() <= 0:
            raise GitHubError(
                self._say(
                    f"gave up before {method} {url}: the comment step's deadline of "
                    f"{_seconds(self.deadline.seconds)} ran out"
                )
            )
        outcome: list[Answer | BaseException] = []
        done = threading.Event()

        def work() -> None:
            try:
                outcome.append(self._send(method, url, json_body))
            except BaseException as e:  # handed to the waiting thread, which judges it
                outcome.append(e)
            finally:
                done.set()

        threading.Thread(target=work, name="hokusai-github-request", daemon=True).start()
        if not done.wait(self.deadline.left()):
            raise GitHubError(
                self._say(
                    f"gave up on {method} {url}: no complete answer within the comment step's "
                    f"deadline of {_seconds(self.deadline.seconds)} ({self.deadline.describe()})"
                )
            )
        (result,) = outcome
        if isinstance(result, BaseException):
            raise result
        return result

    def _send(self, method: str, url: str, json_body: Any) -> Answer:
        """The request, and its body read chunk by chunk, bounded in size and time."""
        requests = self._requests
        import urllib3

        left = self.deadline.left()
        timeouts = (min(CONNECT_TIMEOUT, left), min(self.timeout, left))
        try:
            response = self.session.request(
                method, url, json=json_body, timeout=timeouts, stream=True, allow_redirects=False
            )
        except requests.ConnectionError as e:
            # Refused or timed out while connecting: nothing was sent. Else (the connection
            # dropped after the request went out) a POST may have made its comment.
            cause = e.args[0] if e.args else None
            sent = not isinstance(e, requests.ConnectTimeout) and not isinstance(
                getattr(cause, "reason", None), urllib3.exceptions.NewConnectionError
            )
            raise _Unanswered(f"cannot reach GitHub at {self.api_url}: {e}", sent) from e
        except requests.RequestException as e:
            raise _Unanswered(f"no answer from GitHub at {self.api_url}: {e}", sent=True) from e
        try:
            body = bytearray()
            read = getattr(response.raw, "read1", response.raw.read)
            while chunk := read(CHUNK, decode_content=True):
                body += chunk
                if len(body) > self.max_body:
                    raise _Unanswered(
                        f"the answer is larger than {self.max_body} bytes: not read", sent=True
                    )
                if self.deadline.left() <= 0:
                    raise _Unanswered("the deadline ran out while reading the answer", sent=True)
            return Answer(method, url, response.status_code, response.headers, bytes(body))
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as e:
            raise _Unanswered(f"the answer broke off: {e}", sent=True) from e
        finally:
            response.close()

    def _redirect(self, answer: Answer, redirects: int) -> str:
        """Where a redirect leads, if it stays on the API's own host. The method and body are
        kept: GitHub redirects a renamed repository's GET with 301 and others with 307."""
        where = f"{answer.status} to {answer.method} {answer.url}"
        location = answer.headers.get("Location")
        if redirects > MAX_REDIRECTS or not location:
            reason = f"more than {MAX_REDIRECTS} redirects" if location else "without a Location"
            raise GitHubError(self._say(f"GitHub answered {where} {reason}"), answer.status)
        if answer.method != "GET" and answer.status not in (307, 308):
            raise GitHubError(self._say(f"GitHub answered {where}: not followed"), answer.status)
        return self._own(urljoin(answer.url, location), f"{answer.status} redirect")

    def _own(self, url: str, what: str) -> str:
        """The URL, if it has the API's own scheme, host and port: the token goes nowhere else."""
        if _origin(url) != _origin(self.api_url) or _has_userinfo(url):
            raise GitHubError(
                self._say(
                    f"GitHub's {what} points to {_excerpt(url, 120)}, outside {self.api_url}: "
                    "not followed, so the token is not sent there (check GITHUB_API_URL and "
                    "any proxy in front of it)"
                )
            )
        return url

    def _retry_delay(self, answer: Answer, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help."""
        status = answer.status
        headers = answer.headers
        limited = status == 429 or (
            status == 403
            and (headers.get("Retry-After") or headers.get("x-ratelimit-remaining") == "0")
        )
        if limited:
            retry_after = headers.get("Retry-After", "").strip()
            if _DIGITS.fullmatch(retry_after):
                return float(retry_after)
            reset = headers.get("x-ratelimit-reset", "").strip()
            if _DIGITS.fullmatch(reset):
                return max(float(reset) - self.clock(), 0.0) + 1.0
            return 60.0  # GitHub's advice for secondary limits without a header
        if status >= 500:
            return float(2 ** (attempt - 1))
        return None

    def _describe(self, answer: Answer) -> str:
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            detail = data["message"]
        else:
            detail = answer.body.decode("utf-8", "replace")
        hint = {
            401: "the token is invalid or expired",
            403: "the token may not do this (a pull request from a fork gets a read-only token)",
            404: "not found, or the token cannot see it",
            422: "GitHub rejected the content",
        }.get(answer.status, "")
        # Redacted before it is cut, so no prefix of the token survives the cut.
        detail = _excerpt(self._say(detail), 200)
        text = f"GitHub answered {answer.status} to {answer.method} {answer.url}: {detail}"
        return self._say(f"{text} ({hint})" if hint else text)

    def _say(self, text: str) -> str:
        """A message safe to print: no token, and URLs or bodies from the answer on one line
        with their control characters escaped."""
        return _excerpt(redact(text, secret_forms([self.token])), 100_000)

    def _json(self, answer: Answer, expected: type) -> Any:
        """The answer's JSON, which must be a list or an object (`expected`)."""
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError):
            kind = _excerpt(answer.headers.get("Content-Type") or "no content type", 60)
            raise GitHubError(
                self._say(
                    f"GitHub answered {answer.status} to {answer.method} {answer.url} with "
                    f"something that is not JSON ({kind}): check GITHUB_API_URL"
                ),
                answer.status,
            ) from None
        if not isinstance(data, expected):
            want = "a list" if expected is list else "an object"
            raise GitHubError(
                self._say(
                    f"GitHub answered {answer.status} to {answer.method} {answer.url} with "
                    f"{_json_kind(data)} where {want} was expected"
                ),
                answer.status,
            )
        return data

    def paginate(
        self, path: str, convert: Callable[[Any], T | None], params: dict[str, Any] | None = None
    ) -> Listing[T]:
        return Listing(self, path, convert, {"per_page": PER_PAGE, **(params or {})})

    # -- what the action needs ----------------------------------------------------------------
    def login(self) -> str | None:
        """Whose comments are ours, or None when the token may not say: a workflow's
        GITHUB_TOKEN and GitHub App tokens cannot read /user (403); their comments are
        written by a bot account (github-actions[bot], or the app's own)."""
        try:
            login = self._json(self.request("GET", "user"), dict).get("login")
        except GitHubError as e:
            if e.status in (401, 403, 404):
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

    def upsert_comment(
        self, repository: str, number: int, marker: str, body: str, author: str | None
    ) -> CommentResult:
        """Create the comment holding `marker`, or update ours in place. Ours: written by
        `author`, or by a bot when the author cannot be known. A person's comment is never
        touched, even if it quotes the marker. When the list could not be read to its end
        (more than MAX_PAGES pages), a new comment is posted and a notice says why."""

        def ours(c: Comment) -> bool:
            return marker in c.body and (c.author == author if author else c.author_is_bot)

        listing = self.comments(repository, number)
        mine = next((c for c in listing if ours(c)), None)
        warnings = listing.warnings()
        if mine is None:
            path = f"repos/{repository}/issues/{number}/comments"
            created = self._posted(self.request("POST", path, json_body={"body": body}))
            notices = (listing.cut,) if listing.cut else ()
            return CommentResult("created", created, notices, warnings)
        if mine.body == body:
            return CommentResult("unchanged", mine, (), warnings)
        path = f"repos/{repository}/issues/comments/{mine.id}"
        updated = self._posted(self.request("PATCH", path, json_body={"body": body}))
        return CommentResult("updated", updated, (), warnings)

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
    ) -> list[CommentResult]:
        """Update our comments (as in `upsert_comment`) that `rewrite` gives a new body, after
        one listing; a comment whose body is already that is left alone. Never creates one."""
        listing = self.comments(repository, number)
        ours = [c for c in listing if (c.author == author if author else c.author_is_bot)]
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


class Listing(Generic[T]):
    """The items of a list endpoint, read page by page as they are iterated, following
    `Link: <...>; rel="next"`. It stops after MAX_PAGES pages, or at a `next` link to a
    page already read; `cut` then says so. Items `convert` refuses (None) are skipped and
    counted."""

    def __init__(
        self,
        client: GitHubClient,
        path: str,
        convert: Callable[[Any], T | None],
        params: dict[str, Any],
    ) -> None:
        self.client, self.path, self.convert, self.params = client, path, convert, params
        self.cut: str | None = None
        self.skipped = 0
        self.pages = 0

    def __iter__(self) -> Iterator[T]:
        client = self.client
        url: str | None = f"{client.api_url}/{self.path}?{urlencode(self.params)}"
        read: set[tuple[Any, ...]] = set()
        while url:
            if self.pages >= MAX_PAGES:
                self.cut = (
                    f"only the first {MAX_PAGES} pages ({MAX_PAGES * PER_PAGE:,} comments) of "
                    f"{self.path} were read, and the comment was not among them: a new one "
                    "was posted (delete the old one to keep a single comment)"
                )
                return
            read.add(_page_key(url))
            answer = client.request("GET", url)
            self.pages += 1
            for item in client._json(answer, list):
                converted = self.convert(item)
                if converted is None:
                    self.skipped += 1
                else:
                    yield converted
            next_url = answer.links.get("next")
            if next_url is None:
                return
            url = client._own(next_url, 'Link rel="next"')
            if _page_key(url) in read:
                self.cut = (
                    f'GitHub\'s Link rel="next" for {self.path} points back at a page already '
                    "read: stopped listing there"
                )
                return

    def warnings(self) -> tuple[str, ...]:
        if not self.skipped:
            return ()
        return (
            f"skipped {self.skipped} item(s) of {self.path} of an unexpected shape "
            "(not an object with an integer id)",
        )


# -- helpers ----------------------------------------------------------------------------------
def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _excerpt(text: str, limit: int) -> str:
    """One line of at most `limit` characters, control and invisible characters escaped."""
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    except ValueError:
        return None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def _has_userinfo(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    return parts.username is not None or parts.password is not None


def _page_key(url: str) -> tuple[Any, ...]:
    """A page's identity: its origin, path and query parameters in any order."""
    from urllib.parse import parse_qsl

    parts = urlsplit(url)
    return (_origin(url), parts.path.rstrip("/"), tuple(sorted(parse_qsl(parts.query))))


def _json_kind(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, list):
        return "a list"
    if isinstance(data, dict):
        return "an object"
    return f"a {type(data).__name__}"


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
