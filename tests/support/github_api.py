"""A stand-in for GitHub's REST API on a real loopback HTTP server (pytest-httpserver).

It answers with the shapes GitHub documents: issue comments listed page by page with `Link`
headers, created with POST and updated with PATCH, `/user` refused to an installation token
(403, as GitHub does for a workflow's GITHUB_TOKEN), a read-only mode that refuses writes
the way a fork's pull request token is refused, and `GET /repos/{owner}/{repo}/pulls/{n}` for
the pull requests added with `add_pull` (404 for others, as GitHub answers).

It misbehaves as GitHub does when asked to: `created_then_502` POSTs make their comment and
answer 502 anyway; `lost_posts` POSTs answer 502 having made nothing; `secondary_limits`
requests (of the methods in `limited_methods`) are refused with GitHub's 403 "secondary rate
limit", which carries no header at all. Every request is recorded with its arrival time on
the monotonic clock (`requests`), so a test can measure the pace of writes.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

BOT = "github-actions[bot]"
_LIST = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)/comments$")
_FILES = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)/files$")
_ONE = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/comments/(?P<id>\d+)$")
_PULL = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)$")


@dataclass
class FakeGitHub:
    server: HTTPServer
    page_size: int = 2  # small, so that a few comments already span several pages
    read_only: bool = False
    comments: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    authorizations: list[str] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    # A pull request's changed files, as `pulls/{n}/files` lists them; a pull request not
    # in here answers 404, so the action falls back to every manifest.
    files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    files_page_size: int = 100
    reads: list[str] = field(default_factory=list)  # paths of every GET
    # Every request as (method, path, time.monotonic() on arrival).
    requests: list[tuple[str, str, float]] = field(default_factory=list)
    created_then_502: int = 0  # POSTs that make their comment but answer 502 Bad Gateway
    lost_posts: int = 0  # POSTs that make nothing and answer 502
    secondary_limits: int = 0  # requests refused with a secondary rate limit, no headers
    limited_methods: tuple[str, ...] = ("POST", "PATCH")
    listed: list[int] = field(default_factory=list)  # a pull request's number per listing
    _next_id: int = 1000

    def __post_init__(self) -> None:
        routes = [
            ("/user", "GET", self._user),
            (_LIST, "GET", self._list),
            (_LIST, "POST", self._create),
            (_ONE, "PATCH", self._update),
            (_PULL, "GET", self._pull),
            (_FILES, "GET", self._files),
        ]
        for path, method, handler in routes:
            self.server.expect_request(path, method=method).respond_with_handler(
                self._recorded(handler)
            )

    def _recorded(self, handler: Any) -> Any:
        def handle(request: Request) -> Response:
            self.requests.append((request.method, request.path, time.monotonic()))
            if self.secondary_limits and request.method in self.limited_methods:
                self.secondary_limits -= 1
                return self._secondary_limit()
            return handler(request)

        return handle

    def _secondary_limit(self) -> Response:
        """GitHub's answer to too many writes too fast: a 403, and no Retry-After or
        x-ratelimit-* header to say how long to wait."""
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again. If you reach out to GitHub Support for help, please include the "
            "request ID 0000:1111:2222:3333:4444."
        )
        docs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        return self._json({"message": message, "documentation_url": docs}, 403)

    def times(self, *methods: str) -> list[float]:
        """Arrival times of the requests of these methods."""
        return [t for m, _, t in self.requests if m in methods]

    def listings(self, number: int) -> int:
        """How many times the pull request's comments were listed (first pages read)."""
        return self.listed.count(number)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def add(self, number: int, body: str, author: str) -> dict[str, Any]:
        """A comment someone already wrote."""
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "number": number,
            "body": body,
            "user": {"login": author, "type": "Bot" if author.endswith("[bot]") else "User"},
            "html_url": f"https://github.example/o/r/pull/{number}#issuecomment-{self._next_id}",
        }
        self.comments.append(comment)
        return comment

    def add_pull(
        self,
        number: int,
        head_sha: str,
        *,
        state: str = "open",
        head_repo: str | None = "octo/models",
        base_repo: str = "octo/models",
    ) -> dict[str, Any]:
        """A pull request as `GET /repos/{owner}/{repo}/pulls/{n}` shows it; `head_repo`
        None is a deleted fork (GitHub answers `head.repo: null`)."""

        def repo(name: str) -> dict[str, Any]:
            return {"full_name": name, "url": f"https://api.github.example/repos/{name}"}

        self.pulls[number] = {
            "number": number,
            "state": state,
            "merged": False,
            "head": {"sha": head_sha, "ref": "feature", "repo": head_repo and repo(head_repo)},
            "base": {"sha": "b" * 40, "ref": "main", "repo": repo(base_repo)},
        }
        return self.pulls[number]

    def change(self, number: int, *paths: str, renamed_from: str | None = None) -> None:
        """Files the pull request changes (the last one renamed from `renamed_from`)."""
        listed = self.files.setdefault(number, [])
        for path in paths:
            listed.append({"filename": path, "status": "modified", "changes": 1})
        if renamed_from is not None:
            listed[-1] |= {"status": "renamed", "previous_filename": renamed_from}

    def on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["number"] == number]

    # -- handlers ------------------------------------------------------------------------------
    def _json(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(json.dumps(data), status, headers=headers, content_type="application/json")

    def _user(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        return self._json({"message": "Resource not accessible by integration"}, 403)

    def _list(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        self.reads.append(request.path)
        number = int(_LIST.match(request.path)["number"])  # type: ignore[index]
        if request.args.get("page", "1") == "1":
            self.listed.append(number)
        return self._page(request, self.on(number), self.page_size)

    def _files(self, request: Request) -> Response:
        """GitHub lists at most 3,000 files of a pull request, whatever it changes."""
        self.authorizations.append(request.headers.get("Authorization", ""))
        self.reads.append(request.path)
        number = int(_FILES.match(request.path)["number"])  # type: ignore[index]
        if number not in self.files:
            return self._json({"message": "Not Found"}, 404)
        return self._page(request, self.files[number][:3000], self.files_page_size)

    def _page(self, request: Request, items: list[dict[str, Any]], page_size: int) -> Response:
        page = int(request.args.get("page", "1"))
        size = min(int(request.args.get("per_page", "30")), page_size)
        chunk = items[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(items):
            base = self.server.url_for(request.path)
            last = (len(items) + size - 1) // size
            headers["Link"] = (
                f'<{base}?per_page={size}&page={page + 1}>; rel="next", '
                f'<{base}?per_page={size}&page={last}>; rel="last"'
            )
        return self._json(chunk, headers=headers)

    def _pull(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        self.reads.append(request.path)
        number = int(_PULL.match(request.path)["number"])  # type: ignore[index]
        if number not in self.pulls:
            return self._json({"message": "Not Found"}, 404)
        return self._json(self.pulls[number])

    def _create(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        if self.read_only:
            return self._json({"message": "Resource not accessible by integration"}, 403)
        number = int(_LIST.match(request.path)["number"])  # type: ignore[index]
        self.writes.append(("POST", request.path))
        if self.lost_posts:
            self.lost_posts -= 1
            return self._bad_gateway()
        comment = self.add(number, request.get_json()["body"], BOT)
        if self.created_then_502:
            self.created_then_502 -= 1
            return self._bad_gateway()
        return self._json(comment, 201)

    def _bad_gateway(self) -> Response:
        return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", 502,
                        content_type="text/html")  # fmt: skip

    def _update(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        if self.read_only:
            return self._json({"message": "Resource not accessible by integration"}, 403)
        comment_id = int(_ONE.match(request.path)["id"])  # type: ignore[index]
        self.writes.append(("PATCH", request.path))
        for comment in self.comments:
            if comment["id"] == comment_id:
                comment["body"] = request.get_json()["body"]
                return self._json(comment)
        return self._json({"message": "Not Found"}, 404)
