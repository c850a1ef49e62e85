"""A stand-in for GitHub's REST API on a real loopback HTTP server (pytest-httpserver).

It answers with the shapes GitHub documents: issue comments listed page by page with `Link`
headers, created with POST and updated with PATCH, `/user` refused to an installation token
(403, as GitHub does for a workflow's GITHUB_TOKEN), a read-only mode that refuses writes
the way a fork's pull request token is refused, and `GET /repos/{owner}/{repo}/pulls/{n}` for
the pull requests added with `add_pull` (404 for others, as GitHub answers).
"""

from __future__ import annotations

import json
import re
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
    _next_id: int = 1000

    def __post_init__(self) -> None:
        self.server.expect_request("/user").respond_with_handler(self._user)
        self.server.expect_request(_LIST, method="GET").respond_with_handler(self._list)
        self.server.expect_request(_LIST, method="POST").respond_with_handler(self._create)
        self.server.expect_request(_ONE, method="PATCH").respond_with_handler(self._update)
        self.server.expect_request(_PULL, method="GET").respond_with_handler(self._pull)
        self.server.expect_request(_FILES, method="GET").respond_with_handler(self._files)

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
        comment = self.add(number, request.get_json()["body"], BOT)
        return self._json(comment, 201)

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
