"""The transport under the GitHub client: one bounded, polite conversation with GitHub's REST
API. The only module that talks to GitHub. It uses `requests` against `GITHUB_API_URL` (set by
runners, GitHub Enterprise included), follows `Link` pagination, and retries 5xx answers and
rate limits with backoff, bounded in attempts. Tokens never appear in messages.

It keeps GitHub's rules for integrators
(docs.github.com: "Best practices for using the REST API"):
- a rate limit (429, or 403 with `x-ratelimit-remaining: 0`, a `Retry-After`, or a body that
  says "secondary rate limit") waits `Retry-After`, else until `x-ratelimit-reset`, else at
  least 60 s, and is never blamed on the token;
- mutating requests (POST, PATCH, PUT, DELETE) are at least WRITE_INTERVAL apart;
- a write that is not idempotent (POST) is never sent again blind: after a 5xx or a
  connection lost once it was sent, GitHub may have done it, so the error says so
  (`maybe_done`) and the caller looks first (`GitHubClient.upsert_comment` lists the
  comments again for its marker).

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
CHUNK = 64 * 1024
WRITE_INTERVAL = 1.0  # seconds between mutating requests, as GitHub asks
SECONDARY_WAIT = 60.0  # seconds: GitHub's "at least one minute" for a limit without headers
_MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_REDIRECTS = (301, 302, 303, 307, 308)
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: "²".isdigit() is True
_LINK = re.compile(r"<([^>]*)>([^<]*)")  # RFC 8288: <target>; rel="next", <...>; ...

T = TypeVar("T")


class GitHubError(HokusaiError):
    """GitHub refused or failed; `status` is the HTTP status (None: no answer at all).
    `rate_limited`: GitHub asked to slow down (nothing to do with the token's rights).
    `maybe_done`: a POST that GitHub may have carried out although no success came back."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        rate_limited: bool = False,
        maybe_done: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.rate_limited = rate_limited
        self.maybe_done = maybe_done


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


class RestClient:
    """Requests to GitHub's REST API, each within the bounds and rules above."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = MAX_BODY,
        write_interval: float = WRITE_INTERVAL,
    ) -> None:
        """`timeout`: seconds a socket read may wait for a byte; `deadline`: seconds for
        everything this client does, from now; `clock`: wall time, for `x-ratelimit-reset`;
        `sleep` and `monotonic` (default: the `time` module's, looked up now, so a test can
        stand in for the time this module sees) do every wait and measure it."""
        requests = require("requests", extra="action", feature="Posting to GitHub")
        self._requests = requests
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.sleep = time.sleep if sleep is None else sleep
        self.clock = time.time if clock is None else clock
        self.timeout = timeout
        self.deadline = Deadline(deadline, time.monotonic if monotonic is None else monotonic)
        self.max_body = max_body
        self.write_interval = write_interval
        self._last_write: float | None = None  # monotonic time the last write ended
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
                answer = self._paced_exchange(method, url, json_body)
            except _Unanswered as e:
                attempt += 1
                # A POST may have made its comment: the caller looks before sending it again.
                maybe_done = method == "POST" and e.sent
                error = GitHubError(self._say(f"{method} {url}: {e}"), maybe_done=maybe_done)
                delay: float | None = None if maybe_done else 2.0 ** (attempt - 1)
            else:
                if answer.status in _REDIRECTS:  # not a retry: no attempt is used
                    redirects += 1
                    url = self._redirect(answer, redirects)
                    continue
                if answer.status < 400:
                    return answer
                attempt += 1
                limited = _rate_limited(answer)
                maybe_done = method == "POST" and answer.status >= 500
                error = GitHubError(
                    self._describe(answer, limited),
                    answer.status,
                    rate_limited=limited,
                    maybe_done=maybe_done,
                )
                delay = None if maybe_done else self._retry_delay(answer, attempt, limited)
            if delay is None or attempt >= MAX_ATTEMPTS:
                raise error
            self.wait(delay, error)

    def wait(self, delay: float, error: GitHubError) -> None:
        """Sleep `delay` seconds before a retry, unless that would pass the deadline: then
        `error`, saying so."""
        if delay >= self.deadline.left():
            raise GitHubError(
                f"{error}; not retried: the wait GitHub asks for ({_seconds(delay)}) is "
                f"longer than the time left ({self.deadline.describe()} deadline)",
                error.status,
                rate_limited=error.rate_limited,
                maybe_done=error.maybe_done,
            )
        self.sleep(delay)

    def _paced_exchange(self, method: str, url: str, json_body: Any) -> Answer:
        """`_exchange`, with mutating requests at least `write_interval` apart (GitHub:
        "wait at least one second between each request" that writes)."""
        if method not in _MUTATING:
            return self._exchange(method, url, json_body)
        if self._last_write is not None:
            gap = self._last_write + self.write_interval - self.deadline.clock()
            if gap > 0:
                if gap >= self.deadline.left():
                    raise GitHubError(
                        self._say(
                            f"gave up before {method} {url}: no time left for the "
                            f"{_seconds(self.write_interval)} GitHub asks between writes "
                            f"({self.deadline.describe()} deadline)"
                        )
                    )
                self.sleep(gap)
        try:
            return self._exchange(method, url, json_body)
        finally:
            self._last_write = self.deadline.clock()

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

    def _retry_delay(self, answer: Answer, attempt: int, limited: bool) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help. A rate limit
        waits `Retry-After`, else until `x-ratelimit-reset`, else at least a minute, longer
        each time (GitHub: "wait for at least one minute", then "exponentially increasing")."""
        headers = answer.headers
        if limited:
            retry_after = headers.get("Retry-After", "").strip()
            if _DIGITS.fullmatch(retry_after):
                return float(retry_after)
            reset = headers.get("x-ratelimit-reset", "").strip()
            if _DIGITS.fullmatch(reset):
                return max(float(reset) - self.clock(), 0.0) + 1.0
            return SECONDARY_WAIT * 2 ** (attempt - 1)
        if answer.status >= 500:
            return float(2 ** (attempt - 1))
        return None

    def _describe(self, answer: Answer, limited: bool = False) -> str:
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            detail = data["message"]
        else:
            detail = answer.body.decode("utf-8", "replace")
        hints = {
            401: "the token is invalid or expired",
            403: "the token may not do this (a pull request from a fork gets a read-only token)",
            404: "not found, or the token cannot see it",
            422: "GitHub rejected the content",
        }
        hint = _RATE_LIMITED if limited else hints.get(answer.status, "")
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


class Listing(Generic[T]):
    """The items of a list endpoint, read page by page as they are iterated, following
    `Link: <...>; rel="next"`. It stops after MAX_PAGES pages, or at a `next` link to a
    page already read; `cut` then says so. Items `convert` refuses (None) are skipped and
    counted."""

    def __init__(
        self,
        client: RestClient,
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
_RATE_LIMITED = "GitHub's rate limit: too many requests for now, not a missing permission"


def _rate_limited(answer: Answer) -> bool:
    """GitHub's primary or secondary rate limit. A secondary limit may come as a 403 with no
    header at all: only its body says so ("You have exceeded a secondary rate limit")."""
    status, headers = answer.status, answer.headers
    if status not in (403, 429):
        return False
    if status == 429 or headers.get("Retry-After") or headers.get("x-ratelimit-remaining") == "0":
        return True
    return b"rate limit" in answer.body[:4096].lower()


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
