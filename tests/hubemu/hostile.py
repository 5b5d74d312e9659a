"""A hostile Hub: answers the real Hub should never send, but a broken one, a bad proxy or an
attacker controlling a repo's metadata could. Set ``emu.tamper`` to one of these (or ``chain`` of
them); each rewrites the Hub's answers of one kind (``routes.py``: ``list``, ``info``, ``tree``...)
after the emulator made them, so everything else (auth, pagination, the CDN) stays the real thing.

    emu.tamper = chain(edit_json("tree", add_entries), loop_pages("tree"))

What a repo's own files can carry (a 50 MB README, invalid UTF-8, a base_model cycle, names that
differ only by case or Unicode normalization) needs no tampering: put it in the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .wire import Request, Response

Tamper = Callable[[Request, Response], Response]


def chain(*tampers: Tamper) -> Tamper:
    def apply(request: Request, response: Response) -> Response:
        for tamper in tampers:
            response = tamper(request, response)
        return response
    return apply


def _is(response: Response, kind: str, request: Request, path_contains: str | None) -> bool:
    return (response.kind == kind and response.status == 200
            and (path_contains is None or path_contains in request.path))


def edit_json(kind: str, edit: Callable[[Request, Any], Any], *, path_contains: str | None = None) -> Tamper:
    """``edit(request, payload)`` on the JSON of every 200 answer of ``kind`` (whose path holds
    ``path_contains``), sent back with non-ASCII escaped: a lone surrogate travels as ``"\\ud800"``,
    as JavaScript's ``JSON.stringify`` sends it."""
    def apply(request: Request, response: Response) -> Response:
        if not _is(response, kind, request, path_contains):
            return response
        payload = edit(request, json.loads(bytes(response.body)))
        response.body = json.dumps(payload).encode()
        response.headers.pop("ETag", None)
        return response
    return apply


def replace_body(kind: str, body: bytes, *, path_contains: str | None = None) -> Tamper:
    """Every 200 answer of ``kind`` carries ``body`` instead (JSON too deep to parse, bytes that
    are not UTF-8), with the same headers."""
    def apply(request: Request, response: Response) -> Response:
        if _is(response, kind, request, path_contains):
            response.body = body
            response.headers.pop("ETag", None)
        return response
    return apply


def loop_pages(kind: str, *, path_contains: str | None = None) -> Tamper:
    """Pages of ``kind`` whose ``Link: next`` leads back to the first page: a client that follows
    links blindly never ends."""
    def apply(request: Request, response: Response) -> Response:
        if _is(response, kind, request, path_contains) and "Link" in response.headers:
            query = {k: v for k, v in parse_qs(urlsplit(request.target).query).items() if k != "cursor"}
            first = f"{response.headers['Link'].split('<', 1)[1].split('?', 1)[0]}?{urlencode(query, doseq=True)}"
            response.headers["Link"] = f'<{first}>; rel="next"'
        return response
    return apply


def deep_json(depth: int) -> bytes:
    """A JSON list nested ``depth`` levels: valid JSON that Python's parser refuses past ~1000."""
    return b"[" * depth + b"]" * depth
