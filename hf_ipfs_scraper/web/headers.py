"""Security headers on every answer: a mirrored repo's files must not script the archive's origin.

The Hub routes serve a repo's files inline with their own content type (as the Hub does: the
client compares bytes and headers), so a Space's ``index.html`` or a model's ``.svg`` opened in
a browser would otherwise run its scripts with the web page's origin: read the API, act as the
page. Every answer but the page's own files gets a Content-Security-Policy that sandboxes it (no
script, no same-origin access); the page gets one allowing only its own script and style.
``nosniff`` everywhere keeps a browser from guessing an HTML type for text it was told is not.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

_PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
_SANDBOX_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _is_page(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


class SecurityHeaders:
    """ASGI middleware adding ``X-Content-Type-Options`` and ``Content-Security-Policy``."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (_PAGE_POLICY if _is_page(scope["path"]) else _SANDBOX_POLICY).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"x-content-type-options", b"content-security-policy")]
                headers += [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", policy)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
