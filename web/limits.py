"""How large a request body may be: each route's `request_max_body_size`, enforced before anything reads it.

Litestar checks the limit only when a handler reads the body, and then only through `Request.stream()`. This
middleware checks it first, for every reader: a `Content-Length` over the limit is refused before the guards,
the authentication or the handler run, and a body of unknown length is cut off the moment it passes the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from meetings import imports
from meetings.storage import TooLarge
from web.errors import respond

KiB, MiB, GiB = 1024, 1024**2, 1024**3
# JSON and URL-encoded forms: every route unless it says otherwise (docs/security.md).
SMALL_BODY = 64 * KiB
# Agenda items: a presentation text and a proposal may run to tens of pages.
LONG_TEXT_BODY = 1 * MiB
# A members' CSV file (meetings.imports) and the form around it, through the API and the admin page.
IMPORT_BODY = imports.MAX_BYTES + 64 * KiB


def shown_size(size: int) -> str:
    """A limit as a person reads it: 64 KiB, 1.06 MiB, 2 GiB."""
    units = (("GiB", GiB), ("MiB", MiB), ("KiB", KiB))
    unit, scale = next(((u, s) for u, s in units if size >= s), ("bytes", 1))
    return f"{size / scale:.3g} {unit}"


def request_too_large(limit: int) -> TooLarge:
    return TooLarge("The request is larger than the limit of {shown}.", shown=shown_size(limit), limit=limit)


def route_limit(scope: Scope) -> int | None:
    handler = scope.get("route_handler")
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    return resolve() if resolve is not None else None


def announced_length(scope: Scope) -> int | None:
    """The Content-Length header, if it is a number (Litestar itself answers a malformed one with 400)."""
    value = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
    return int(value) if value.isdigit() else None


class BodyLimitMiddleware:
    """413 for a body over its route's limit, before a byte of it is read or as soon as it passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = route_limit(scope) if scope["type"] == ScopeType.HTTP else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        announced = announced_length(scope)
        if announced is not None and announced > limit:
            await self._refuse(scope, receive, send, limit)
            return
        await self.app(scope, CountedReceive(receive, limit), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        error = request_too_large(limit)
        response = respond(request, HTTP_413_REQUEST_ENTITY_TOO_LARGE, error.message, error=error)
        await response.to_asgi_response(None, request)(scope, receive, send)


class CountedReceive:
    """An ASGI receive that raises TooLarge once the body passes `limit` bytes, whoever is reading it
    (`refusal` says why, when the route knows better than "the request")."""

    def __init__(self, receive: Receive, limit: int, refusal: Callable[[], TooLarge] | None = None) -> None:
        self.receive, self.limit, self.seen = receive, limit, 0
        self.refusal = refusal or (lambda: request_too_large(limit))

    async def __call__(self) -> ReceiveMessage:
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise self.refusal()
        return message
