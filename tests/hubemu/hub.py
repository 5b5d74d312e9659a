"""The Hub server's application: rate limits, auth, renames, then one handler per endpoint.

Order of checks for a repo endpoint, as the Hub answers:
1. rate limit of the path's bucket (429 + ``Retry-After``), announced on every response;
2. an ``Authorization: Bearer`` token the Hub does not know: 401 "Invalid credentials";
3. an unknown repo id: 307 to the new id if it was renamed, else ``RepoNotFound`` (401 when
   anonymous, 404 with a token); a private repo the token cannot read answers the same;
4. a disabled repo: 403 "Access to this resource is disabled.";
5. (downloads only) a gated repo without access: ``GatedRepo``, 401 anonymous / 403 with a token;
6. the revision (``RevisionNotFound``), then the path (``EntryNotFound``, with ``X-Repo-Commit``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

from . import genserve, payloads
from .listing import BadQuery, ListQuery, decode_cursor, encode_cursor
from .quota import bucket_for
from .repo import iso
from .routes import METHODS, URL_PREFIX, Route, parse_route
from .state import Commit, Hosted
from .wire import Request, Response, content_disposition, content_response, error_response, json_response

if TYPE_CHECKING:
    from .emulator import HubEmulator

EXPOSE = (
    "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,"
    "Content-Range,X-Xet-Access-Token,X-Xet-Token-Expiration,X-Xet-Refresh-Route,X-Xet-Cas-Url,X-Xet-Hash"
)
TREE_EXPAND_PAGE = 50
COMMITS_PAGE = 50


def _truthy(values: list[str] | None) -> bool:
    return bool(values) and values[-1].lower() in ("1", "true", "yes")  # type: ignore[index]


def _weak_etag(body: bytes) -> str:
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def rate_limited(bucket: str, retry_after: str) -> Response:
    """The Hub's 429 body for a used-up ``bucket`` (the caller adds the RateLimit headers)."""
    return error_response(
        429,
        "RateLimited",
        f"You have been rate-limited: the '{bucket}' quota of this window is used up."
        f" Retry after {retry_after} seconds.",
    )


class HubApp:
    def __init__(self, emu: HubEmulator) -> None:
        self.emu = emu
        self.state = emu.state

    def __call__(self, request: Request) -> Response:
        route = parse_route(request.method, request.path)
        bucket = bucket_for(request.path)
        verdict = self.emu.limiter.hit(bucket)
        if not verdict.allowed:
            response = rate_limited(bucket, verdict.headers["Retry-After"])
        else:
            response = self._dispatch(route, request)
        response.kind = route.kind
        if self.emu.tamper is not None:  # a hostile Hub's answer (``hostile.py``)
            response = self.emu.tamper(request, response)
        response.headers.update(verdict.headers)
        response.headers.setdefault("Access-Control-Expose-Headers", EXPOSE)
        response.headers.setdefault("Vary", "Origin")
        response.headers.setdefault("X-Powered-By", "huggingface-moon")
        response.headers.setdefault("X-Request-Id", self.emu.next_request_id())
        if response.status == 200 and response.headers.get("Content-Type", "").startswith("application/json"):
            response.headers.setdefault("ETag", _weak_etag(bytes(response.body)))
        return response

    # -- dispatch ----------------------------------------------------------------------------
    def _dispatch(self, route: Route, request: Request) -> Response:
        token = request.token
        if request.headers.get("Authorization") and (token is None or not self.state.token_known(token)):
            return error_response(401, "InvalidCredentials", "Invalid credentials in Authorization header")
        if route.kind == "other":
            return error_response(404, "NotFound", "Not Found")
        if request.method not in METHODS[route.kind]:
            return error_response(405, "MethodNotAllowed", f"{request.method} is not allowed here")
        if route.kind == "list":
            return self.list(route, request)
        if route.kind == "harnesses":  # the real registry's shape; no harness is registered here
            return json_response(200, {"standardEnvVars": ["AI_AGENT", "AGENT"], "harnesses": {}})
        found = self._lookup(route, request)
        if isinstance(found, Response):
            return found
        hosted, commit = found
        handlers = {
            "info": self.info,
            "tree": self.tree,
            "paths_info": self.paths_info,
            "refs": self.refs,
            "commits": self.commits,
            "resolve_head": self.resolve,
            "resolve_get": self.resolve,
        }
        return handlers[route.kind](route, request, hosted, commit)

    def _lookup(self, route: Route, request: Request) -> tuple[Hosted, Commit] | Response:
        assert route.repo_type is not None and route.repo_id is not None
        token = request.token
        hosted = self.state.get(route.repo_type, route.repo_id)
        if hosted is None:
            new_id = self.state.redirect(route.repo_type, route.repo_id)
            if new_id is not None:
                query = request.target.partition("?")[2]
                location = route.prefix + quote(new_id, safe="/") + route.suffix + (f"?{query}" if query else "")
                body = f"Temporary Redirect. Redirecting to {location}".encode()
                return Response(307, {"Location": location, "Content-Type": "text/plain; charset=utf-8"}, body)
            return self._repo_not_found(token)
        repo = hosted.repo
        if repo.private and not self.state.can_access(token, repo):
            return self._repo_not_found(token)
        if repo.disabled:
            return error_response(403, "DisabledRepo", "Access to this resource is disabled.")
        if route.kind.startswith("resolve") and repo.gated and not self.state.can_access(token, repo):
            what = f"{repo.type} {repo.id}"
            if token is None:
                msg = (
                    f"Access to {what} is restricted. You must have access to it and be authenticated"
                    " to access it. Please log in."
                )
                return error_response(401, "GatedRepo", msg)
            msg = (
                f"Access to {what} is restricted and you are not in the authorized list. "
                f"Visit {self.emu.endpoint}/{URL_PREFIX[repo.type]}{repo.id} to ask for access."
            )
            return error_response(403, "GatedRepo", msg)
        if route.kind == "refs":
            return hosted, hosted.head
        commit = hosted.commit(route.rev or "main")
        if commit is None:
            return error_response(404, "RevisionNotFound", f"Invalid rev id: {route.rev}")
        return hosted, commit

    @staticmethod
    def _repo_not_found(token: str | None) -> Response:
        return error_response(401 if token is None else 404, "RepoNotFound", "Repository not found")

    def _paged(self, request: Request, page: list[Any], next_offset: int | None) -> Response:
        response = json_response(200, page)
        if next_offset is not None:
            response.headers["Link"] = self._next_link(request, encode_cursor((next_offset, "")))
        return response

    def _next_link(self, request: Request, cursor: str) -> str:
        pairs = [(k, v) for k, vs in request.query.items() if k != "cursor" for v in vs]
        pairs.append(("cursor", cursor))
        return f'<{self.emu.endpoint}{request.path}?{urlencode(pairs)}>; rel="next"'

    @staticmethod
    def _offset(request: Request) -> int:
        cursor = decode_cursor((request.query.get("cursor") or [None])[-1])
        return int(cursor[0]) if cursor else 0

    # -- endpoints ---------------------------------------------------------------------------
    def list(self, route: Route, request: Request) -> Response:
        assert route.repo_type is not None
        try:
            query = ListQuery.parse(
                request.query, page_size=self.emu.page_size, valid_expand=payloads.LIST_EXPAND[route.repo_type],
                ascending=self.emu.ascending_sorts,
            )
        except BadQuery as exc:
            return error_response(400, "BadRequest", str(exc))
        token = request.token
        if self.emu.generated is not None:
            return self._generated_list(route.repo_type, request, query)
        visible = {
            h.repo.id: h
            for h in self.state.all(route.repo_type)
            if not h.repo.private or self.state.can_access(token, h.repo)
        }
        page, next_key = query.page([h.repo for h in visible.values()])
        items = [
            payloads.list_item(
                payloads.Fields(visible[r.id], r, visible[r.id].head, state=self.state),
                query.expand,
                full=query.full,
                card_data=query.card_data,
                config=query.config,
            )
            for r in page
        ]
        response = json_response(200, items)
        if next_key is not None:
            response.headers["Link"] = self._next_link(request, encode_cursor(next_key))
        return response

    def _generated_list(self, repo_type: str, request: Request, query: ListQuery) -> Response:
        generated = self.emu.generated
        assert generated is not None
        token = request.token
        try:
            entities, cursor = generated.list_page(
                repo_type, query, lambda repo_id: self.state.can_access_id(token, repo_id)
            )
        except BadQuery as exc:
            return error_response(400, "BadRequest", str(exc))
        response = json_response(200, genserve.list_items(generated, entities, query))
        if cursor is not None:
            response.headers["Link"] = self._next_link(request, cursor)
        return response

    def info(self, route: Route, request: Request, hosted: Hosted, commit: Commit) -> Response:
        expand = request.query.get("expand", []) + request.query.get("expand[]", [])
        bad = [e for e in expand if e not in payloads.EXPAND[hosted.repo.type]]
        if bad:
            valid = list(payloads.EXPAND[hosted.repo.type])
            return error_response(400, "BadRequest", f'"expand" must be one of {valid}; got {bad}')
        blobs = _truthy(request.query.get("blobs"))
        fields: payloads.Fields
        if isinstance(hosted, genserve.GeneratedHosted):
            fields = hosted.fields(commit, blobs=blobs)
        else:
            fields = payloads.Fields(hosted, hosted.repo, commit, blobs=blobs, state=self.state)
        return json_response(200, payloads.info_payload(fields, expand))

    def tree(self, route: Route, request: Request, hosted: Hosted, commit: Commit) -> Response:
        tree = hosted.tree(commit)
        path = route.path.strip("/")
        if path and not tree.is_dir(path):
            return error_response(404, "EntryNotFound", f"Entry not found: {path}", **{"X-Repo-Commit": commit.sha})
        expand = _truthy(request.query.get("expand"))
        entries = tree.listing(path, _truthy(request.query.get("recursive")))
        size = min(self.emu.tree_page_size, TREE_EXPAND_PAGE) if expand else self.emu.tree_page_size
        offset = self._offset(request)
        page = [payloads.tree_item(e, hosted, commit, expand=expand) for e in entries[offset : offset + size]]
        return self._paged(request, page, offset + size if offset + size < len(entries) else None)

    def paths_info(self, route: Route, request: Request, hosted: Hosted, commit: Commit) -> Response:
        if "json" in (request.headers.get("Content-Type") or ""):
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                return error_response(400, "BadRequest", "Invalid JSON body")
            paths, expand = list(data.get("paths") or []), bool(data.get("expand"))
        else:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
            paths, expand = form.get("paths", []), _truthy(form.get("expand"))
        tree = hosted.tree(commit)
        items = []
        for path in dict.fromkeys(p.strip("/") for p in paths):
            entry = tree.entries.get(path)
            if entry is not None:
                items.append(payloads.tree_item(entry, hosted, commit, expand=expand))
        return json_response(200, items)

    def refs(self, route: Route, request: Request, hosted: Hosted, commit: Commit) -> Response:
        payload: dict[str, Any] = {
            "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": hosted.head.sha}],
            "converts": [],
            "tags": [],
        }
        if request.query.get("include_prs"):
            payload["pullRequests"] = []
        return json_response(200, payload)

    def commits(self, route: Route, request: Request, hosted: Hosted, commit: Commit) -> Response:
        chain = []
        by_sha = {c.sha: c for c in hosted.history}
        current: Commit | None = commit
        while current is not None:
            chain.append(
                {
                    "id": current.sha,
                    "title": current.title,
                    "message": "",
                    "authors": [{"user": hosted.repo.author or "emulator", "avatar": None}],
                    "date": iso(current.date),
                }
            )
            current = by_sha.get(current.parent) if current.parent else None
        offset = self._offset(request)
        end = offset + COMMITS_PAGE
        return self._paged(request, chain[offset:end], end if end < len(chain) else None)

    def resolve(self, route: Route, request: Request, hosted: Hosted, commit: Commit) -> Response:
        repo_file = commit.files.get(route.path)
        if repo_file is None:
            return error_response(404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": commit.sha})
        headers = {"X-Repo-Commit": commit.sha}
        if repo_file.lfs:
            location = self.emu.cdn_url(hosted.repo, repo_file)
            headers.update(
                {
                    "Location": location,
                    "X-Linked-Etag": f'"{repo_file.sha256}"',
                    "X-Linked-Size": str(repo_file.size),
                    "ETag": f'"{repo_file.blob_id}"',
                    "Content-Type": "text/plain; charset=utf-8",
                }
            )
            return Response(302, headers, f"Found. Redirecting to {location}".encode())
        name = route.path.rsplit("/", 1)[-1]
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/json":
            content_type += "; charset=utf-8"
        headers.update(
            {
                "ETag": f'"{repo_file.content_blob_id}"',
                "Content-Type": content_type,
                "Content-Disposition": content_disposition(name),
            }
        )
        response = content_response(request, repo_file.data, headers, route.kind)
        if request.method == "GET" and response.status in (200, 206):
            response.drop_after = self.emu.take_drop(repo_file.sha256)
        return response

