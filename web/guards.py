"""Route guards: thin adapters that refuse, record the refusal in the audit log, and raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from auth.actions import do_record_denied_access
from auth.models import Role
from auth.queries import Principal
from core.errors import Forbidden, NotAuthenticated
from web.security import app_context, auth_failure, client_address

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
STEP_UP_SECONDS = 600


async def deny(connection: ASGIConnection[Any, Any, Any, Any], reason: str) -> None:
    """Every denied access is an audit entry (DESIGN.md §4), in its own transaction."""
    principal = connection.scope.get("user")
    actor = principal.actor if isinstance(principal, Principal) else "anonymous"
    async with app_context(connection).db.write() as session:
        subject = f"route:{connection.scope.get('method', 'WEBSOCKET')} {connection.scope['path']}"[:200]
        await do_record_denied_access(
            session, actor=actor, subject=subject, reason=reason, address=client_address(connection)
        )


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthenticated(auth_failure(connection) or "Please sign in.")
    return principal


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.scope.get("user"), Principal):
        await deny(connection, "not signed in")
        principal_of(connection)


def has_role(*roles: Role) -> Guard:
    """Any one of `roles`, organisation-wide."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await signed_in(connection, handler)
        principal = principal_of(connection)
        if not any(principal.has_role(role) for role in roles):
            await deny(connection, f"requires role {' or '.join(roles)}")
            raise Forbidden("You do not have the right to do this.")

    return guard


async def recent_step_up(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin changes need password and second factor proven within the last ten minutes."""
    claims = connection.scope.get("auth")
    now = app_context(connection).db.clock().timestamp()
    auth_time = claims.extra.get("auth_time", 0) if claims is not None else 0
    if now - auth_time > STEP_UP_SECONDS or "otp" not in (claims.extra.get("amr", []) if claims else []):
        await deny(connection, "step-up authentication required")
        raise Forbidden("Confirm your identity again (password and code) to make this change.")
