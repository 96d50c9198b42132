"""Who is asking (cookie or Bearer), CSRF, security headers and the WebSocket Origin check."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.models import AuditAction
from auth.failures import Failure, record_failure
from auth.queries import Principal, SignIn, load_principals
from auth.tokens import ACCESS, TokenRejected
from core.config import Settings
from core.db import Database
from core.desk import Desk
from core.errors import Forbidden, NotAuthenticated
from core.text import translatable
from web.context import AppContext

log = logging.getLogger("kokous.security")

ACCESS_COOKIE = "kokous_access"
REFRESH_COOKIE = "kokous_refresh"
CSRF_COOKIE = "kokous_csrf"
STEP_COOKIE = "kokous_step"
DEVICE_COOKIE = "kokous_device"  # a known device of an account (auth.login), seen only by the sign-in pages
LANG_COOKIE = "kokous_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFRESH_PATH = "/auth/refresh"
# The `opt` of routers whose reads are a few indexed rows: their safe requests get a session that SQLite
# serves on the event loop's thread (decision 0006). Routes that scan (the audit log) leave it out.
BOUNDED_READS: dict[str, object] = {"bounded_reads": True}


def app_context(connection: ASGIConnection[Any, Any, Any, Any]) -> AppContext:
    context: AppContext = connection.app.state.context
    return context


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


def auth_failure(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Why a presented token was not accepted (expired, revoked), to tell the person."""
    reason: str | None = connection.state.get("auth_failure")
    return reason


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class AuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Sets `request.user` to a Principal or None; never refuses by itself (guards do)."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        context = app_context(connection)
        token = bearer_token(connection)
        via = "bearer"
        if token is None:
            token, via = connection.cookies.get(ACCESS_COOKIE), "cookie"
        if not token:
            return AuthenticationResult(user=None, auth=None)
        try:
            claims = context.auth.tokens.decode(token, audience=ACCESS, now=context.db.clock())
        except NotAuthenticated as exc:
            connection.state.auth_failure = exc.message
            if isinstance(exc, TokenRejected) and exc.forged:
                await _record_forgery(connection, exc, via)
            return AuthenticationResult(user=None, auth=None)
        sign_in = SignIn(
            int(claims.subject),
            str(claims.extra.get("sid", "")),
            tuple(claims.extra.get("amr", ())),
            via,
        )
        principal = await principal_desk(connection.app.state, context.db).load(sign_in)
        if principal is None:
            connection.state.auth_failure = translatable("This sign-in was ended. Please sign in again.")
        return AuthenticationResult(user=principal, auth=claims)


PRINCIPALS_AT_ONCE = 500


class PrincipalDesk:
    """Who is asking, for every signed-in request: those that arrive while one read is under way are read
    together in the next (`auth.queries.load_principals`, two statements however many; core.desk). A burst
    (every member's ballot in a vote, a thousand followers reconnecting) otherwise costs a transaction per
    request. Each request's read still begins after the request came, so a sign-in ended before it is never
    let in. A request that finds no read under way reads alone, at once, in its own task."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._desk: Desk[SignIn, Principal | None] = Desk(self._read, batch=PRINCIPALS_AT_ONCE)

    async def load(self, sign_in: SignIn) -> Principal | None:
        return await self._desk.submit(sign_in)

    async def _read(self, batch: list[SignIn]) -> list[Principal | None]:
        if self.db.sqlite:
            async with self.db.read(bounded=True) as session:
                return await load_principals(session, batch)
        # PostgreSQL: each statement reads as of its own start, both after every request of the batch came,
        # so no sign-in ended before a request lets it in; without BEGIN and COMMIT, two round trips fewer.
        # (A test's database, bound to a connection inside its own transaction, reads in that transaction.)
        async with self.db.session(write=False) as session:
            if isinstance(session.bind, AsyncEngine):
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            return await load_principals(session, batch)


def principal_desk(state: Any, db: Database) -> PrincipalDesk:
    """The process's desk, made on first use (in the running event loop)."""
    desk: PrincipalDesk | None = getattr(state, "principal_desk", None)
    if desk is None or desk.db is not db:
        desk = PrincipalDesk(db)
        state.principal_desk = desk
    return desk


async def _record_forgery(
    connection: ASGIConnection[Any, Any, Any, Any], exc: TokenRejected, via: str
) -> None:
    """A token that no honest client holds (an expired one is normal): the request goes on as anonymous, and
    the attempt is audited, summarised when one source floods it (auth.failures)."""
    method = connection.scope.get("method", "WEBSOCKET")
    failure = Failure(
        AuditAction.TOKEN_REJECTED,
        "forged_token",
        "anonymous",
        f"route:{method} {connection.scope['path']}"[:200],
        exc.reason,
        client_address(connection),
        {"via": via},
    )
    await record_failure(app_context(connection).db, failure)


def _same(a: str | None, b: str | None) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters, which anyone can send.
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Double-submit token for cookie sessions and browser forms; Bearer API clients need none.

    A request that a browser says another site started is refused first, token or not. For a signed-in
    browser the token must also hash to the `csrf` claim of its access token, so a cookie planted by a
    sibling site cannot stand in for it. The token comes from the header or the query string, or from the
    body of a (small) URL-encoded form, never from an upload: finding it there would mean reading the upload.
    """
    if connection.scope["type"] != ScopeType.HTTP or connection.scope["method"] in SAFE_METHODS:
        return
    principal = connection.scope.get("user")
    cookie_session = isinstance(principal, Principal) and principal.via == "cookie"
    if not cookie_session and not handler.opt.get("browser_form"):
        return
    foreign = cross_site(connection, app_context(connection).settings.origin)
    if foreign is not None:
        await record_denial(connection, foreign)
        raise Forbidden("The request came from another site and was refused.")
    cookie = connection.cookies.get(CSRF_COOKIE)
    sent = await _sent_token(connection)
    claims = connection.scope.get("auth")
    expected = claims.extra.get("csrf") if cookie_session and claims is not None else None
    if not _same(cookie, sent) or (
        expected is not None and not _same(expected, hashlib.sha256(str(sent).encode()).hexdigest())
    ):
        await record_denial(connection, "missing or wrong CSRF token")
        raise Forbidden("The form has expired. Reload the page and try again.")


def cross_site(connection: ASGIConnection[Any, Any, Any, Any], origin: str) -> str | None:
    """Why the browser's own headers say another site sent this request, or None: `Sec-Fetch-Site`
    (cross-site, or same-site: a sibling subdomain is another site too) and `Origin`, when present."""
    site = connection.headers.get("sec-fetch-site", "")
    if site in ("cross-site", "same-site"):
        return f"cross-site request: Sec-Fetch-Site {site}"
    sent = connection.headers.get("origin")
    if sent is not None and sent != origin:
        return f"origin not allowed: {sent[:100]}"
    return None


async def _sent_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    sent = connection.headers.get(CSRF_HEADER) or connection.query_params.get(CSRF_FIELD)
    media_type = connection.headers.get("content-type", "").partition(";")[0].strip().lower()
    if sent is None and media_type == "application/x-www-form-urlencoded":
        form = await _form(connection)  # within the route's small body limit (web.limits)
        sent = str(form.get(CSRF_FIELD, "")) or None
    return sent


async def _form(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    request: Request[Any, Any, Any] = Request(connection.scope, connection.receive)
    return dict(await request.form())


async def record_denial(
    connection: ASGIConnection[Any, Any, Any, Any], reason: str, *, kind: str = "refused"
) -> None:
    """Every denied access is an audit entry (DESIGN.md §4), in its own transaction; a flood from one address
    is summarised (auth.failures). `kind` is what is counted: "not_signed_in", "role", "not_found" …"""
    connection.scope["kokous_denied"] = True  # type: ignore[typeddict-unknown-key]
    principal = connection.scope.get("user")
    actor = principal.actor if isinstance(principal, Principal) else "anonymous"
    subject = f"route:{connection.scope.get('method', 'WEBSOCKET')} {connection.scope['path']}"[:200]
    failure = Failure(AuditAction.ACCESS_DENIED, kind, actor, subject, reason, client_address(connection))
    await record_failure(app_context(connection).db, failure)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def session_cookies(
    settings_https: bool, *, access: str, refresh: str, csrf: str, refresh_days: int
) -> list[Cookie]:
    """HttpOnly, SameSite=Strict auth cookies; Secure whenever the service is reached over HTTPS."""
    common: dict[str, Any] = {"secure": settings_https, "samesite": "strict"}
    return [
        Cookie(key=ACCESS_COOKIE, value=access, path="/", httponly=True, **common),
        Cookie(
            key=REFRESH_COOKIE,
            value=refresh,
            path=REFRESH_PATH,
            httponly=True,
            max_age=refresh_days * 86400,
            **common,
        ),
        Cookie(key=CSRF_COOKIE, value=csrf, path="/", httponly=False, **common),
    ]


def cleared_cookies(settings_https: bool) -> list[Cookie]:
    common: dict[str, Any] = {"secure": settings_https, "samesite": "strict", "value": "", "max_age": 0}
    return [
        Cookie(key=ACCESS_COOKIE, path="/", httponly=True, **common),
        Cookie(key=REFRESH_COOKIE, path=REFRESH_PATH, httponly=True, **common),
        Cookie(key=STEP_COOKIE, path="/login", httponly=True, **common),
    ]


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def warn_if_plain_http(settings: Settings) -> None:
    """HSTS and Secure cookies need https; over plain http they are left out, which is fine only on this
    machine itself. Anywhere else, say so at start-up (docs/security.md, "Deploying behind TLS")."""
    host = urlsplit(settings.base_url).hostname or ""
    if settings.https or is_loopback(host):
        return
    log.warning(
        "the base URL is plain http on a host other than this machine: cookies are sent without Secure "
        "and no HSTS header is set; serve Kokous behind TLS and set KOKOUS_BASE_URL to its https address",
        extra={"fields": {"base_url": settings.base_url}},
    )


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SecurityHeadersMiddleware:
    """Adds CSP, framing, sniffing and referrer rules to every response; HSTS over HTTPS."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("content-security-policy", CSP)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("permissions-policy", "camera=(self), microphone=(self), geolocation=()")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                if scope.get("user") is not None or scope["path"].startswith(("/api/", "/login", "/auth")):
                    headers.setdefault("cache-control", "no-store")
                if self.https:
                    headers.setdefault("strict-transport-security", "max-age=63072000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WebSocketOriginMiddleware:
    """Browsers send Origin on a WebSocket handshake and no CSRF token: refuse other sites (DESIGN.md §4)."""

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            origin = dict(scope["headers"]).get(b"origin", b"").decode()
            if origin not in self.allowed:
                await receive()  # the websocket.connect message
                await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
                await self._record(scope, origin)
                return
        await self.app(scope, receive, send)

    async def _record(self, scope: Scope, origin: str) -> None:
        context: AppContext = scope["app"].state.context
        client = scope.get("client")
        failure = Failure(
            AuditAction.ACCESS_DENIED,
            "origin",
            "anonymous",
            f"route:WEBSOCKET {scope['path']}"[:200],
            f"origin not allowed: {origin[:100] or 'none'}",
            client[0] if client else "unknown",
        )
        await record_failure(context.db, failure)
